// Names from signed manifests, made safe to save and honest to show: the twin of vault/export/names.py
// (the rules and why are in its docstring; tests/export/test_names.py checks both on one table).
// In short: format characters (a right-to-left override turns "report\u202efdp.exe" into what looks
// like "reportexe.pdf"), lone surrogates and other default-ignorable code points are removed;
// controls, line and paragraph separators and the characters Windows forbids become "_"; any
// other space becomes one plain space; NFC; bounded. Lengths count code points, not UTF-16 units.

const MAX_NAME = 120;
const MAX_BYTES = 240;
const MAX_EXT = 16;
const SCAN_HALF = 512;
const WINDOWS_RESERVED = /^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])$/;
const DROP = /^[\p{Cf}\p{Cs}]$/u;
// Default_Ignorable_Code_Point outside Cf: the list in names.py, range for range.
const IGNORABLE = [[0x034F, 0x034F], [0x115F, 0x1160], [0x17B4, 0x17B5], [0x180B, 0x180F], [0x2060, 0x206F],
  [0x3164, 0x3164], [0xFE00, 0xFE0F], [0xFFA0, 0xFFA0], [0xFFF0, 0xFFF8], [0xE0000, 0xE0FFF]];
const UNDERSCORE = /^[\p{Cc}\p{Zl}\p{Zp}]$/u;
const SPACE = /^\p{Zs}$/u;
const FORBIDDEN = /[<>:"/\\|?*]/gu;

const codePoints = (s) => Array.from(s);
const utf8Len = (ch) => { const cp = ch.codePointAt(0); return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; };

function bounded(cps, joint = []) {
  return cps.length <= 2 * SCAN_HALF ? cps : [...cps.slice(0, SCAN_HALF), ...joint, ...cps.slice(-SCAN_HALF)];
}

function cut(cps, maxChars, maxBytes) {
  const out = [];
  let size = 0;
  for (const ch of cps.slice(0, maxChars)) {
    size += utf8Len(ch);
    if (size > maxBytes) break;
    out.push(ch);
  }
  return out.join("");
}

/** A character a name loses: a format, surrogate or default-ignorable one. */
export function isInvisible(ch) {
  const cp = ch.codePointAt(0);
  return DROP.test(ch) || IGNORABLE.some(([lo, hi]) => lo <= cp && cp <= hi);
}

const trim = (s) => s.replace(/^[ .]+|[ .]+$/g, "");

/** `text` with the invisible characters removed, controls as "_", spaces as one " ", NFC; may be empty. */
export function cleanText(text) {
  const out = [];
  for (const ch of codePoints(String(text))) {
    if (isInvisible(ch)) continue;
    if (UNDERSCORE.test(ch)) out.push("_");
    else if (SPACE.test(ch)) {
      if (out[out.length - 1] !== " ") out.push(" ");
    } else out.push(ch);
  }
  return out.join("").normalize("NFC");
}

/** `text` for showing as it is: each hidden or control character written as [U+XXXX]. */
export function visibleText(text) {
  const hex = (ch) => `[U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}]`;
  return bounded(codePoints(String(text)), ["…"])
    .map((ch) => (isInvisible(ch) || UNDERSCORE.test(ch) ? hex(ch) : ch)).join("").normalize("NFC");
}

/** One path component to save a file under: as vault.export.names.safe_filename. */
export function safeFilename(name, fallback = "file") {
  const last = String(name || "").split(/[/\\]/).pop();
  let clean = trim(cleanText(bounded(codePoints(last)).join("")).replace(FORBIDDEN, "_"));
  if (!clean) clean = fallback;
  const head = clean.split(".")[0].replace(/ +$/, "");
  if (/^[\x00-\x7f]*$/.test(head) && WINDOWS_RESERVED.test(head.toUpperCase())) clean = `_${clean}`;
  const dot = clean.lastIndexOf(".");
  const stem = dot < 0 ? clean : clean.slice(0, dot);
  const ext = dot < 0 ? [] : codePoints(clean.slice(dot + 1)).slice(0, MAX_EXT);
  if (!ext.length) return cut(codePoints(clean), MAX_NAME, MAX_BYTES);
  const extText = ext.join("");
  const room = MAX_BYTES - ext.reduce((n, ch) => n + utf8Len(ch), 0) - 1;
  return `${cut(codePoints(stem), MAX_NAME - ext.length - 1, room)}.${extText}`;
}
