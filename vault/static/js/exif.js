// Capture time and camera of a photo, read in the browser before it is sealed — the twin of
// _exif in vault/client/transfer.py, which asks Pillow (getexif). Dependency-free: the app is
// offline and its CSP allows no outside script. JPEG (APP1 "Exif\0\0") and PNG (eXIf chunk),
// the TIFF structure in them, IFD0 and the Exif sub-IFD; nothing else.
//
// The bytes come from whoever made the file, so every read is bounds-checked and only two
// IFDs are ever read (no chain is followed: a cyclic offset cannot loop). What a broken file
// yields is what Pillow yields where that is cheap to match: an IFD cut short, or with a value
// past the end, keeps the entries before that point; an oversized count skips its tag.

const HEAD_BYTES = 262144; // EXIF sits at the start of the file
// In transfer.py's order, so that the sealed JSON lists them alike.
const WANTED = [[0x9003, "DateTimeOriginal"], [0x010f, "Make"], [0x0110, "Model"], [0x0131, "Software"]];
const WANTED_TAGS = new Set(WANTED.map(([tag]) => tag));
const EXIF_IFD = 0x8769;
const ASCII = 2;
// Bytes per value of each TIFF type Pillow reads; entries of other types are skipped, as there.
const UNIT = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8 };
const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"
// datetime.strptime(v, "%Y:%m:%d %H:%M:%S") as Python 3.11 matches it (\s as Python's, for Latin-1).
const DATE_RE = /^(\d{4}):(1[0-2]|0[1-9]|[1-9]):(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])[\t-\r\x1c-\x20\x85\xa0]+(2[0-3]|[01]\d|\d):([0-5]\d|\d):(6[01]|[0-5]\d|\d)$/;

const startsWith = (b, at, prefix) => at + prefix.length <= b.length && prefix.every((x, i) => b[at + i] === x);

/** The TIFF data of a JPEG's APP1 Exif segments (several are joined, as Pillow does), or null. */
function fromJpeg(b) {
  const parts = [];
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) { i += 1; continue; } // junk between segments: skipped, as Pillow does
    const m = b[i + 1];
    if (m === 0xff) { i += 1; continue; } // fill byte
    if (m === 0x00) { i += 2; continue; } // an escaped 0xFF, not a marker
    if (m === 0xda || m === 0xd9) break; // start of scan / end of image: no metadata after
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) { i += 2; continue; } // markers without a length
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2 || i + 2 + len > b.length) break; // cut off (or past the bytes read)
    if (m === 0xe1 && startsWith(b, i + 4, EXIF_HEADER)) parts.push(b.subarray(i + 4 + 6, i + 2 + len));
    i += 2 + len;
  }
  if (!parts.length) return null;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

function crc32(bytes) {
  let c = ~0;
  for (const x of bytes) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** The TIFF data of a PNG's eXIf chunk, or null; a chunk failing its CRC is refused, as by Pillow. */
function fromPng(b) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 8; i + 8 <= b.length; ) {
    const len = dv.getUint32(i);
    const type = String.fromCharCode(...b.subarray(i + 4, i + 8));
    if (type === "eXIf") {
      if (i + 12 + len > b.length || crc32(b.subarray(i + 4, i + 8 + len)) !== dv.getUint32(i + 8 + len)) return null;
      return b.subarray(i + 8, i + 8 + len);
    }
    if (type === "IEND") break;
    i += 12 + len; // length, type, data, CRC
  }
  return null;
}

/** {tag: {type, count, bytes}} of the tags we want in the IFD at `at`; stops quietly at the end of the data. */
function readIfd(t, dv, le, at) {
  const found = {};
  const seen = new Set(); // every tag kept so far, wanted or not: a repeated tag is skipped, as in Pillow
  if (at + 2 > t.length) return found;
  const n = dv.getUint16(at, le);
  let outside = 0; // bytes of the values stored outside the entries
  for (let k = 0, e = at + 2; k < n; k++, e += 12) {
    if (e + 12 > t.length) break; // truncated: keep what came before
    const tag = dv.getUint16(e, le), type = dv.getUint16(e + 2, le), count = dv.getUint32(e + 4, le);
    if (seen.has(tag) || !UNIT[type]) continue;
    const size = count * UNIT[type]; // exact in a JS number (< 2^35): no overflow
    let start = e + 8;
    if (size > 4) {
      outside += size;
      if (outside > t.length) continue; // Pillow skips a value once the values so far outgrow the data
      start = dv.getUint32(e + 8, le);
      if (start + size > t.length) break; // a value past the end: Pillow stops reading this IFD here
    }
    if (!size) continue;
    seen.add(tag);
    if (WANTED_TAGS.has(tag) || tag === EXIF_IFD) found[tag] = { type, count, bytes: t.subarray(start, start + size) };
  }
  return found;
}

/** The four tags from TIFF data (after an optional "Exif\0\0"), as Pillow's getexif gives them. */
function readTiff(t, exif) {
  for (let k = 0; k < 2 && startsWith(t, 0, EXIF_HEADER); k++) t = t.subarray(6); // Pillow strips one or two
  if (t.length < 8) return;
  const le = t[0] === 0x49 && t[1] === 0x49; // "II"; "MM" is big-endian, anything else is not TIFF
  if (!le && !(t[0] === 0x4d && t[1] === 0x4d)) return;
  if (!((t[2] === 42 && t[3] === 0) || (t[2] === 0 && t[3] === 42))) return; // Pillow also takes 42 in the other order
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  const ifd0 = readIfd(t, dv, le, dv.getUint32(4, le));
  const ptr = ifd0[EXIF_IFD];
  let sub = {};
  if (ptr && ptr.count === 1 && [3, 4, 13].includes(ptr.type)) {
    const pdv = new DataView(ptr.bytes.buffer, ptr.bytes.byteOffset, ptr.bytes.byteLength);
    sub = readIfd(t, dv, le, ptr.type === 3 ? pdv.getUint16(0, le) : pdv.getUint32(0, le));
  }
  for (const [tag, name] of WANTED) {
    const v = sub[tag] || ifd0[tag]; // the Exif IFD wins, as in transfer.py's merge
    if (!v || v.type !== ASCII) continue; // these tags are ASCII; of another type, Pillow's str() is a Python repr: left out
    let s = v.bytes;
    if (s[s.length - 1] === 0) s = s.subarray(0, -1); // Pillow drops one trailing NUL, keeps spaces
    exif[name] = Array.from(s, (c) => String.fromCharCode(c)).join("").slice(0, 200); // Latin-1, as Pillow
  }
}

/** DateTimeOriginal "YYYY:MM:DD HH:MM:SS" as ISO, or null where Python's strptime refuses it. */
function capturedAt(value) {
  const m = DATE_RE.exec(value || "");
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (y < 1 || d > days || s > 59) return null; // what datetime() refuses after the match
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}`;
}

/** {captured_at, exif} of the first bytes of a file; never throws (a broken file has no or partial EXIF). */
export function exifOf(bytes) {
  const exif = {};
  try {
    const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const tiff = b[0] === 0xff && b[1] === 0xd8 ? fromJpeg(b) : startsWith(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) ? fromPng(b) : null;
    if (tiff) readTiff(tiff, exif);
  } catch {
    // cannot happen with the checks above; if it does, what was read so far stands
  }
  return { captured_at: capturedAt(exif.DateTimeOriginal), exif };
}

/** As transfer.py _exif: only for image/* media types; reads the first 256 KiB of the file. */
export async function photoExif(file, mediaType) {
  if (!String(mediaType).startsWith("image/")) return { captured_at: null, exif: {} };
  try {
    return exifOf(await file.slice(0, HEAD_BYTES).arrayBuffer());
  } catch {
    return { captured_at: null, exif: {} }; // the file cannot be read: the upload will say so
  }
}
