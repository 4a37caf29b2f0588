// A text file's preview on the item page (a .txt statement typed on a phone or
// saved from Word): the first part of the decrypted file as text, never as HTML.
// Encodings: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1251
// (what older Russian- and Kyrgyz-language Windows editors save).
import { el } from "./dom.js";
import { fmtBytes, t } from "./i18n.js";

export const TEXT_TYPES = new Set(["text/plain", "text/csv", "text/markdown"]);
const SHOWN_BYTES = 256 * 1024;

function decode(bytes, cut) {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // Cut at SHOWN_BYTES in the middle of a character, UTF-8 is still UTF-8 without its last bytes.
    for (let drop = 1; cut && drop <= 3; drop++) {
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, bytes.length - drop));
      } catch {
        // not that either
      }
    }
    return new TextDecoder("windows-1251").decode(bytes);
  }
}

/** The preview of a verified, decrypted text `blob`: a <div> holding a <pre> (textContent only). */
export async function textPreview(blob) {
  const bytes = new Uint8Array(await blob.slice(0, SHOWN_BYTES).arrayBuffer());
  const pre = el("pre", { class: "text-preview", tabindex: "0", text: decode(bytes, blob.size > SHOWN_BYTES) });
  // Set through the CSSOM (the CSP allows no inline style): long lines wrap, long files scroll.
  Object.assign(pre.style, { whiteSpace: "pre-wrap", overflowWrap: "anywhere", maxHeight: "60vh", overflow: "auto",
    background: "#fff", border: "1px solid #ccc", padding: ".5rem" });
  const box = el("div", { class: "text-preview-box" }, pre);
  if (blob.size > SHOWN_BYTES) {
    box.append(el("p", { class: "hint", text: t("The first {shown} of {total} are shown. Download the file to read all of it.",
      { shown: fmtBytes(SHOWN_BYTES), total: fmtBytes(blob.size) }) }));
  }
  return box;
}
