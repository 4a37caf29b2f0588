import { api } from "../api.js";
import { boot } from "../app.js";
import { captureRows } from "../capturefacts.js";
import { $, el } from "../dom.js";
import { decryptContent, fetchVerified } from "../evidence.js";
import { guard } from "../feedback.js";
import { forensicDocument } from "../forensicview.js";
import { fmtBytes, fmtDate, roleName, t, vocabLabel } from "../i18n.js";
import { safeFilename, visibleText } from "../names.js";
import { TEXT_TYPES, textPreview } from "../textpreview.js";

await boot();
const itemId = document.body.dataset.itemId;
const PREVIEW_IMAGES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const PREVIEW_MEDIA = new Set(["video/mp4", "video/webm", "audio/mpeg", "audio/ogg", "audio/wav", "audio/webm"]);

function kv(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) continue;
    dl.append(el("dt", { text: k }), el("dd", { text: Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v, null, 1) : String(v) }));
  }
}

const show = guard(async () => {
  const state = $("#verify-state");
  let verified;
  try {
    verified = await fetchVerified(itemId);
  } catch (err) {
    state.className = "verify bad";
    state.textContent = t("Verification failed — do not rely on this item.");
    throw err;
  }
  const { item, manifest, sealed, itemKey } = verified;
  const meta = item.metadata || {};
  $("#item-title").textContent = meta.title || item.id; // textContent: never parsed as HTML
  $("#back-to-case").href = `/cases/${item.case_id}`;
  kv($("#metadata"), [[t("Title"), meta.title], [t("Type of evidence"), vocabLabel("EVIDENCE_TYPES", item.evidence_type)], [t("Region"), meta.region && vocabLabel("REGIONS", meta.region)],
    [t("Incident date from"), meta.incident_date_from], [t("Incident date to"), meta.incident_date_to],
    [t("Violations"), (meta.violations || []).map((c) => vocabLabel("VIOLATIONS", c))], [t("Methods"), (meta.methods || []).map((c) => vocabLabel("METHODS", c))], [t("Tags"), meta.tags]]);
  kv($("#custody"), [
    // As the custody annex shows it: a right-to-left override appears as [U+202E] instead of
    // turning "report\u202efdp.exe" into what looks like "reportexe.pdf".
    [t("Original file name"), manifest.filename && visibleText(manifest.filename)], [t("Media type"), manifest.media_type],
    [t("Size"), fmtBytes(manifest.size)], [t("SHA-256 of the original"), manifest.sha256],
    [t("SHA-256 of the stored ciphertext"), item.blob_sha256], [t("Uploaded by"), `${manifest.uploader} (${roleName(item.uploader.role)})`],
    [t("Uploader's key fingerprint"), await fingerprintOf(item.uploader.username)],
    [t("Signed at upload (uploader's clock)"), fmtDate(manifest.created_at)], [t("Stored by the server"), fmtDate(item.created_at)],
    [t("Key version"), item.key_version], [t("Item id"), item.id],
  ]);
  const { capture, ...fields } = sealed;
  const sealedPairs = Object.entries(fields).map(([k, v]) => [({ victim: t("Victim's identity"), statement: t("Statement"), description: t("Description") })[k] || k, typeof v === "string" ? v : JSON.stringify(v)]);
  if (capture) {
    try {
      sealedPairs.unshift(...captureRows(capture, manifest, item));
    } catch {
      sealedPairs.unshift([t("Captured (device clock)"), t("The capture statement does not verify for this file: do not rely on its time or place.")]);
    }
  }
  state.textContent = t("Signature and receipt verified. Decrypting…");
  const blob = await decryptContent(item, manifest, itemKey, (done, total) => {
    state.textContent = t("Decrypting… {done} of {total}", { done: fmtBytes(done), total: fmtBytes(total) });
  });
  state.className = "verify ok";
  state.textContent = t("Verified: unaltered since {who} uploaded it ({when}); signature, receipt and hashes check out.",
    { who: manifest.uploader, when: fmtDate(manifest.created_at) });
  const typed = blob.slice(0, blob.size, manifest.media_type || "application/octet-stream");
  const url = URL.createObjectURL(typed);
  const preview = $("#preview");
  const type = manifest.media_type || "";
  if (PREVIEW_IMAGES.has(type)) {
    preview.append(el("img", { src: url, alt: meta.title || t("Evidence photo") }));
  } else if (type === "application/pdf") {
    preview.append(el("iframe", { src: url, title: meta.title || t("PDF document") }));
  } else if (PREVIEW_MEDIA.has(type)) {
    preview.append(el(type.startsWith("video") ? "video" : "audio", { src: url, controls: true }));
  } else if (type === "application/vnd.vault.forensic-report+json") {
    // Shown as the document it is (forensicview.js), never as its JSON keys.
    let rep;
    try {
      rep = JSON.parse(await blob.text());
    } catch {
      rep = null;
    }
    if (rep && typeof rep === "object" && !Array.isArray(rep)) {
      $("#forensic").replaceChildren(forensicDocument(rep));
      $("#forensic").hidden = false;
    } else {
      preview.append(el("p", { text: t("The report could not be read.") }));
    }
  } else if (TEXT_TYPES.has(type.split(";")[0])) {
    preview.append(await textPreview(blob)); // a .txt statement: its text, never HTML (textpreview.js)
  } else {
    preview.append(el("p", { class: "hint", text: t("No preview for this kind of file. Download it to open it.") }));
  }
  kv($("#sealed"), sealedPairs.length ? sealedPairs : [[t("Sealed fields"), t("none")]]);
  const button = $("#download");
  button.disabled = false;
  button.addEventListener("click", () => {
    const a = el("a", { href: URL.createObjectURL(blob), download: safeFilename(manifest.filename, item.id) });
    document.body.append(a);
    a.click();
    a.remove();
  });
  const { items } = await api("GET", `/cases/${item.case_id}/items`);
  const attached = items.filter((x) => x.attached_to === item.id);
  if (attached.length) {
    $("#attached-section").hidden = false;
    $("#attached").replaceChildren(...attached.map((x) => el("li", {}, el("a", { href: `/items/${x.id}` }, (x.metadata || {}).title || x.id))));
  }
});

async function fingerprintOf(username) {
  try {
    return (await api("GET", `/users/${encodeURIComponent(username)}`)).fingerprint;
  } catch {
    return "";
  }
}

show();
