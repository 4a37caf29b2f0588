import { boot } from "../app.js";
import { $, el } from "../dom.js";
import { UserError } from "../errors.js";
import { clearError, guard, showError } from "../feedback.js";
import { fmtBytes, t } from "../i18n.js";
import { metadataFrom, Upload } from "../upload-core.js";
import { showUnfinished, uploadRow } from "../uploadui.js";

await boot();
const caseId = document.body.dataset.caseId;
let chosen = [];
const SEALED = ["victim", "statement", "description"];

// Uploads of this case that stopped (a reload, a closed tab): resume or cancel them here too.
const unfinished = () => showUnfinished($("#unfinished"), $("#unfinished-list"), caseId, () => {}).catch(showError);
unfinished();

function showChosen() {
  const ul = $("#chosen");
  ul.replaceChildren(...chosen.map((f, i) => el("li", {}, `${f.name} (${fmtBytes(f.size)}) `,
    el("button", { type: "button", class: "secondary small", onclick: () => { chosen.splice(i, 1); showChosen(); } }, t("Remove")))));
}

for (const id of ["#files", "#camera"]) {
  $(id).addEventListener("change", (ev) => {
    chosen.push(...ev.target.files);
    ev.target.value = "";
    showChosen();
  });
}
const drop = $("#drop");
drop.addEventListener("dragover", (ev) => {
  ev.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  drop.classList.remove("over");
  chosen.push(...ev.dataTransfer.files);
  showChosen();
});

$("#upload-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  clearError();
  const form = ev.target;
  if (!chosen.length) throw new UserError(t("Choose at least one file first."));
  const metadata = metadataFrom(form);
  if (!metadata.title) {
    $("#m-title").focus();
    throw new UserError(t("Give a title (no names): it helps colleagues find the evidence."));
  }
  const sealed = {};
  for (const k of SEALED) {
    const v = form.querySelector(`[name="${k}"]`).value.trim();
    if (v) sealed[k] = v;
  }
  const files = chosen;
  chosen = [];
  showChosen();
  const runs = files.map((file) => {
    const up = new Upload(file, caseId, metadata, sealed);
    const row = uploadRow(up, file.name);
    $("#queue").append(row.li);
    return { up, row };
  });
  runs[0].row.li.scrollIntoView({ block: "center" }); // the progress is where the person looks, not below the fold
  // One file after another: a slow link does better with one stream at a time.
  let failed = 0;
  for (const { up, row } of runs) {
    try {
      const out = await up.run();
      row.done(out.item_id);
    } catch (err) {
      failed += 1;
      row.failed(err);
      showError(err);
    }
    row.li.scrollIntoView({ block: "center" });
  }
  // The victim's identity, statement and description belong to these files: empty them, so the
  // next file is not sealed with them by mistake (unless asked to keep them, or to retry a failure).
  if (!failed && !$("#keep-sealed").checked) {
    for (const k of SEALED) form.querySelector(`[name="${k}"]`).value = "";
  }
  if (failed) unfinished();
}));
