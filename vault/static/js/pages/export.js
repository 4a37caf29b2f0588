import { api } from "../api.js";
import { boot } from "../app.js";
import { loadRecord, RECORD_TYPE } from "../caserecord.js";
import { lang } from "../context.js";
import { $, el } from "../dom.js";
import { UserError } from "../errors.js";
import { bundleSize, decryptAll, description, prepareItem, render, validate, writeSigned } from "../exportflow.js";
import { canStream, checkRoom, NoRoomError, removeLeftovers } from "../exportzip.js";
import { clearError, errorText, guard, showError } from "../feedback.js";
import { fmtBytes, fmtNumber, localized, t, vocabLabel } from "../i18n.js";

await boot();
const caseId = document.body.dataset.caseId;
const LANGUAGE_NAMES = { en: "English", ru: "Русский", ky: "Кыргызча", fr: "Français" };
let exporters = [];
let limit = 0; // the server's max_export_bytes
let record = null;
let items = [];
const verified = new Map(); // item id → prepareItem(): each manifest is checked once per page
let downloadUrl = null;
let saved = null; // the last bundle written: {file, remove}, removed when the page goes or the next export starts

const chosenExporter = () => exporters.find((x) => x.name === ($('input[name="exporter"]:checked') || {}).value);
const chosenIds = () => [...document.querySelectorAll("#export-items input:checked")].map((b) => b.value);

// ------------------------------------------------------------------ the form

function showExporters() {
  const list = $("#exporters");
  list.setAttribute("aria-busy", "false");
  list.replaceChildren(...exporters.map((x, i) => {
    const radio = el("input", { type: "radio", name: "exporter", value: x.name, id: `exp-${x.name}`, checked: i === 0 ? true : null });
    radio.addEventListener("change", showOptions);
    return el("li", { "data-exporter": x.name, "data-plugin": x.plugin },
      el("label", { class: "check", for: `exp-${x.name}` }, radio, " ", el("span", {}, el("strong", { text: localized(x, "label") || x.name }),
        el("br"), el("span", { class: "meta", text: localized(x, "target_body") }))),
      localized(x, "description") ? el("p", { class: "hint", text: localized(x, "description") }) : null);
  }));
  showOptions();
}

function showOptions() {
  const x = chosenExporter();
  if (!x) return;
  const languages = x.languages && x.languages.length ? x.languages : ["en"];
  const select = $("#export-language");
  const before = select.value;
  select.replaceChildren(...languages.map((code) => new Option(LANGUAGE_NAMES[code] || code, code)));
  select.value = languages.includes(before) ? before : languages.includes(lang) ? lang : languages[0];
  const variants = x.variants || [];
  $("#variant-row").hidden = !variants.length;
  const vs = $("#export-variant");
  vs.replaceChildren(new Option(t("The standard form"), ""), ...variants.map((v) => new Option(localized(v, "label") || v.name, v.name)));
  showVariantNote();
}

function showVariantNote() {
  const x = chosenExporter();
  const v = x && (x.variants || []).find((y) => y.name === $("#export-variant").value);
  const state = (record && record.state) || "KGZ";
  let note = v ? localized(v, "note") : "";
  if (v && Array.isArray(v.states) && !v.states.includes(state)) {
    const warn = t("This form is not recorded as open to complaints against {state}: check before choosing it.", { state });
    note = note ? `${note} ${warn}` : warn;
  }
  $("#variant-note").textContent = note;
}

function showItems() {
  const list = $("#export-items");
  const files = items.filter((i) => i.evidence_type !== RECORD_TYPE);
  list.replaceChildren(...files.map((it) => {
    const m = it.metadata || {};
    const box = el("input", { type: "checkbox", value: it.id, id: `att-${it.id}`, checked: true });
    box.addEventListener("change", sizeNote);
    return el("li", {}, el("label", { class: "check", for: `att-${it.id}` }, box, " ",
      el("span", {}, m.title || it.id, " ", el("span", { class: "meta", text: `· ${vocabLabel("EVIDENCE_TYPES", it.evidence_type)} · ${fmtBytes(it.blob_size)}` }))));
  }));
  if (!files.length) list.append(el("li", { class: "hint", text: t("This case has no evidence to attach yet; the documents alone can be exported.") }));
  sizeNote();
}

function chosenBytes() {
  const ids = new Set(chosenIds());
  return items.filter((i) => ids.has(i.id)).reduce((n, i) => n + i.blob_size, 0);
}

function sizeNote() {
  const note = $("#export-size");
  note.textContent = t("{n} files chosen, {size} in all. They are decrypted in this browser and written straight into the bundle on this device.",
    { n: fmtNumber(chosenIds().length), size: fmtBytes(chosenBytes()) });
}

function options(x) {
  return { language: $("#export-language").value || x.languages[0], variant: $("#export-variant").value || null,
    document_date: $("#export-date").value || null, draft: $("#export-draft").checked,
    redact: $("#export-redact").checked };
}

// ------------------------------------------------------------------ what is missing

/** "acts[0].place" (validate) or "case_record.acts.0.place" (422 fields) → "acts.0.place". */
function recordPath(path) {
  return String(path || "").replace(/^case_record\./, "").replace(/\[(\d+)\]/g, ".$1");
}

function fixLink(path) {
  const p = recordPath(path);
  if (!p || p === "form" || p === "items" || p === "anonymity" || p.startsWith("@")) return null;
  return el("a", { href: `/cases/${caseId}/record#f=${encodeURIComponent(p)}` }, t("Complete it in the case record"));
}

const N_ = (msgid) => msgid; // marks a message for extraction; translated where shown
const SEVERITY = { missing: N_("needed"), warning: N_("warning"), invalid: N_("not valid") };

function showProblems(problems, heading) {
  // The victim's name would reach a recipient it must not: offer the redaction (docs/exports.md).
  if (problems.some((p) => p.path === "anonymity")) $("#redact-row").hidden = false;
  const section = $("#problems-section");
  section.hidden = false;
  $("#problems-title").textContent = heading;
  $("#problems").replaceChildren(...(problems.length ? problems.map((p) => {
    const link = fixLink(p.path);
    return el("li", { class: `problem sev-${p.severity}` },
      el("span", { class: p.severity === "warning" ? "badge" : "badge bad", text: t(SEVERITY[p.severity] || SEVERITY.warning) }), " ",
      (p.messages && p.messages[lang]) || p.message || "", link ? " " : null, link);
  }) : [el("li", { text: t("Nothing is missing for this recipient.") })]));
}

function showInvalidFields(err) {
  const fields = (err.extra && err.extra.fields) || [];
  showProblems(fields.map((f) => ({ path: f.field, severity: "invalid", message: `${recordPath(f.field)}: ${f.problem}` })),
    t("Fields of the case record that are not valid"));
}

// ------------------------------------------------------------------ progress

function step(text) {
  const list = $("#export-steps");
  const last = list.lastElementChild;
  if (last) last.className = "done";
  list.append(el("li", { class: "doing", text }));
  $("#export-progress").removeAttribute("value"); // indeterminate until a step reports numbers
}

function stepText(text, done, total) {
  $("#export-steps").lastElementChild.textContent = text;
  const bar = $("#export-progress");
  if (total) bar.value = Math.floor((done / total) * 100);
}

function finished() {
  $("#export-steps").lastElementChild.className = "done";
  $("#export-progress").value = 100;
}

const failed = (code, extra = {}) => Object.assign(new Error(code), { code, ...extra });

function explain(err, x) {
  const body = x ? localized(x, "target_body") || localized(x, "label") : "";
  switch (err.code) {
    case "too_large":
    case "too_many_parts":
    case "http_413": // a proxy in front of the vault may refuse before the vault answers
      return t("The medical reports and texts of this export that the server must read are too large (at most {limit}). Untick some of them, or export with the command-line client (vault export), which has no limit.", { limit: fmtBytes(limit) });
    case "no_room":
      return t("This device has not enough free storage for the bundle: {need} are needed, {free} are free. Free some space (or leave private browsing), or untick some attachments, and export again.",
        { need: fmtBytes(err.need), free: fmtBytes(Math.max(0, err.free)) });
    case "no_stream":
      return t("This browser cannot write a bundle this large onto the device (at most {limit}). Use a recent Chrome, Edge or Firefox, or the command-line client (vault export).", { limit: fmtBytes(limit) });
    case "exporter_disabled":
    case "unknown_exporter":
      return t("An admin has turned this exporter off. Choose another recipient, or ask your admin to turn it on again.");
    case "missing_fields":
      return t("{body} still needs what is listed. Complete the case record, or tick “Draft” to make a draft for review.", { body });
    case "invalid_case_record":
      return t("The case record has fields that are not valid (listed below). Correct them in the case record and save it again.");
    case "attachment_mismatch":
    case "bad_signature":
    case "bad_manifest":
      return t("A chosen file does not match what its uploader signed. Untick it, do not send it, and tell your admin.");
    case "unknown_item":
    case "duplicate_item":
      return t("The list of files is out of date. Reload the page and choose again.");
    case "plugin_failed":
      return t("The exporter failed on the server; nothing was kept there. Tell your admin which recipient and language you chose.");
    case "bad_bundle":
    case "wrong_signer":
    case "bundle_invalid":
    case "already_signed":
      return t("The bundle could not be finished: it changed after the server made it. Nothing was saved. Make the export again, and tell your admin if it happens again.");
    default:
      return errorText(err);
  }
}

async function reloadExporters() {
  const out = await api("GET", "/exporters");
  exporters = out.exporters || [];
  showExporters();
}

// ------------------------------------------------------------------ the steps

/** Verify the chosen items' signed manifests (no content yet). */
async function verifiedChoice() {
  const ids = chosenIds();
  const out = [];
  for (const [i, id] of ids.entries()) {
    stepText(t("Checking the signatures of the chosen files: {n} of {m}…", { n: i + 1, m: ids.length }), i, ids.length);
    if (!verified.has(id)) verified.set(id, await prepareItem(id));
    out.push(verified.get(id));
  }
  return out;
}

function ready(x) {
  if (!x) throw new UserError(t("Choose a recipient."));
  if (!record) throw new UserError(t("This case has no case record yet: every export takes the facts from it. Fill in the case record first."));
}

/** Run validate with the chosen items and show what it found; returns its answer. */
async function check(x, chosen) {
  step(t("Asking what {body} still needs…", { body: localized(x, "target_body") || localized(x, "label") }));
  const res = await validate(caseId, description(x.name, record, options(x), chosen));
  showProblems(res.problems || [], t("What {body} still needs", { body: localized(x, "target_body") || localized(x, "label") }));
  return res;
}

async function run(renderToo) {
  clearError();
  $("#export-done").hidden = true;
  $("#problems-section").hidden = true;
  const x = chosenExporter();
  ready(x);
  $("#progress-section").hidden = false;
  $("#export-steps").replaceChildren();
  for (const b of ["#check-button", "#export-button"]) $(b).disabled = true;
  try {
    step(t("Checking the signatures of the chosen files…"));
    const chosen = await verifiedChoice();
    const res = await check(x, chosen);
    if (!renderToo) {
      step(t("Checked."));
      finished();
      $("#problems-title").focus();
      return;
    }
    if (res.missing && !options(x).draft) throw new UserError(explain({ code: "missing_fields" }, x));
    await forget();
    const reads = new Set(res.server_reads || []);
    const toServer = chosen.filter((p) => reads.has(p.item.id));
    if (toServer.reduce((n, p) => n + p.item.blob_size, 0) > limit) throw new UserError(explain({ code: "too_large" }, x));
    step(t("Decrypting the files in this browser…"));
    const blobs = await decryptAll(toServer, (done, total, n) => stepText(
      t("Decrypting file {n} of {m}: {done} of {total}", { n, m: toServer.length, done: fmtBytes(done), total: fmtBytes(total) }), done, total));
    step(t("Sending to the server…"));
    const desc = description(x.name, record, options(x), chosen);
    const rendered = await render(caseId, desc, toServer.map((p, i) => ({ item_id: p.item.id, blob: blobs[i] })), (sent, total, finished) => {
      if (finished) stepText(t("The server is writing the documents…"));
      else stepText(t("Sending to the server: {done} of {total}", { done: fmtBytes(sent), total: fmtBytes(total) }), sent, total);
    });
    blobs.length = 0; // the plaintext is not needed any more
    if ((rendered.problems || []).length) showProblems(rendered.problems, t("Notes on this export"));
    step(t("Checking the custody annex and signing it with your key…"));
    const need = bundleSize(rendered);
    if (!canStream() && need > limit) throw failed("no_stream");
    try {
      step(t("Writing the bundle onto this device…"));
      await checkRoom(need);
      saved = await writeSigned(caseId, rendered, desc, chosen, (done, total) => stepText(
        t("Decrypting and writing the bundle onto this device: {done} of {total}", { done: fmtBytes(done), total: fmtBytes(total) }), done, total));
    } catch (err) {
      if (err instanceof NoRoomError) throw failed("no_room", { need: err.need || need, free: err.free });
      throw err;
    }
    step(t("Done."));
    finished();
    offer(saved, rendered.filename || "export.zip");
  } catch (err) {
    if (err.code === "invalid_case_record") showInvalidFields(err);
    if (err.code === "missing_fields" && err.extra && err.extra.problems) showProblems(err.extra.problems, t("What {body} still needs", { body: localized(x, "target_body") || localized(x, "label") }));
    if (err.code === "exporter_disabled" || err.code === "unknown_exporter") await reloadExporters().catch(() => {});
    const last = $("#export-steps").lastElementChild;
    if (last) last.className = "failed";
    throw err.name === "UserError" ? err : new UserError(explain(err, x));
  } finally {
    for (const b of ["#check-button", "#export-button"]) $(b).disabled = false;
  }
}

/** Remove the last bundle written from this browser's storage (it is decrypted evidence). */
async function forget() {
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = null;
  const last = saved;
  saved = null;
  if (last) await last.remove();
}

function offer(final, filename) {
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = URL.createObjectURL(final.file);
  const a = $("#export-download");
  a.href = downloadUrl;
  a.download = filename;
  $("#done-file").textContent = `${filename} (${fmtBytes(final.size)})`;
  $("#done-sha").textContent = final.sha256;
  $("#done-fpr").textContent = final.fingerprint;
  $("#export-forgotten").hidden = true;
  $("#export-done").hidden = false;
  $("#done-title").focus();
  a.click();
}

// ------------------------------------------------------------------ start

const start = guard(async () => {
  removeLeftovers().catch(() => {}); // a bundle a killed page left behind
  let out;
  try {
    out = await api("GET", "/exporters");
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      $("#export-unavailable").hidden = false;
      $("#export-form").hidden = true;
      return;
    }
    throw err;
  }
  exporters = out.exporters || [];
  limit = out.max_export_bytes || 64 * 1024 * 1024;
  if (!exporters.length) {
    $("#export-unavailable").hidden = false;
    $("#export-form").hidden = true;
    return;
  }
  const now = new Date(); // today where the lawyer is, not in UTC
  $("#export-date").value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
  ({ items } = await api("GET", `/cases/${caseId}/items`));
  showItems();
  showExporters();
  const found = await loadRecord(items);
  record = found ? found.record : null;
  $("#no-record").hidden = Boolean(record);
  showVariantNote();
  // Enabled only now: a check or export needs the record and the list of items loaded above.
  for (const b of ["#check-button", "#export-button"]) $(b).disabled = false;
});

$("#export-variant").addEventListener("change", showVariantNote);
$("#export-forget").addEventListener("click", () => forget().then(() => {
  $("#export-download").removeAttribute("href");
  $("#export-forgotten").hidden = false;
}).catch(showError));
window.addEventListener("pagehide", () => { forget().catch(() => {}); });
$("#check-button").addEventListener("click", () => run(false).catch(showError));
$("#export-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  run(true).catch(showError);
});
start();
