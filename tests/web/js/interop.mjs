// Test driver for tests/web/test_crypto_interop.py: runs vault/static/js/crypto.js
// under Node (>= 20) on requests from Python.
//
//   node tests/web/js/interop.mjs < {"ops": [{"op": "...", ...}, ...]}
//   → {"results": [{"ok": value} | {"error": {"name": "IntegrityError", "message": "..."}}, ...]}
//
// Bytes travel as lowercase hex strings; files travel by path. Each op runs on
// its own: one failing op reports its error and the next one still runs.

import fs from "node:fs";
import fsp from "node:fs/promises";

import { captureStatement } from "../../../vault/static/js/capture.js";
import * as vc from "../../../vault/static/js/crypto.js";
import * as trust from "../../../vault/static/js/trust.js";

const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const bin = (h) => {
  if (typeof h !== "string") throw new TypeError("expected a hex string");
  return new Uint8Array(Buffer.from(h, "hex"));
};

function keysOut(keys) {
  return {
    box_secret: hex(keys.boxSecret),
    sign_seed: hex(keys.signSeed),
    box_public: hex(keys.boxPublic),
    sign_public: hex(keys.signPublic),
    fingerprint: vc.fingerprint(keys.boxPublic, keys.signPublic),
  };
}

function expectError(fn, name) {
  try {
    fn();
  } catch (exc) {
    if (exc.name === name) return exc.name;
    throw new Error(`expected ${name}, got ${exc.name}: ${exc.message}`);
  }
  throw new Error(`expected ${name}, nothing was thrown`);
}

async function expectRejection(promise, name) {
  try {
    await promise;
  } catch (exc) {
    if (exc.name === name) return exc.name;
    throw new Error(`expected ${name}, got ${exc.name}: ${exc.message}`);
  }
  throw new Error(`expected ${name}, nothing was thrown`);
}

// Encrypt a file as an uploader would: requests of `request_bytes`, each
// written at its offset (the "server"), acknowledged afterwards. With
// `drops`, the given requests are cut off after `keep` bytes (the server
// reports how much it holds) and the rest is re-sent from enc.pending.
async function encryptFile(req) {
  const blob = await fs.openAsBlob(req.in_path); // file-backed: slice() reads from disk
  const enc = new vc.BlobEncryptor(bin(req.key), blob, req.read_bytes ? { readBytes: req.read_bytes } : {});
  const expectedSize = enc.ciphertextSize;
  const out = await fsp.open(req.out_path, "w");
  const drops = new Map((req.drops || []).map((d) => [d.request, d.keep]));
  let serverHas = 0; // bytes the "server" holds
  let requests = 0;
  let resent = 0;
  try {
    for (;;) {
      const r = enc.pending ?? (await enc.next(req.request_bytes));
      if (r === null) break;
      if (r.offset !== serverHas) throw new Error(`request at ${r.offset}, server has ${serverHas}`);
      if (enc.pending !== r) throw new Error("pending is not the request just made");
      const index = requests++;
      if (drops.has(index)) {
        const keep = Math.min(drops.get(index), r.bytes.length);
        // The connection drops: part of the request arrives, the rest is lost.
        await out.write(r.bytes, 0, r.bytes.length, r.offset);
        await out.truncate(r.offset + keep);
        serverHas = r.offset + keep;
        // While a request is unacknowledged, next() refuses to run.
        await expectRejection(enc.next(req.request_bytes), "CryptoError");
        enc.ack(serverHas);
        drops.delete(index);
        resent++;
        continue; // loop picks up enc.pending: the unsent rest, not re-encrypted
      }
      await out.write(r.bytes, 0, r.bytes.length, r.offset);
      serverHas = r.offset + r.bytes.length;
      enc.ack(serverHas);
    }
  } finally {
    await out.close();
  }
  if (!enc.done || !enc.complete) throw new Error("encryptor not complete at the end");
  // Going back before an acknowledgement is impossible.
  if (serverHas > 0) expectError(() => enc.ack(serverHas - 1), "CryptoError");
  return {
    size: enc.size,
    ciphertext_size: expectedSize,
    written: serverHas,
    plaintext_sha256: enc.plaintextSha256,
    ciphertext_sha256: enc.ciphertextSha256,
    requests,
    resent,
  };
}

async function decryptFile(req) {
  const dec = new vc.StreamDecryptor(bin(req.key));
  let source;
  if (req.source === "blob") {
    source = await fs.openAsBlob(req.in_path);
  } else {
    source = fs.createReadStream(req.in_path, { highWaterMark: req.piece_bytes });
  }
  const out = req.out_path ? await fsp.open(req.out_path, "w") : null;
  let written = 0;
  try {
    for await (const piece of dec.decrypt(source, { sliceBytes: req.piece_bytes })) {
      if (out) await out.write(piece);
      written += piece.length;
    }
  } finally {
    if (out) await out.close();
    if (source.destroy) source.destroy();
  }
  return { size: dec.plaintextSize, written, plaintext_sha256: dec.plaintextSha256 };
}

const OPS = {
  check_kdf: (r) => (vc.checkKdfParams(r.params, { allowTestKdf: r.allow_test_kdf }), true),

  kdf(r) {
    const master = vc.deriveMasterKey(r.password, bin(r.salt), r.params, { allowTestKdf: r.allow_test_kdf });
    return { master: hex(master), auth: hex(vc.authKey(master)), kek: hex(vc.keyEncryptionKey(master)) };
  },

  user_keys_new(r) {
    const keys = vc.UserKeys.generate();
    return { ...keysOut(keys), blob: hex(vc.encryptUserKeys(bin(r.kek), r.username, keys)) };
  },

  user_keys_open: (r) => keysOut(vc.decryptUserKeys(bin(r.kek), r.username, bin(r.blob))),

  fingerprint: (r) => vc.fingerprint(bin(r.box_public), bin(r.sign_public)),

  box_keypair() {
    const kp = vc.generateBoxKeypair();
    return { secret: hex(kp.secret), public: hex(kp.public) };
  },

  seal: (r) => hex(vc.seal(bin(r.public), bin(r.message))),
  unseal: (r) => hex(vc.unseal(bin(r.secret), bin(r.sealed))),

  wrap: (r) => hex(vc.wrapItemKey(bin(r.case_key), bin(r.item_key), r.case_id, r.item_id, r.version)),
  unwrap: (r) => hex(vc.unwrapItemKey(bin(r.case_key), bin(r.wrapped), r.case_id, r.item_id, r.version)),

  sign: (r) => hex(vc.sign(bin(r.sign_seed), bin(r.message))),
  verify: (r) => (vc.verify(bin(r.sign_public), bin(r.message), bin(r.signature)), true),

  receipt: (r) => hex(vc.receiptMessage(r.item_id, r.case_id, r.version, r.ciphertext_sha256, r.manifest_sha256)),

  sha256: (r) => vc.sha256Hex(bin(r.data)),

  seal_manifest(r) {
    const keys = new vc.UserKeys(bin(r.box_secret), bin(r.sign_seed));
    const sealed = vc.sealManifest(bin(r.item_key), keys, r.manifest, r.case_id, r.item_id);
    return { sealed: hex(sealed), sealed_sha256: vc.sha256Hex(sealed) };
  },

  open_manifest(r) {
    const { manifest, body, signature } = vc.openManifest(bin(r.item_key), bin(r.sealed), r.case_id, r.item_id, bin(r.signer_public));
    return { manifest, body: hex(body), signature: hex(signature) };
  },

  seal_fields(r) {
    const { envelope, sha256 } = vc.sealFields(bin(r.item_key), r.fields, r.case_id, r.item_id);
    return { envelope: hex(envelope), sha256 };
  },

  open_fields: (r) => vc.openFields(bin(r.item_key), bin(r.envelope), r.case_id, r.item_id, r.sha256),

  case_key_check: (r) => vc.caseKeyCheck(bin(r.case_key)),
  case_key_message: (r) => hex(vc.caseKeyMessage(r.case_id, r.version, r.check)),

  ciphertext_size: (r) => vc.ciphertextSize(r.size),

  encrypt_file: encryptFile,
  decrypt_file: decryptFile,

  // Misuse of the low-level API fails the way Python's StreamEncryptor does.
  stream_encryptor_misuse() {
    const enc = new vc.StreamEncryptor(vc.randomKey());
    const seen = [];
    seen.push(expectError(() => enc.push(new Uint8Array(100)), "CryptoError")); // short non-final chunk
    seen.push(expectError(() => enc.push(new Uint8Array(vc.CHUNK_SIZE + 1), true), "CryptoError")); // too large
    enc.push(new Uint8Array(vc.CHUNK_SIZE));
    enc.push(new Uint8Array(3), true);
    seen.push(expectError(() => enc.push(new Uint8Array(0), true), "CryptoError")); // already final
    return seen;
  },

  wipe() {
    const b = new Uint8Array([1, 2, 3]);
    vc.wipe(b);
    const keys = vc.UserKeys.generate();
    keys.wipe();
    return [...b, ...keys.boxSecret, ...keys.signSeed].every((x) => x === 0);
  },
};

// Trust (trust.js): keys travel as base64 inside statements, as on the wire; seeds as hex.
const orgOf = (o) => trust.Organisation.fromBase64(o.recovery_public, o.root_sign_public);
const keysOfMap = (m) => (m ? (uid) => new Set(m[uid] || []) : null);

function stateOut(st) {
  return { case_id: st.caseId, seq: st.seq, head: st.head, key_version: st.keyVersion,
    members: Object.fromEntries(st.members), checks: Object.fromEntries(st.checks), ids: st.ids };
}

function stateIn(s) {
  return { caseId: s.case_id, seq: s.seq, head: s.head, keyVersion: s.key_version,
    members: new Map(Object.entries(s.members || {})),
    checks: new Map(Object.entries(s.checks || {}).map(([k, v]) => [Number(k), v])) };
}

function certifiedOut(c) {
  return { user_id: c.userId, username: c.username, role: c.role, box_public: vc.toBase64(c.boxPublic),
    sign_public: vc.toBase64(c.signPublic), may_certify: c.mayCertify, issuer: vc.toBase64(c.issuer), path: c.path,
    fingerprint: c.fingerprint };
}

const TRUST_OPS = {
  root_sign_seed: (r) => hex(vc.rootSignSeed(bin(r.kit_secret))),
  org_fingerprint: (r) => vc.orgFingerprint(bin(r.recovery_public), bin(r.root_sign_public)),
  invitation_secret: (r) => hex(vc.invitationSecret(bin(r.seed), r.invitation_id, r.role)),
  invitation_binding: (r) => hex(vc.invitationBinding(bin(r.secret), r.username, bin(r.box_public), bin(r.sign_public))),
  statement_message: (r) => hex(vc.statementMessage(r.kind, r.payload)),
  statement_hash: (r) => vc.statementHash(bin(r.signature), r.payload),
  base64url: (r) => ({ text: vc.toBase64Url(bin(r.data)), back: hex(vc.fromBase64Url(vc.toBase64Url(bin(r.data)))) }),
  canonical_json: (r) => trust.canonicalJson(r.body),
  make_statement: (r) => trust.makeStatement(r.kind, r.body, bin(r.seed)),
  capture_statement: (r) => captureStatement({ signSeed: bin(r.seed) }, { captureId: r.capture_id, caseId: r.case_id,
    userId: r.user_id, mediaType: r.media_type, bytes: bin(r.data), deviceTime: r.device_time, location: r.location }),
  open_statement(r) {
    const { body, signer } = trust.openStatement(r.statement, r.kind);
    return { body, signer: vc.toBase64(signer), id: trust.statementId(r.statement) };
  },
  certify: (r) => trust.certify(bin(r.seed), orgOf(r.org), r.user_id, r.username, r.role, vc.fromBase64(r.box_public),
    vc.fromBase64(r.sign_public), r.issued_at),
  verify_chain: (r) => certifiedOut(trust.verifyChain(r.certificates, orgOf(r.org))),
  verify_user: (r) => certifiedOut(trust.verifyUser(r.user, orgOf(r.org))),
  make_entry: (r) => trust.makeEntry(stateIn(r.state), r.entry_op, r.member, r.key_version, r.key_check, r.signer_id,
    bin(r.seed), r.time),
  replay: (r) => stateOut(trust.replay(r.case_id, r.entries, keysOfMap(r.keys_of))),
};

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const { ops } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  await vc.ready();
  const results = [];
  for (const req of ops) {
    const fn = OPS[req.op] || TRUST_OPS[req.op];
    try {
      if (!fn) throw new Error(`unknown op ${req.op}`);
      results.push({ ok: await fn(req) });
    } catch (exc) {
      results.push({ error: { name: exc.name, message: String(exc.message) } });
    }
  }
  process.stdout.write(JSON.stringify({ results }));
}

main().catch((exc) => {
  process.stderr.write(`${exc.stack || exc}\n`);
  process.exit(1);
});
