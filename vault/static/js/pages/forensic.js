import { boot } from "../app.js";
import { $, el } from "../dom.js";
import { UserError } from "../errors.js";
import { clearError, guard, showError } from "../feedback.js";
import { fmtBytes, t } from "../i18n.js";
import { metadataFrom, Upload } from "../upload-core.js";
import { uploadRow } from "../uploadui.js";

await boot();
const caseId = document.body.dataset.caseId;
const attachments = []; // {file, kind: "photo" | "diagram"}
const MEDIA_TYPE = "application/vnd.vault.forensic-report+json";

function addFinding() {
  const node = $("#finding-template").content.firstElementChild.cloneNode(true);
  node.querySelector(".f-remove").addEventListener("click", () => node.remove());
  $("#findings").append(node);
  node.querySelector(".f-lesion").focus();
}
$("#add-finding").addEventListener("click", addFinding);

function showAttachments() {
  $("#attachments").replaceChildren(...attachments.map((a, i) => el("li", {},
    // t() outside template literals: the string extractor does not look inside them.
    a.kind === "photo" ? t("Photo") : t("Body diagram"), `: ${a.file.name} (${fmtBytes(a.file.size)}) `,
    el("button", { type: "button", class: "secondary small", onclick: () => { attachments.splice(i, 1); showAttachments(); } }, t("Remove")))));
}
for (const [id, kind] of [["#photos", "photo"], ["#diagrams", "diagram"]]) {
  $(id).addEventListener("change", (ev) => {
    for (const file of ev.target.files) attachments.push({ file, kind });
    ev.target.value = "";
    showAttachments();
  });
}

/** The ForensicReport (vault/caserecord.py) from the form; empty fields left out. */
function report(form) {
  const v = (id) => {
    const x = form.querySelector(`#${id}`);
    return x && x.value.trim() ? x.value.trim() : undefined;
  };
  const out = {
    v: 1, exam_date: v("exam_date"), exam_place: v("exam_place"), informed_consent: $("#informed_consent").checked,
    clinician_name: v("clinician_name"), clinician_qualifications: v("clinician_qualifications"),
  };
  const duration = v("exam_duration_minutes");
  if (duration) out.exam_duration_minutes = Number(duration);
  for (const select of form.querySelectorAll("select.answer")) {
    if (select.value) out[select.id] = select.value === "yes";
  }
  for (const k of ["requested_by", "interpreter", "persons_present", "restraints", "independence_details", "truthfulness_statement", "background",
    "allegations", "physical_symptoms", "psychological_history", "psychological_exam", "diagnostic_tests", "consultations",
    "overall_consistency", "overall_reasoning", "conclusions", "recommendations", "restrictions", "signed_by", "signature_date"]) {
    if (v(k) !== undefined) out[k] = v(k);
  }
  const pe = {};
  for (const ta of form.querySelectorAll("textarea.pe")) if (ta.value.trim()) pe[ta.dataset.region] = ta.value.trim();
  out.physical_exam = pe;
  out.findings = [...form.querySelectorAll("#findings .finding")].map((li) => {
    const f = { lesion: li.querySelector(".f-lesion").value.trim() };
    for (const [cls, key] of [[".f-region", "body_region"], [".f-method", "alleged_method"], [".f-consistency", "consistency"],
      [".f-reasoning", "reasoning"]]) {
      const val = li.querySelector(cls).value.trim();
      if (val) f[key] = val;
    }
    return f;
  }).filter((f) => f.lesion);
  return out;
}

$("#forensic-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  clearError();
  const form = ev.target;
  const metadata = { ...metadataFrom(form), evidence_type: "forensic_report" };
  const missing = [["f-title", metadata.title], ["exam_date", $("#exam_date").value], ["exam_place", $("#exam_place").value.trim()],
    ["clinician_name", $("#clinician_name").value.trim()], ["clinician_qualifications", $("#clinician_qualifications").value.trim()]]
    .find(([, val]) => !val);
  if (missing) {
    $(`#${missing[0]}`).focus();
    throw new UserError(t("Fill in the title, the date and place of the examination, and the clinician's name and qualifications."));
  }
  const data = report(form);
  const blob = new Blob([JSON.stringify(data)], { type: MEDIA_TYPE });
  const up = new Upload(blob, caseId, metadata, null, null,
    { mediaType: MEDIA_TYPE, filename: `forensic-report-${data.exam_date}.json` });
  const row = uploadRow(up, t("Forensic report"));
  $("#queue").append(row.li);
  $("#forensic-button").disabled = true;
  let reportId;
  try {
    reportId = (await up.run()).item_id;
    row.done(reportId);
  } catch (err) {
    row.failed(err);
    $("#forensic-button").disabled = false;
    throw err;
  }
  let n = 0;
  for (const a of attachments.splice(0)) {
    n += 1;
    const kind = a.kind === "photo" ? t("photo") : t("body diagram");
    const meta = { title: `${metadata.title} — ${kind} ${n}`,
      evidence_type: a.kind === "photo" ? "photo" : "medical_record" };
    const u = new Upload(a.file, caseId, meta, null, reportId);
    const r = uploadRow(u, a.file.name);
    $("#queue").append(r.li);
    try {
      r.done((await u.run()).item_id);
    } catch (err) {
      r.failed(err);
      showError(err);
    }
  }
  showAttachments();
  $("#queue").append(el("li", {}, el("a", { href: `/items/${reportId}`, id: "report-link" }, t("Open the sealed report"))));
}));
