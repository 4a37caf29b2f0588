import { api } from "../api.js";
import { boot } from "../app.js";
import { loadRecord, RECORD_MEDIA_TYPE, RECORD_TYPE } from "../caserecord.js";
import { $, el } from "../dom.js";
import { UserError } from "../errors.js";
import { clearError, guard, status } from "../feedback.js";
import { fmtBytes, fmtDate, t, vocabLabel } from "../i18n.js";
import { fieldAt, fill, firstProblem, read, wire } from "../recordform.js";
import { Upload } from "../upload-core.js";
import { uploadRow } from "../uploadui.js";

await boot();
const caseId = document.body.dataset.caseId;
const form = $("#record-form");
let earlier = []; // the loaded record's attachment entries: their order is kept, and entries naming
// items this page does not list are saved unchanged

let loaded = false; // saving before the latest record was opened would replace it with an empty form
let openedId = null; // the record this form was filled from: the save names it as the one it replaces
const DEFAULT_CATEGORY = { medical_record: "medical", forensic_report: "medical", court_document: "domestic_decision" };

function itemName(it) {
  const m = it.metadata || {};
  return `${m.title || it.id} · ${vocabLabel("EVIDENCE_TYPES", it.evidence_type)} · ${fmtBytes(it.blob_size)}`;
}

function showAttachments(items) {
  const list = $("#attachments");
  const tpl = $("#tpl-attachment");
  list.replaceChildren(...items.map((it, n) => {
    const li = tpl.content.firstElementChild.cloneNode(true);
    li.dataset.itemId = it.id;
    li.querySelector(".att-name").textContent = itemName(it);
    li.querySelector(".att-on").setAttribute("aria-label", t("List “{name}” in the documents", { name: (it.metadata || {}).title || it.id }));
    for (const [cls, label] of [["att-title", ".att-title-label"], ["att-cat", ".att-cat-label"]]) {
      const id = `${cls}-${n}`;
      li.querySelector(`.${cls}`).id = id;
      li.querySelector(label).htmlFor = id;
    }
    li.querySelector(".att-cat").value = DEFAULT_CATEGORY[it.evidence_type] || "evidence";
    return li;
  }));
  if (!items.length) list.append(el("li", { class: "hint", text: t("This case has no evidence yet.") }));
  // The forensic report an examination refers to: forensic reports only (a video is not one).
  const select = $("#tpl-exam").content.querySelector('[data-path="report_item"]');
  for (const it of items.filter((i) => i.evidence_type === "forensic_report")) select.append(new Option(itemName(it), it.id));
}

function fillAttachments(refs) {
  earlier = Array.isArray(refs) ? refs : [];
  for (const ref of earlier) {
    const li = document.querySelector(`#attachments li[data-item-id="${CSS.escape(String(ref.item_id))}"]`);
    if (!li) continue;
    li.querySelector(".att-on").checked = true;
    li.querySelector(".att-title").value = ref.title || "";
    if (ref.category) li.querySelector(".att-cat").value = ref.category;
  }
}

function readAttachments() {
  const rows = new Map([...document.querySelectorAll("#attachments li[data-item-id]")].map((li) => [li.dataset.itemId, li]));
  const fromRow = (li) => {
    const ref = { item_id: li.dataset.itemId, category: li.querySelector(".att-cat").value };
    const title = li.querySelector(".att-title").value.trim();
    if (title) ref.title = title;
    return ref;
  };
  const out = [];
  for (const ref of earlier) {
    const li = rows.get(ref.item_id);
    if (!li) out.push(ref);
    else if (li.querySelector(".att-on").checked) out.push(fromRow(li));
    rows.delete(ref.item_id);
  }
  for (const li of rows.values()) if (li.querySelector(".att-on").checked) out.push(fromRow(li));
  return out;
}

/** Focus the field named in the address (#f=acts.0.place), as the export page links to it. */
function focusFromHash() {
  const path = new URLSearchParams(location.hash.slice(1)).get("f");
  if (!path) return;
  const target = fieldAt(form, path) || (path.startsWith("attachments") ? $("#s-attachments") : null);
  if (!target) return;
  target.classList.add("flagged");
  target.scrollIntoView({ block: "center" });
  target.focus?.();
}

wire(form);

const load = guard(async () => {
  const { items } = await api("GET", `/cases/${caseId}/items`);
  showAttachments(items.filter((i) => i.evidence_type !== RECORD_TYPE));
  const state = $("#record-state");
  const found = await loadRecord(items);
  if (found) {
    openedId = found.item.id;
    fill(form, found.record);
    fillAttachments(found.record.attachments);
    state.className = "verify ok";
    state.textContent = t("Showing the version {who} saved on {date}; its signature checks out.",
      { who: found.manifest.uploader, date: fmtDate(found.manifest.created_at) });
  } else {
    state.className = "verify";
    state.textContent = t("This case has no case record yet. Fill in what you know; you can save now and complete it later.");
  }
  if (!$("#r-state").value) $("#r-state").value = "KGZ"; // the model's default, shown
  loaded = true;
  focusFromHash();
});

form.addEventListener("input", (ev) => {
  ev.target.removeAttribute("aria-invalid");
  ev.target.classList?.remove("flagged");
});

form.addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  clearError();
  $("#record-saved").hidden = true;
  if (!loaded) {
    throw new UserError(t("The case's latest record could not be opened (see the message above), so saving now would replace it with this incomplete form. Reload the page once the problem is solved."));
  }
  const found = firstProblem(form);
  if (found) {
    found.field.setAttribute("aria-invalid", "true");
    found.field.focus();
    throw new UserError(found.message);
  }
  const record = { v: 1, ...read(form) };
  const attachments = readAttachments();
  if (attachments.length) record.attachments = attachments;
  // Searchable metadata (visible to the server): only that this is the case record.
  const metadata = { title: vocabLabel("EVIDENCE_TYPES", RECORD_TYPE), evidence_type: RECORD_TYPE };
  if (openedId) metadata.supersedes = openedId;
  const blob = new Blob([JSON.stringify(record)], { type: RECORD_MEDIA_TYPE });
  const up = new Upload(blob, caseId, metadata, null, null, { mediaType: RECORD_MEDIA_TYPE, filename: "case-record.json" });
  const row = uploadRow(up, t("Case record"));
  $("#queue").replaceChildren(row.li);
  $("#record-button").disabled = true;
  try {
    const saved = (await up.run()).item_id;
    row.done(saved);
    openedId = saved; // a second save from this form replaces this one
  } catch (err) {
    row.failed(err);
    throw err;
  } finally {
    $("#record-button").disabled = false;
  }
  status("");
  $("#record-state").className = "verify ok";
  $("#record-state").textContent = t("Saved and sealed. Exports now use this version.");
  $("#record-saved").hidden = false;
  $("#record-saved").scrollIntoView({ block: "nearest" });
}));

load();
