// Bundle the browser's assets with esbuild into vault/static/dist/ (docs/web.md, "Assets").
//
//   node scripts/bundle.mjs              # called at the end of scripts/build-assets
//   node scripts/bundle.mjs --out DIR    # elsewhere than vault/static/dist
//
// Every page entry (js/pages/*.js) and every Worker (js/*-worker.js) becomes one ES module named by
// its content hash; what two of them share goes into hashed chunks (esbuild's code splitting), so
// libsodium (the largest asset, its wasm inside as base64) is downloaded once for all pages and both
// Workers. css/app.css and favicon.svg are hashed too. Each file gets a .gz and a .br next to it.
// manifest.json maps each source name to its URL and lists the chunks a page imports (its
// <link rel="modulepreload">s), the files the server may serve, and a hash of each input, so a
// server can tell that the sources changed since the build and fall back to them.
//
// Written so that a running server never sees a half-built state: hashed files never change
// content under their name (each written to a temporary name and renamed), manifest.json is renamed
// into place last, and the previous build's files stay one generation, for pages rendered just
// before (a sign-in page opened before a deploy still finds its Worker).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import * as esbuild from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STATIC = path.join(ROOT, "vault", "static");
// --out DIR: somewhere else (tests/web/test_assets.py builds into a temporary folder).
const outArg = process.argv.indexOf("--out");
const DIST = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(STATIC, "dist");
const JS = path.join(STATIC, "js");
const MANIFEST = "manifest.json";

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const rel = (abs) => path.relative(STATIC, abs).split(path.sep).join("/");

function writeAtomic(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.tmp-${process.pid}-${path.basename(file)}`);
  fs.writeFileSync(tmp, data, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

const entries = [
  ...fs.readdirSync(path.join(JS, "pages")).filter((f) => f.endsWith(".js")).map((f) => path.join(JS, "pages", f)),
  ...fs.readdirSync(JS).filter((f) => f.endsWith("-worker.js")).map((f) => path.join(JS, f)),
  path.join(STATIC, "css", "app.css"),
].sort();

const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: entries,
  outdir: DIST,
  outbase: STATIC,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  // Licence headers (/*! … */) stay in the files; vendor/LICENSE.* are still served too.
  legalComments: "eof",
  entryNames: "[dir]/[name]-[hash]",
  chunkNames: "chunks/[name]-[hash]",
  // libsodium's Emscripten glue calls require("crypto") only where window.crypto is missing, inside
  // a try: left to fail there, it never runs in a browser.
  external: ["crypto"],
  metafile: true,
  write: false,
  logLevel: "warning",
});

const files = new Map(); // dist-relative name → bytes
for (const out of result.outputFiles) files.set(path.relative(DIST, out.path).split(path.sep).join("/"), out.contents);

const favicon = fs.readFileSync(path.join(STATIC, "favicon.svg"));
const faviconName = `favicon-${sha256(favicon).slice(0, 8).toUpperCase()}.svg`;
files.set(faviconName, favicon);

// The chunks each output imports statically, transitively: what a page preloads.
const outputs = Object.fromEntries(Object.entries(result.metafile.outputs).map(([k, v]) => [path.relative(DIST, path.join(ROOT, k)).split(path.sep).join("/"), v]));
function closure(name, seen = new Set()) {
  for (const imp of outputs[name]?.imports || []) {
    if (imp.kind !== "import-statement" || imp.external) continue;
    const dep = path.relative(DIST, path.join(ROOT, imp.path)).split(path.sep).join("/");
    if (!seen.has(dep)) {
      seen.add(dep);
      closure(dep, seen);
    }
  }
  return seen;
}

const assets = { "favicon.svg": { file: faviconName, preload: [] } };
for (const [name, out] of Object.entries(outputs)) {
  if (!out.entryPoint) continue;
  assets[rel(path.join(ROOT, out.entryPoint))] = { file: name, preload: [...closure(name)].sort() };
}

const inputs = {};
for (const input of [...Object.keys(result.metafile.inputs).map((p) => path.join(ROOT, p)), path.join(STATIC, "favicon.svg")]) {
  inputs[rel(input)] = sha256(fs.readFileSync(input));
}

// Precompressed siblings: the server sends these bytes as they are (Content-Encoding br or gzip).
const names = [...files.keys()].sort();
for (const name of names) {
  const target = path.join(DIST, name);
  const data = files.get(name);
  if (fs.existsSync(target) && sha256(fs.readFileSync(target)) === sha256(data) && fs.existsSync(`${target}.br`) && fs.existsSync(`${target}.gz`)) continue;
  writeAtomic(`${target}.gz`, zlib.gzipSync(data, { level: 9 }));
  writeAtomic(`${target}.br`, zlib.brotliCompressSync(data, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }));
  writeAtomic(target, data);
}

let previous = [];
try {
  previous = JSON.parse(fs.readFileSync(path.join(DIST, MANIFEST), "utf8")).files || [];
} catch {
  // no earlier build (or an unreadable one): nothing to keep
}
const current = new Set(names);
const kept = previous.filter((n) => !current.has(n) && fs.existsSync(path.join(DIST, n))).sort();

const version = sha256(names.map((n) => `${n}\n`).join("")).slice(0, 16);
const manifest = { version, assets, files: names, previous: kept, inputs };
writeAtomic(path.join(DIST, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);

// Anything neither this build nor the one before it serves (and leftovers of an interrupted run).
const keep = new Set([MANIFEST, ...[...names, ...kept].flatMap((n) => [n, `${n}.gz`, `${n}.br`])]);
(function sweep(dir) {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, ent.name);
    if (ent.isDirectory()) {
      sweep(abs);
      if (fs.readdirSync(abs).length === 0) fs.rmdirSync(abs);
    } else if (!keep.has(path.relative(DIST, abs).split(path.sep).join("/"))) fs.rmSync(abs, { force: true });
  }
})(DIST);

const total = (suffix) => names.reduce((n, f) => n + fs.statSync(path.join(DIST, f + suffix)).size, 0);
console.log(`bundle: ${path.relative(ROOT, DIST) || DIST} ready (${names.length} files, ${total("")} bytes, ${total(".br")} brotli, ${total(".gz")} gzip; version ${version})`);
