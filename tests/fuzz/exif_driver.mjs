// Test driver for tests/fuzz/test_exif_fuzz.py: vault/static/js/exif.js under Node, one file per line.
//
//   {"hex": "<the file's first bytes>"}  →  {"captured_at": ..., "exif": {...}}   (one JSON line each)

import readline from "node:readline";

import { exifOf } from "../../vault/static/js/exif.js";

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const { hex } = JSON.parse(line);
  process.stdout.write(JSON.stringify(exifOf(new Uint8Array(Buffer.from(hex, "hex")))) + "\n");
}
