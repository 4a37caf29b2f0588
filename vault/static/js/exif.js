// Capture time and camera of a photo, read in the browser before it is sealed — the twin of
// _exif in vault/client/transfer.py, which asks Pillow (Image.open, getexif). Hand-written on
// purpose: exifr (weighed in docs/web.md) reads no PNG in its lite build, decodes ASCII as UTF-8
// where Pillow keeps Latin-1 bytes, drops empty values and reads past a segment's end, so 45 % of
// fuzzed photos sealed other fields than the Python client. JPEG (APP1 "Exif\0\0", in a file
// Pillow would open) and PNG (eXIf chunk), the TIFF structure in them, IFD0 and the Exif
// sub-IFD; nothing else.
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

// How Pillow's JPEG parser (JpegImagePlugin.MARKER, Pillow 13) treats each marker after 0xFF: a frame
// header, a quantization table or an application segment (each checked as there), a segment it skips,
// or a marker without a length. Any other marker makes Pillow refuse the whole file ("no marker found").
function markerKind(m) {
  if (m >= 0xc0 && m <= 0xcf) return m === 0xc4 || m === 0xcc ? "skip" : m === 0xc8 ? "bare" : "frame";
  if (m >= 0xd0 && m <= 0xd9) return "bare"; // RSTn, SOI, EOI: Pillow reads on after EOI too
  if (m >= 0xe0 && m <= 0xef) return "app";
  if (m >= 0xf0 && m <= 0xfd) return "bare";
  return { 0xda: "skip", 0xdb: "dqt", 0xdc: "skip", 0xdd: "skip", 0xde: "frame", 0xdf: "skip", 0xfe: "skip" }[m];
}
const REFUSED = "refused"; // Pillow raises on this file: Image.open fails, the Python client seals no EXIF
const UNDECIDED = "undecided"; // the bytes read end inside a file that goes on
const MAX_PIXELS = 2 * 89478485; // above this Pillow refuses to open an image (DecompressionBombError)
const i16 = (s, at) => (s[at] << 8) | s[at + 1];
const ascii = (text) => Array.from(text, (c) => c.charCodeAt(0));
const PHOTOSHOP = ascii("Photoshop 3.0\0");
const ICC_PROFILE = ascii("ICC_PROFILE\0");

/** The checks Pillow's APPn handler makes that can fail (an index or struct error ends Image.open). */
function checkApp(m, s) {
  if (m === 0xe0 && startsWith(s, 0, [0x4a, 0x46, 0x49, 0x46]) && s.length < 7) throw REFUSED; // JFIF version
  if (m === 0xee && startsWith(s, 0, [0x41, 0x64, 0x6f, 0x62, 0x65]) && s.length < 7) throw REFUSED; // Adobe
  if (m === 0xed && startsWith(s, 0, PHOTOSHOP)) {
    // Its resource blocks: a cut-off code, size or resolution ends the walk quietly (struct.error is
    // caught there), a missing name length does not (IndexError is not).
    for (let at = 14; startsWith(s, at, [0x38, 0x42, 0x49, 0x4d]); ) {
      if (at + 6 > s.length) return;
      const code = i16(s, at + 4);
      at += 6;
      if (at >= s.length) throw REFUSED;
      at += 1 + s[at];
      at += at & 1;
      if (at + 4 > s.length) return;
      const size = s[at] * 0x1000000 + ((s[at + 1] << 16) | (s[at + 2] << 8) | s[at + 3]);
      at += 4;
      if (code === 0x03ed && Math.min(size, s.length - at) < 14) return; // ResolutionInfo read short
      at += size;
      at += at & 1;
    }
  }
}

/**
 * The TIFF data of a JPEG's APP1 Exif segments (several are joined, as Pillow does), or null where
 * Pillow would not open the file at all (finding exif-1): a marker it does not know, a segment or
 * table cut short, or no valid frame header (SOFn) before the image data — a file that stops after
 * its EXIF is not a picture to Pillow, so the Python client seals none of its EXIF. A walk of
 * Pillow's own parse loop (JpegImageFile._open). `complete` says `b` is the whole file: when the
 * bytes read end first, the segments seen so far are trusted, as a photo goes on with its frame.
 */
function fromJpeg(b, complete) {
  const parts = [];
  const icc = [];
  let frame = null;
  let p = 3; // Pillow reads "FF D8 FF", then starts again from that last FF
  const next = () => {
    if (p < b.length) return b[p++];
    if (!complete) throw UNDECIDED;
    return null; // the end of the file ends the loop
  };
  const segment = () => { // a marker's length and content, as Pillow's handlers read them
    if (p + 2 > b.length) throw complete ? REFUSED : UNDECIDED;
    const n = i16(b, p) - 2;
    p += 2;
    if (n <= 0) return b.subarray(p, p);
    if (p + n > b.length) throw complete ? REFUSED : UNDECIDED; // "Truncated File Read"
    p += n;
    return b.subarray(p - n, p);
  };
  try {
    for (let cur = 0xff; cur !== null; ) {
      if (cur !== 0xff) { cur = next(); continue; } // junk between segments: skipped
      const m = next();
      if (m === null) break;
      const kind = markerKind(m);
      if (kind === "frame") {
        const s = segment();
        if (s.length < 6 || s[0] !== 8 || ![1, 3, 4].includes(s[5])) throw REFUSED; // bits and layers Pillow reads
        if (icc.length) {
          icc.sort((x, y) => { for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k] - y[k]; return x.length - y.length; });
          if (icc[0].length < 14) throw REFUSED;
          icc.length = 0;
        }
        if (s.length > 6 && (s.length - 6) % 3) throw REFUSED; // a component cut short
        frame = [i16(s, 3), i16(s, 1)];
      } else if (kind === "dqt") {
        for (let s = segment(); s.length; ) {
          const need = 1 + (s[0] >> 4 ? 2 : 1) * 64;
          if (s.length < need) throw REFUSED; // "bad quantization table marker"
          s = s.subarray(need);
        }
      } else if (kind === "app") {
        const s = segment();
        checkApp(m, s);
        if (m === 0xe1 && startsWith(s, 0, EXIF_HEADER)) parts.push(s.subarray(6));
        if (m === 0xe2 && startsWith(s, 0, ICC_PROFILE)) icc.push(s);
      } else if (kind === "skip") {
        segment();
      } else if (kind !== "bare") {
        if (m === 0xff) { cur = 0xff; continue; } // fill byte: the second 0xFF starts again
        if (m !== 0x00) throw REFUSED; // "no marker found"
      }
      if (m === 0xda) break; // start of scan: the header ends
      cur = next();
    }
  } catch (err) {
    if (err === REFUSED) return null;
    if (err !== UNDECIDED) throw err;
    frame = frame || [1, 1];
  }
  // Pillow opens an image only with a frame of non-zero size ("not identified by this driver"), and
  // not above its decompression-bomb limit.
  if (!frame || !frame[0] || !frame[1] || frame[0] * frame[1] > MAX_PIXELS) return null;
  if (!parts.length) return null;
  const out = new Uint8Array(parts.reduce((n, q) => n + q.length, 0));
  parts.reduce((at, q) => (out.set(q, at), at + q.length), 0);
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
export function exifOf(bytes, complete = true) {
  const exif = {};
  try {
    const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const tiff = startsWith(b, 0, [0xff, 0xd8, 0xff]) ? fromJpeg(b, complete) : startsWith(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) ? fromPng(b) : null;
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
    return exifOf(await file.slice(0, HEAD_BYTES).arrayBuffer(), file.size <= HEAD_BYTES);
  } catch {
    return { captured_at: null, exif: {} }; // the file cannot be read: the upload will say so
  }
}
