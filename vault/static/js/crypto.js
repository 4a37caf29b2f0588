// Every cryptographic operation of the vault in the browser, in one ES module.
//
// This is the browser twin of vault/crypto.py (the reference): same primitives
// (libsodium, here libsodium.js compiled to WebAssembly), same byte formats, so
// what one side writes the other reads. tests/web/test_crypto_interop.py checks
// the two against each other; docs/crypto.md describes the formats.
//
// Load it with <script type="module"> (it imports ../vendor/, filled by
// scripts/build-assets). It needs CSP `script-src 'self' 'wasm-unsafe-eval'`
// and nothing else: no eval, no inline script, no network access.
//
// Keys live only in memory: nothing here touches localStorage, sessionStorage,
// IndexedDB or cookies. wipe() zeroes a Uint8Array; see docs/crypto.md for what
// libsodium.js leaves behind in its WebAssembly heap and why logging out must
// navigate away from the page.

import sodium from "../vendor/libsodium-wrappers-sumo.mjs";

// --------------------------------------------------------------------------
// Constants (the same values as vault/crypto.py)

export const KEY_BYTES = 32;
export const SALT_BYTES = 16;
export const CHUNK_SIZE = 64 * 1024;
export const STREAM_MAGIC = Object.freeze([0x56, 0x4c, 0x54, 0x01]); // b"VLT\x01"
export const STREAM_HEADER_BYTES = 24;
export const STREAM_ABYTES = 17;
export const STREAM_PREFIX_BYTES = STREAM_MAGIC.length + STREAM_HEADER_BYTES; // 28
export const STREAM_RECORD_BYTES = CHUNK_SIZE + STREAM_ABYTES; // a full record on the wire
export const ENVELOPE_VERSION = 1;
export const SIGNATURE_BYTES = 64;
const NONCE_BYTES = 24;
const PERSONAL_BYTES = 16;
const SECRETSTREAM_STATE_BYTES = 52;
const SHA256_STATE_BYTES = 104;
// Blob slices read at a time by BlobEncryptor. Measured in headless Chromium 156
// (2 cores): 64 KiB slices read at 53-76 MiB/s, 1 MiB slices at 156-226 MiB/s
// (each Blob read crosses processes). Records are still 64 KiB.
const DEFAULT_READ_BYTES = 1024 * 1024;

export const KDF_PRODUCTION = Object.freeze({ alg: "argon2id13", ops: 3, mem: 64 * 1024 * 1024 });
// TEST-ONLY: cheap Argon2 so test suites run quickly. Never in production.
export const KDF_TEST_ONLY = Object.freeze({ alg: "argon2id13", ops: 1, mem: 8 * 1024 * 1024 });
const KDF_MAX_OPS = 20;
const KDF_MAX_MEM = 1024 * 1024 * 1024;

// --------------------------------------------------------------------------
// Errors (mirror vault/crypto.py; `err.name` is the Python class name)

export class CryptoError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "CryptoError";
  }
}

/** Ciphertext was altered, truncated, reordered or extended. */
export class IntegrityError extends CryptoError {
  constructor(message, options) {
    super(message, options);
    this.name = "IntegrityError";
  }
}

/** A key does not open an envelope (wrong key, wrong context, or altered). */
export class DecryptionError extends CryptoError {
  constructor(message, options) {
    super(message, options);
    this.name = "DecryptionError";
  }
}

/** A signature does not verify under the given public key. */
export class BadSignature extends CryptoError {
  constructor(message, options) {
    super(message, options);
    this.name = "BadSignature";
  }
}

/** The server offered Argon2 parameters below the client's floor. */
export class WeakKdfParameters extends CryptoError {
  constructor(message, options) {
    super(message, options);
    this.name = "WeakKdfParameters";
  }
}

// --------------------------------------------------------------------------
// Loading

let lib = null; // the libsodium.js object, once ready() has resolved
let readyPromise = null;

/**
 * Load and check libsodium. Await it once before calling anything else.
 * Rejects if WebAssembly cannot be instantiated (a CSP without
 * 'wasm-unsafe-eval', or a browser without WebAssembly) or if the self-test
 * against known answers from vault/crypto.py fails.
 */
export function ready() {
  if (!readyPromise) {
    readyPromise = (async () => {
      try {
        await sodium.ready;
      } catch (exc) {
        throw new CryptoError(
          "libsodium could not start: this page needs WebAssembly " +
            "(Content-Security-Policy script-src must allow 'wasm-unsafe-eval')",
          { cause: exc },
        );
      }
      lib = sodium;
      try {
        selfTest();
      } catch (exc) {
        lib = null;
        throw exc;
      }
    })();
  }
  return readyPromise;
}

function need() {
  if (lib === null) throw new CryptoError("crypto.js: await ready() before using it");
  return lib;
}

// Known answers computed with vault/crypto.py (PyNaCl 1.6.2). They check the
// calls made below straight into the WebAssembly exports (whose calling
// convention is a detail of the libsodium.js build) before any real use.
function selfTest() {
  const s = lib;
  const k = Uint8Array.from({ length: 32 }, (_, i) => i);
  const k2 = Uint8Array.from({ length: 32 }, (_, i) => i + 32);
  const checks = [
    [toHex(authKey(k)), "dfbb5005c9c13291c6d8ba4a1615ba0cf502615105b3754cec06b755367e9dbc"],
    [toHex(keyEncryptionKey(k)), "a54c339ebf5645fccef58a674f4d895997a820227fbcea41d84e2a95720ae7ca"],
    [fingerprint(k, k2), "87465 81113 62392 84374 24332 27301"],
    // message plumbing: BLAKE2b with zero salt/personal is plain BLAKE2b
    [toHex(blake2bSaltPersonal(32, k2, k, null)), s.crypto_generichash(32, k2, k, "hex")],
    // Argon2id, raw call against the wrapper, at the cheapest legal setting
    [
      toHex(argon2id(k2, k.subarray(0, 16), 1, 8192)),
      s.crypto_pwhash(32, k2, k.subarray(0, 16), 1, 8192, s.crypto_pwhash_ALG_ARGON2ID13, "hex"),
    ],
  ];
  for (const [got, want] of checks) {
    if (got !== want) throw new CryptoError("crypto.js self-test failed: libsodium.js build mismatch");
  }
  if (
    s.crypto_secretstream_xchacha20poly1305_HEADERBYTES !== STREAM_HEADER_BYTES ||
    s.crypto_secretstream_xchacha20poly1305_ABYTES !== STREAM_ABYTES ||
    s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES !== NONCE_BYTES ||
    s.libsodium._crypto_secretstream_xchacha20poly1305_statebytes() !== SECRETSTREAM_STATE_BYTES ||
    s.libsodium._crypto_hash_sha256_statebytes() !== SHA256_STATE_BYTES
  ) {
    throw new CryptoError("crypto.js self-test failed: unexpected libsodium constants");
  }
}

// --------------------------------------------------------------------------
// Small helpers

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, as in Python's bytes.decode(); a leading
// BOM is dropped, as Python's json.loads(bytes) does.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

function isWellFormed(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * UTF-8 bytes of a string, refusing lone surrogates: TextEncoder would turn
 * them into U+FFFD where Python's str.encode() raises, so the two sides could
 * silently disagree. No Unicode normalisation, as in Python.
 */
export function encodeUtf8(text, what = "text") {
  if (typeof text !== "string") throw new TypeError(`${what} must be a string`);
  if (!isWellFormed(text)) throw new TypeError(`${what} is not valid Unicode (lone surrogate)`);
  return utf8Encoder.encode(text);
}

export function decodeUtf8(bytes) {
  return utf8Decoder.decode(bytes);
}

function u8(value, what, length) {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new TypeError(`${what} must be ${length} bytes, not ${value.length}`);
  }
  return value;
}

function idText(value, what) {
  // Python formats ids with f"{x}": a str as is, an int in decimal.
  if (typeof value === "string") return value;
  if (Number.isSafeInteger(value)) return String(value);
  throw new TypeError(`${what} must be a string or an integer`);
}

function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Zero a Uint8Array in place (sodium.memzero). Ignores null/undefined. */
export function wipe(bytes) {
  if (bytes === null || bytes === undefined) return;
  u8(bytes, "wipe() argument");
  if (lib !== null) lib.memzero(bytes);
  else bytes.fill(0);
}

/** n random bytes from the browser's CSPRNG (what libsodium.js's randombytes uses too, 4 bytes per call). */
export function randomBytes(n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError("n must be a non-negative integer");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(i + 65536, n)));
  return out;
}

export function randomKey() {
  return randomBytes(KEY_BYTES);
}

export function toHex(bytes) {
  return need().to_hex(u8(bytes, "bytes"));
}

export function fromHex(text) {
  if (typeof text !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
    throw new TypeError("not a hex string");
  }
  return need().from_hex(text);
}

/** Standard base64 with padding (Python's base64.b64encode). */
export function toBase64(bytes) {
  const s = need();
  return s.to_base64(u8(bytes, "bytes"), s.base64_variants.ORIGINAL);
}

/** Standard base64 with padding (Python's base64.b64decode, strict). */
export function fromBase64(text) {
  const s = need();
  if (typeof text !== "string") throw new TypeError("base64 input must be a string");
  return s.from_base64(text, s.base64_variants.ORIGINAL);
}

/** Constant-time comparison of two byte strings (false if lengths differ). */
export function constantTimeEqual(a, b) {
  u8(a, "a");
  u8(b, "b");
  if (a.length !== b.length) return false;
  return need().memcmp(a, b);
}

/** Incremental SHA-256 (libsodium crypto_hash_sha256_*; WebCrypto has no incremental API). */
export class Sha256 {
  constructor() {
    this._state = need().crypto_hash_sha256_init();
    this._digest = null;
  }

  update(bytes) {
    if (this._digest !== null) throw new CryptoError("SHA-256 already finalised");
    u8(bytes, "data");
    if (bytes.length) lib.crypto_hash_sha256_update(this._state, bytes);
    return this;
  }

  /** The digest (32 bytes); may be called again, returns the same value. */
  digest() {
    if (this._digest === null) {
      this._digest = lib.crypto_hash_sha256_final(this._state); // also frees the state
      this._state = null;
    }
    return this._digest.slice();
  }

  hexdigest() {
    return toHex(this.digest());
  }

  /** Drop the state without a digest. */
  destroy() {
    if (this._state !== null) this.digest();
  }
}

export function sha256Hex(bytes) {
  return need().crypto_hash_sha256(u8(bytes, "data"), "hex");
}

// --------------------------------------------------------------------------
// Direct calls into the WebAssembly exports, for the two operations the
// wrappers cannot express (BLAKE2b with both a message and a personalisation:
// the wrapper's crypto_generichash_blake2b_salt_personal(outlen, key, salt,
// personal) has no message argument) or do not clean up after (the wrappers
// free their heap copies of inputs and outputs without zeroing them; here the
// password and the master key are zeroed in the heap after use).
// 64-bit C arguments are passed as (low, high) 32-bit halves in this build;
// selfTest() checks both calls against known answers.

function heapCall(sizes, fn) {
  const raw = lib.libsodium;
  const total = sizes.reduce((a, b) => a + b, 0);
  const base = raw._malloc(Math.max(total, 1));
  if (!base) throw new CryptoError("out of WebAssembly memory");
  const ptrs = [];
  let p = base;
  for (const n of sizes) {
    ptrs.push(p);
    p += n;
  }
  try {
    return fn(ptrs, raw);
  } finally {
    raw.HEAPU8.fill(0, base, base + total); // HEAPU8 is re-read: memory may have grown
    raw._free(base);
  }
}

function personalBytes(person) {
  if (person === null) return null;
  const b = encodeUtf8(person, "personalisation");
  if (b.length > PERSONAL_BYTES) throw new TypeError("personalisation is longer than 16 bytes");
  const out = new Uint8Array(PERSONAL_BYTES); // zero-padded, as PyNaCl does
  out.set(b);
  return out;
}

/** BLAKE2b(message, key, salt = 16 zero bytes, personal zero-padded to 16 bytes). */
function blake2bSaltPersonal(outlen, message, key, person) {
  need();
  u8(message, "message");
  const keyLen = key ? u8(key, "key").length : 0;
  if (!Number.isInteger(outlen) || outlen < 16 || outlen > 64) throw new TypeError("bad BLAKE2b length");
  if (keyLen > 64) throw new TypeError("BLAKE2b key longer than 64 bytes");
  const personal = personalBytes(person);
  return heapCall([outlen, message.length, keyLen, PERSONAL_BYTES], ([out, m, k, p], raw) => {
    raw.HEAPU8.set(message, m);
    if (keyLen) raw.HEAPU8.set(key, k);
    if (personal) raw.HEAPU8.set(personal, p);
    const rc = raw._crypto_generichash_blake2b_salt_personal(
      out, outlen, m, message.length, 0, keyLen ? k : 0, keyLen, 0, personal ? p : 0,
    );
    if (rc !== 0) throw new CryptoError("BLAKE2b failed");
    return raw.HEAPU8.slice(out, out + outlen);
  });
}

function argon2id(passwordBytes, salt, ops, mem) {
  const s = need();
  const out = heapCall([KEY_BYTES, passwordBytes.length, SALT_BYTES], ([o, pw, sa], raw) => {
    raw.HEAPU8.set(passwordBytes, pw);
    raw.HEAPU8.set(salt, sa);
    const rc = raw._crypto_pwhash(
      o, KEY_BYTES, 0, pw, passwordBytes.length, 0, sa, ops, 0, mem, s.crypto_pwhash_ALG_ARGON2ID13,
    );
    if (rc !== 0) throw new CryptoError("Argon2id failed (out of memory?)");
    return raw.HEAPU8.slice(o, o + KEY_BYTES);
  });
  scrubFreedHeap(mem);
  return out;
}

// libsodium frees Argon2's work area without zeroing it, and that area is
// enough to recompute the master key. Allocating the same size again returns
// the same region (checked with this build): zero it and give it back.
function scrubFreedHeap(size) {
  const raw = lib.libsodium;
  const p = raw._malloc(size);
  if (p) {
    raw.HEAPU8.fill(0, p, p + size);
    raw._free(p);
  }
}

// --------------------------------------------------------------------------
// Password → keys

/**
 * Validate Argon2id parameters received from the server (check_kdf_params).
 * Throws WeakKdfParameters below the production floor {ops: 3, mem: 64 MiB},
 * or below the test floor {ops: 1, mem: 8 MiB} if allowTestKdf (tests only).
 */
export function checkKdfParams(params, { allowTestKdf = false } = {}) {
  if (params === null || typeof params !== "object" || Array.isArray(params) || params.alg !== "argon2id13") {
    throw new WeakKdfParameters("unknown key-derivation algorithm");
  }
  const { ops, mem } = params;
  if (!Number.isSafeInteger(ops) || !Number.isSafeInteger(mem)) {
    throw new WeakKdfParameters("key-derivation parameters must be integers");
  }
  const floor = allowTestKdf === true ? KDF_TEST_ONLY : KDF_PRODUCTION;
  if (ops < floor.ops || mem < floor.mem) {
    throw new WeakKdfParameters(
      `the server asked for Argon2id ops=${ops} mem=${mem}, below the minimum ` +
        `ops=${floor.ops} mem=${floor.mem}; refusing to derive a weak key`,
    );
  }
  if (ops > KDF_MAX_OPS || mem > KDF_MAX_MEM) {
    throw new WeakKdfParameters("key-derivation parameters are implausibly large");
  }
  return params;
}

/** Argon2id(password as NFC UTF-8, salt 16 bytes) → 32-byte master key. Synchronous: run it in a Worker to keep the page responsive. */
export function deriveMasterKey(password, salt, params, { allowTestKdf = false } = {}) {
  need();
  checkKdfParams(params, { allowTestKdf });
  if (!(salt instanceof Uint8Array) || salt.length !== SALT_BYTES) {
    throw new CryptoError("salt must be 16 bytes");
  }
  // NFC, as the Python client: the same password typed or pasted differently gives the same key.
  const pw = encodeUtf8(typeof password === "string" ? password.normalize("NFC") : password, "password");
  try {
    return argon2id(pw, salt, params.ops, params.mem);
  } finally {
    wipe(pw);
  }
}

/** What the client sends to log in: BLAKE2b-256(key = master, personal "vault-auth"). */
export function authKey(masterKey) {
  return blake2bSaltPersonal(32, new Uint8Array(0), u8(masterKey, "master key", KEY_BYTES), "vault-auth");
}

/** Key-encryption key: BLAKE2b-256(key = master, personal "vault-kek"). */
export function keyEncryptionKey(masterKey) {
  return blake2bSaltPersonal(32, new Uint8Array(0), u8(masterKey, "master key", KEY_BYTES), "vault-kek");
}

// --------------------------------------------------------------------------
// AEAD envelopes: 0x01 || nonce(24) || XChaCha20-Poly1305-IETF(ct || tag)

export function aeadEncrypt(key, plaintext, ad) {
  const s = need();
  u8(key, "key", KEY_BYTES);
  u8(plaintext, "plaintext");
  u8(ad, "associated data");
  const nonce = s.randombytes_buf(NONCE_BYTES);
  const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
  return concat([ENVELOPE_VERSION], nonce, ct);
}

export function aeadDecrypt(key, envelope, ad) {
  const s = need();
  u8(key, "key", KEY_BYTES);
  u8(envelope, "envelope");
  u8(ad, "associated data");
  if (envelope.length < 1 + NONCE_BYTES + 16 || envelope[0] !== ENVELOPE_VERSION) {
    throw new DecryptionError("not a vault envelope");
  }
  const nonce = envelope.subarray(1, 1 + NONCE_BYTES);
  const ct = envelope.subarray(1 + NONCE_BYTES);
  try {
    return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, ad, nonce, key);
  } catch (exc) {
    throw new DecryptionError("envelope does not open with this key and context", { cause: exc });
  }
}

export function itemKeyAd(caseId, itemId, keyVersion) {
  if (!Number.isSafeInteger(keyVersion)) throw new TypeError("key version must be an integer");
  return encodeUtf8(
    `vault-item-key-v1|${idText(caseId, "case id")}|${idText(itemId, "item id")}|${keyVersion}`,
    "associated data",
  );
}

export function manifestAd(caseId, itemId) {
  return encodeUtf8(`vault-manifest-v1|${idText(caseId, "case id")}|${idText(itemId, "item id")}`, "associated data");
}

function userKeysAd(username) {
  return encodeUtf8(`vault-user-keys-v1|${username}`, "username");
}

export function wrapItemKey(caseKey, itemKey, caseId, itemId, keyVersion) {
  u8(itemKey, "item key", KEY_BYTES);
  return aeadEncrypt(caseKey, itemKey, itemKeyAd(caseId, itemId, keyVersion));
}

export function unwrapItemKey(caseKey, wrapped, caseId, itemId, keyVersion) {
  return aeadDecrypt(caseKey, wrapped, itemKeyAd(caseId, itemId, keyVersion));
}

// --------------------------------------------------------------------------
// Public-key helpers, sealing, signatures

export function boxPublicFromSecret(boxSecret) {
  return need().crypto_scalarmult_base(u8(boxSecret, "X25519 secret key", KEY_BYTES));
}

export function signPublicFromSeed(signSeed) {
  const kp = need().crypto_sign_seed_keypair(u8(signSeed, "Ed25519 seed", KEY_BYTES));
  wipe(kp.privateKey);
  return kp.publicKey;
}

/** (secret, public) X25519 pair — e.g. the organisation's recovery key. */
export function generateBoxKeypair() {
  const secret = randomBytes(KEY_BYTES);
  return { secret, public: boxPublicFromSecret(secret) };
}

/** crypto_box_seal: anonymous encryption of a (short) message to an X25519 public key. */
export function seal(recipientBoxPublic, message) {
  return need().crypto_box_seal(u8(message, "message"), u8(recipientBoxPublic, "X25519 public key", KEY_BYTES));
}

export function unseal(boxSecret, sealed) {
  const s = need();
  const pub = boxPublicFromSecret(boxSecret);
  try {
    return s.crypto_box_seal_open(u8(sealed, "sealed box"), pub, boxSecret);
  } catch (exc) {
    throw new DecryptionError("this key cannot open the sealed box", { cause: exc });
  }
}

/** Ed25519 detached signature (64 bytes) with the key made from a 32-byte seed. */
export function sign(signSeed, message) {
  const s = need();
  u8(message, "message");
  const kp = s.crypto_sign_seed_keypair(u8(signSeed, "Ed25519 seed", KEY_BYTES));
  try {
    return s.crypto_sign_detached(message, kp.privateKey);
  } finally {
    wipe(kp.privateKey);
  }
}

/** Throws BadSignature unless `signature` is a valid Ed25519 signature of `message` by `signPublic`. */
export function verify(signPublic, message, signature) {
  const s = need();
  let ok = false;
  try {
    ok = s.crypto_sign_verify_detached(
      u8(signature, "signature", SIGNATURE_BYTES), u8(message, "message"), u8(signPublic, "public key", KEY_BYTES),
    );
  } catch (exc) {
    throw new BadSignature("signature does not verify", { cause: exc });
  }
  if (ok !== true) throw new BadSignature("signature does not verify");
}

/** The text an uploader signs so the server (and fsck) can check a stored blob. */
export function receiptMessage(itemId, caseId, keyVersion, ciphertextSha256, manifestSha256) {
  if (!Number.isSafeInteger(keyVersion)) throw new TypeError("key version must be an integer");
  for (const [h, what] of [[ciphertextSha256, "ciphertext SHA-256"], [manifestSha256, "manifest SHA-256"]]) {
    if (typeof h !== "string" || !/^[0-9a-f]{64}$/.test(h)) throw new TypeError(`${what} must be 64 lowercase hex digits`);
  }
  return encodeUtf8(
    `vault-receipt-v1|${idText(itemId, "item id")}|${idText(caseId, "case id")}|${keyVersion}|` +
      `${ciphertextSha256}|${manifestSha256}`,
    "receipt",
  );
}

// --------------------------------------------------------------------------
// User key pairs

/** A user's private keys: X25519 secret (receives sealed keys) and Ed25519 seed (signs). */
export class UserKeys {
  constructor(boxSecret, signSeed) {
    this.boxSecret = u8(boxSecret, "X25519 secret key", KEY_BYTES);
    this.signSeed = u8(signSeed, "Ed25519 seed", KEY_BYTES);
  }

  static generate() {
    return new UserKeys(randomBytes(KEY_BYTES), randomBytes(KEY_BYTES));
  }

  get boxPublic() {
    return boxPublicFromSecret(this.boxSecret);
  }

  get signPublic() {
    return signPublicFromSeed(this.signSeed);
  }

  sign(message) {
    return sign(this.signSeed, message);
  }

  openSealed(sealed) {
    return unseal(this.boxSecret, sealed);
  }

  /** Zero both private keys; the object is useless afterwards. */
  wipe() {
    wipe(this.boxSecret);
    wipe(this.signSeed);
  }
}

/** AEAD(kek, box_secret || sign_seed, "vault-user-keys-v1|{username}"). */
export function encryptUserKeys(kek, username, keys) {
  if (!(keys instanceof UserKeys)) throw new TypeError("keys must be a UserKeys");
  const raw = concat(keys.boxSecret, keys.signSeed);
  try {
    return aeadEncrypt(kek, raw, userKeysAd(username));
  } finally {
    wipe(raw);
  }
}

export function decryptUserKeys(kek, username, blob) {
  const raw = aeadDecrypt(kek, blob, userKeysAd(username));
  try {
    if (raw.length !== 64) throw new DecryptionError("private key blob has the wrong length");
    return new UserKeys(raw.slice(0, 32), raw.slice(32));
  } finally {
    wipe(raw);
  }
}

/** Six groups of five digits that two people compare in person. */
export function fingerprint(boxPublic, signPublic) {
  return digits(concat(u8(boxPublic, "X25519 public key", KEY_BYTES), u8(signPublic, "Ed25519 public key", KEY_BYTES)));
}

/** The organisation recovery key's fingerprint, as printed in the paper kit (it has no signing key). */
export function recoveryFingerprint(boxPublic) {
  return digits(u8(boxPublic, "X25519 public key", KEY_BYTES));
}

function digits(keys) {
  const h = blake2bSaltPersonal(32, keys, null, "vault-fpr");
  const view = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const groups = [];
  for (let i = 0; i < 6; i++) groups.push(String(view.getUint32(i * 4, false) % 100000).padStart(5, "0"));
  return groups.join(" ");
}

// --------------------------------------------------------------------------
// Manifests: AEAD(item_key, signature(64) || manifest JSON, "vault-manifest-v1|{case}|{item}")

/**
 * Sign and seal a manifest (a plain object). The signature covers the exact
 * JSON bytes sealed, so no canonical form is needed. Refuses a manifest whose
 * item_id/case_id differ from the ids it is sealed for (Python would seal it;
 * nobody could open it).
 */
export function sealManifest(itemKey, keys, manifest, caseId, itemId) {
  if (!(keys instanceof UserKeys)) throw new TypeError("keys must be a UserKeys");
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) {
    throw new TypeError("manifest must be an object");
  }
  if (manifest.item_id !== itemId || manifest.case_id !== caseId) {
    throw new CryptoError("manifest names another item or case");
  }
  const body = encodeUtf8(JSON.stringify(manifest), "manifest");
  const sealedInput = concat(keys.sign(body), body);
  try {
    return aeadEncrypt(itemKey, sealedInput, manifestAd(caseId, itemId));
  } finally {
    wipe(sealedInput);
  }
}

/** Decrypt and verify a manifest. Returns {manifest, body (exact bytes), signature}. */
export function openManifest(itemKey, sealed, caseId, itemId, signerPublic) {
  const raw = aeadDecrypt(itemKey, sealed, manifestAd(caseId, itemId));
  if (raw.length < SIGNATURE_BYTES + 2) throw new IntegrityError("manifest is too short");
  const signature = raw.slice(0, SIGNATURE_BYTES);
  const body = raw.slice(SIGNATURE_BYTES);
  verify(signerPublic, body, signature);
  let manifest;
  try {
    manifest = JSON.parse(decodeUtf8(body));
  } catch (exc) {
    throw new IntegrityError("manifest is not valid JSON", { cause: exc });
  }
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) {
    throw new IntegrityError("manifest is not an object");
  }
  if (manifest.item_id !== itemId || manifest.case_id !== caseId) {
    throw new IntegrityError("manifest names another item or case");
  }
  return { manifest, body, signature };
}

// --------------------------------------------------------------------------
// Sealed fields: AEAD(item_key, compact JSON, "vault-sealed-fields-v1|{case}|{item}")
// The manifest carries only the SHA-256 of the envelope ("sealed_sha256"), so a
// manifest can travel in a custody annex without the fields (victim, statement);
// the envelope's hash, unlike the JSON's, cannot be confirmed by guessing a name.

export function sealedFieldsAd(caseId, itemId) {
  return encodeUtf8(
    `vault-sealed-fields-v1|${idText(caseId, "case id")}|${idText(itemId, "item id")}`, "associated data",
  );
}

/** Encrypt an item's sealed fields (a plain object). Returns {envelope, sha256} (sha256 of the envelope). */
export function sealFields(itemKey, fields, caseId, itemId) {
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
    throw new TypeError("sealed fields must be an object");
  }
  const body = encodeUtf8(JSON.stringify(fields), "sealed fields");
  try {
    const envelope = aeadEncrypt(itemKey, body, sealedFieldsAd(caseId, itemId));
    return { envelope, sha256: sha256Hex(envelope) };
  } finally {
    wipe(body);
  }
}

/** Decrypt sealed fields and check them against the manifest's sealed_sha256 (open_fields). */
export function openFields(itemKey, envelope, caseId, itemId, expectedSha256) {
  if (sha256Hex(envelope) !== expectedSha256) throw new IntegrityError("the sealed fields do not match the signed manifest");
  const body = aeadDecrypt(itemKey, envelope, sealedFieldsAd(caseId, itemId));
  let fields;
  try {
    fields = JSON.parse(decodeUtf8(body));
  } catch (exc) {
    throw new IntegrityError("sealed fields are not valid JSON", { cause: exc });
  }
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
    throw new IntegrityError("sealed fields are not an object");
  }
  return fields;
}

// --------------------------------------------------------------------------
// Case key commitments (case_key_check / case_key_message)

/** Public commitment to a case key: hex BLAKE2b-256(key = case key, personal "vault-casekey"). */
export function caseKeyCheck(caseKey) {
  return toHex(blake2bSaltPersonal(32, new Uint8Array(0), u8(caseKey, "case key", KEY_BYTES), "vault-casekey"));
}

/** What a member signs when making a case key version. */
export function caseKeyMessage(caseId, version, check) {
  if (!Number.isSafeInteger(version)) throw new TypeError("key version must be an integer");
  if (typeof check !== "string" || !/^[0-9a-f]{64}$/.test(check)) throw new TypeError("check must be 64 lowercase hex digits");
  return encodeUtf8(`vault-case-key-v1|${idText(caseId, "case id")}|${version}|${check}`, "case key message");
}

// --------------------------------------------------------------------------
// Trust from people (docs/trust.md): the organisation root, invitations, signed
// statements. The structures built on them are in trust.js (vault/domain/trust.py).

/** URL-safe base64 without padding (the invitation code's secret). */
export function toBase64Url(bytes) {
  const s = need();
  return s.to_base64(u8(bytes, "bytes"), s.base64_variants.URLSAFE_NO_PADDING);
}

export function fromBase64Url(text) {
  const s = need();
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError("not URL-safe base64");
  return s.from_base64(text, s.base64_variants.URLSAFE_NO_PADDING);
}

/** The organisation root's Ed25519 seed: BLAKE2b-256(key = kit secret, personal "vault-root-sign"). */
export function rootSignSeed(kitSecret) {
  return blake2bSaltPersonal(32, new Uint8Array(0), u8(kitSecret, "kit secret", KEY_BYTES), "vault-root-sign");
}

/** The organisation's fingerprint: one number covering its recovery key and its root. */
export function orgFingerprint(recoveryPublic, rootSignPublic) {
  return fingerprint(recoveryPublic, rootSignPublic);
}

/** An invitation's one-time secret (16 bytes), re-derived by its issuer from their own seed. */
export function invitationSecret(issuerSignSeed, invitationId, role) {
  if (typeof role !== "string") throw new TypeError("role must be a string");
  const data = encodeUtf8(`${idText(invitationId, "invitation id")}|${role}`, "invitation");
  return blake2bSaltPersonal(16, data, u8(issuerSignSeed, "Ed25519 seed", KEY_BYTES), "vault-invite");
}

/** The newcomer's proof that these public keys are the ones made with this invitation (32 bytes). */
export function invitationBinding(secret, username, boxPublic, signPublic) {
  if (typeof username !== "string") throw new TypeError("username must be a string");
  const message = encodeUtf8(
    `vault-invite-bind-v1|${username}|${toBase64(u8(boxPublic, "X25519 public key", KEY_BYTES))}|` +
      `${toBase64(u8(signPublic, "Ed25519 public key", KEY_BYTES))}`,
    "binding",
  );
  return blake2bSaltPersonal(32, message, u8(secret, "invitation secret", 16), "vault-inv-bind");
}

/** What a signed statement's signature covers: "vault-{kind}-v1\n", then the exact payload text. */
export function statementMessage(kind, payload) {
  if (typeof kind !== "string" || !/^[a-z-]+$/.test(kind)) throw new TypeError("bad statement kind");
  return concat(encodeUtf8(`vault-${kind}-v1\n`), encodeUtf8(payload, "payload"));
}

/** A signed statement's id: hex BLAKE2b-256(personal "vault-chain", signature || payload). */
export function statementHash(signature, payload) {
  const data = concat(u8(signature, "signature", SIGNATURE_BYTES), encodeUtf8(payload, "payload"));
  return toHex(blake2bSaltPersonal(32, data, null, "vault-chain"));
}

// --------------------------------------------------------------------------
// Content streams: "VLT\x01" || secretstream header(24) || records
// Every record is CHUNK_SIZE plaintext bytes + 17, except the last, which
// carries TAG_FINAL and may be shorter (empty only for an empty file).

/** Size of the encrypted stream for a plaintext of `plaintextSize` bytes. */
export function ciphertextSize(plaintextSize) {
  if (!Number.isSafeInteger(plaintextSize) || plaintextSize < 0) throw new TypeError("bad plaintext size");
  const chunks = Math.max(1, Math.ceil(plaintextSize / CHUNK_SIZE));
  return STREAM_PREFIX_BYTES + plaintextSize + chunks * STREAM_ABYTES;
}

function releaseStreamState(addr) {
  // The wrappers never free a secretstream state (52 bytes holding the
  // stream's subkey): zero it and free it here.
  const raw = lib.libsodium;
  raw.HEAPU8.fill(0, addr, addr + SECRETSTREAM_STATE_BYTES);
  raw._free(addr);
}

/**
 * Low-level encryptor, as StreamEncryptor in vault/crypto.py: `prefix` first,
 * then push() CHUNK_SIZE-byte chunks, the last one with final = true (it may
 * be shorter or empty). Most callers want BlobEncryptor.
 */
export class StreamEncryptor {
  constructor(key) {
    const s = need();
    const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(u8(key, "key", KEY_BYTES));
    this._state = state;
    this.prefix = concat(STREAM_MAGIC, header);
    this._done = false;
  }

  push(chunk, final = false) {
    if (this._done) throw new CryptoError("stream already finalised");
    u8(chunk, "chunk");
    if (!final && chunk.length !== CHUNK_SIZE) throw new CryptoError("non-final chunks must be exactly CHUNK_SIZE bytes");
    if (chunk.length > CHUNK_SIZE) throw new CryptoError("chunk too large");
    this._done = final;
    const s = lib;
    const tag = final
      ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const out = s.crypto_secretstream_xchacha20poly1305_push(this._state, chunk, null, tag);
    if (final) this.destroy();
    return out;
  }

  /** Zero and free the stream state (done automatically after the final chunk). */
  destroy() {
    this._done = true;
    if (this._state !== null) {
      releaseStreamState(this._state);
      this._state = null;
    }
  }
}

/**
 * Encrypts a File/Blob for upload, reading it with blob.slice() in slices of
 * `readBytes` (default 1 MiB, a multiple of CHUNK_SIZE; never the whole file;
 * one slice is read ahead), encrypting CHUNK_SIZE records, and hands the
 * ciphertext out in requests of any size, one in flight at a time:
 *
 *   const enc = new BlobEncryptor(itemKey, file);
 *   // enc.ciphertextSize is known before anything is read
 *   while (!enc.complete) {
 *     const req = enc.pending ?? await enc.next(4 * 1024 * 1024);
 *     // PUT req.bytes at byte offset req.offset (req.last: the final request)
 *     // on success: enc.ack(req.offset + req.bytes.length)
 *     // on a dropped connection: ask the server how much it has (H),
 *     //   enc.ack(H) (H may fall inside the request), and loop: enc.pending
 *     //   then holds exactly the bytes still to send. Nothing is re-encrypted.
 *   }
 *   enc.plaintextSha256, enc.ciphertextSha256   // hex, once enc.done
 *
 * The ciphertext is the same stream vault/crypto.py's encrypt_chunks writes.
 * A failed read poisons the encryptor (the stream cannot be continued with a
 * new header): start a new upload with a new BlobEncryptor.
 */
/**
 * Which ciphertext bytes went out as requests and which the server has
 * acknowledged; one request in flight at a time. BlobEncryptor keeps its
 * requests here, and so does the upload page when a Worker encrypts
 * (upload-core.js), so resends work the same either way.
 */
export class RequestLedger {
  constructor(total, start = 0) {
    this.total = total;
    this.produced = start; // bytes handed out (acknowledged + pending); a resumed upload starts at the server's
    this.acknowledged = start;
    this.pending = null;
  }

  get complete() {
    return this.acknowledged === this.total;
  }

  requireIdle() {
    if (this.pending) throw new CryptoError("a request is still unacknowledged: re-send enc.pending or ack() it");
  }

  /** Record `bytes` (a Uint8Array, or a Blob of ciphertext) as the next request and return it: {offset, bytes, last}. */
  hand(bytes) {
    this.requireIdle();
    const n = byteLength(bytes);
    this.pending = { offset: this.produced, bytes, last: this.produced + n === this.total };
    this.produced += n;
    return this.pending;
  }

  /**
   * The server holds the ciphertext up to byte `upTo` (default: all of the
   * pending request). `upTo` may fall inside the pending request; the rest of
   * it stays pending. Going back before an earlier acknowledgement is
   * impossible without re-encrypting: that throws.
   */
  ack(upTo = this.produced) {
    if (!Number.isSafeInteger(upTo)) throw new TypeError("ack offset must be an integer");
    if (upTo === this.acknowledged) return;
    if (upTo < this.acknowledged || upTo > this.produced) {
      throw new CryptoError(
        `cannot acknowledge up to byte ${upTo}: acknowledged ${this.acknowledged}, handed out ${this.produced}` +
          (upTo < this.acknowledged ? " (the server lost acknowledged data: restart the upload)" : ""),
      );
    }
    const p = this.pending;
    this.acknowledged = upTo;
    if (upTo === p.offset + byteLength(p.bytes)) {
      this.pending = null;
    } else {
      const rest = upTo - p.offset;
      this.pending = { offset: upTo, bytes: p.bytes.subarray ? p.bytes.subarray(rest) : p.bytes.slice(rest), last: p.last };
    }
  }
}

const byteLength = (b) => (b instanceof Uint8Array ? b.length : b.size);

// The upload stream's working set lives in the WebAssembly heap: the
// secretstream state, both SHA-256 states, one plaintext slice and its
// ciphertext. Each slice is copied in once, hashed, encrypted record by record
// and hashed again in place, and copied out once into the request: the
// libsodium.js wrappers would allocate and copy every input and output of
// every 64 KiB record (several copies per byte, and most of the page's time).
const RESUME_STATE_BYTES = SECRETSTREAM_STATE_BYTES + 2 * SHA256_STATE_BYTES; // 260

/** Feed `data` to the SHA-256 state at `statePtr`, through the wasm buffer at `bufPtr` (`bufBytes` long). */
function sha256HeapUpdate(statePtr, bufPtr, bufBytes, data) {
  const raw = lib.libsodium;
  for (let pos = 0; pos < data.length; pos += bufBytes) {
    const piece = data.subarray(pos, pos + bufBytes);
    raw.HEAPU8.set(piece, bufPtr);
    raw._crypto_hash_sha256_update(statePtr, bufPtr, piece.length, 0);
  }
}

class StreamEngine {
  constructor(sliceBytes) {
    const raw = lib.libsodium;
    const records = sliceBytes / CHUNK_SIZE;
    // state area, each part 16-byte aligned: stream | plaintext hash | ciphertext hash | scratch hash | 32 scratch bytes
    this._stateBytes = 64 + 3 * 112 + 32;
    this._inBytes = sliceBytes;
    this._outBytes = STREAM_PREFIX_BYTES + records * STREAM_RECORD_BYTES;
    this._total = this._stateBytes + this._inBytes + this._outBytes;
    this._base = raw._malloc(this._total);
    if (!this._base) throw new CryptoError("out of WebAssembly memory");
    this.ss = this._base;
    this.pt = this.ss + 64;
    this.ct = this.pt + 112;
    this.scratch = this.ct + 112;
    this.tmp = this.scratch + 112;
    this.inPtr = this._base + this._stateBytes;
    this.outPtr = this.inPtr + this._inBytes;
    this.first = true;
    this.prefix = null;
    this.hashPlaintext = true; // false: another thread hashes the plaintext (BlobEncryptor onPlaintext)
  }

  get heap() {
    return lib.libsodium.HEAPU8; // re-read: the heap may have grown (detaching older views)
  }

  init(key) {
    const raw = lib.libsodium;
    const header = this.tmp; // 24 of the 32 scratch bytes, after the key is gone
    this.heap.set(u8(key, "key", KEY_BYTES), this.inPtr);
    const rc = raw._crypto_secretstream_xchacha20poly1305_init_push(this.ss, header, this.inPtr);
    this.heap.fill(0, this.inPtr, this.inPtr + KEY_BYTES);
    if (rc !== 0) throw new CryptoError("secretstream init failed");
    this.prefix = concat(STREAM_MAGIC, this.heap.slice(header, header + STREAM_HEADER_BYTES));
    raw._crypto_hash_sha256_init(this.pt);
    raw._crypto_hash_sha256_init(this.ct);
  }

  /** The states (stream, plaintext hash, ciphertext hash) as bytes: as secret as the item key. */
  exportState() {
    const h = this.heap;
    const out = new Uint8Array(RESUME_STATE_BYTES);
    out.set(h.subarray(this.ss, this.ss + SECRETSTREAM_STATE_BYTES));
    out.set(h.subarray(this.pt, this.pt + SHA256_STATE_BYTES), SECRETSTREAM_STATE_BYTES);
    out.set(h.subarray(this.ct, this.ct + SHA256_STATE_BYTES), SECRETSTREAM_STATE_BYTES + SHA256_STATE_BYTES);
    return out;
  }

  restore(prefix, state) {
    u8(state, "resume state", RESUME_STATE_BYTES);
    this.prefix = u8(prefix, "stream prefix", STREAM_PREFIX_BYTES).slice();
    const h = this.heap;
    h.set(state.subarray(0, SECRETSTREAM_STATE_BYTES), this.ss);
    h.set(state.subarray(SECRETSTREAM_STATE_BYTES, SECRETSTREAM_STATE_BYTES + SHA256_STATE_BYTES), this.pt);
    h.set(state.subarray(SECRETSTREAM_STATE_BYTES + SHA256_STATE_BYTES), this.ct);
  }

  /** SHA-256 digest (hex) of a hash state at `ptr`, leaving it untouched. */
  peekDigest(ptr) {
    const raw = lib.libsodium;
    this.heap.copyWithin(this.scratch, ptr, ptr + SHA256_STATE_BYTES);
    raw._crypto_hash_sha256_final(this.scratch, this.tmp);
    return toHex(this.heap.slice(this.tmp, this.tmp + 32));
  }

  /** Hash `data` into the scratch state (verifying a file's first bytes on resume). */
  scratchUpdate(data, init) {
    if (init) lib.libsodium._crypto_hash_sha256_init(this.scratch);
    sha256HeapUpdate(this.scratch, this.inPtr, this._inBytes, data);
  }

  scratchDigest() {
    lib.libsodium._crypto_hash_sha256_final(this.scratch, this.tmp);
    return toHex(this.heap.slice(this.tmp, this.tmp + 32));
  }

  /** Encrypt one slice (a multiple of CHUNK_SIZE unless final); the ciphertext is at outPtr, its length returned. */
  encrypt(data, final) {
    const raw = lib.libsodium;
    const n = data.length;
    this.heap.set(data, this.inPtr);
    if (n && this.hashPlaintext) raw._crypto_hash_sha256_update(this.pt, this.inPtr, n, 0);
    let o = this.outPtr;
    if (this.first) {
      this.heap.set(this.prefix, o);
      o += STREAM_PREFIX_BYTES;
      this.first = false;
    }
    const message = lib.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const finalTag = lib.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    let off = 0;
    do {
      const len = Math.min(CHUNK_SIZE, n - off);
      const tag = final && off + len === n ? finalTag : message;
      const rc = raw._crypto_secretstream_xchacha20poly1305_push(this.ss, o, 0, this.inPtr + off, len, 0, 0, 0, 0, tag);
      if (rc !== 0) throw new CryptoError("secretstream push failed");
      o += len + STREAM_ABYTES;
      off += len;
    } while (off < n);
    const produced = o - this.outPtr;
    raw._crypto_hash_sha256_update(this.ct, this.outPtr, produced, 0);
    return produced;
  }

  digests() {
    const raw = lib.libsodium;
    raw._crypto_hash_sha256_final(this.pt, this.tmp);
    const plain = toHex(this.heap.slice(this.tmp, this.tmp + 32));
    raw._crypto_hash_sha256_final(this.ct, this.tmp);
    return [plain, toHex(this.heap.slice(this.tmp, this.tmp + 32))];
  }

  wipeInput() {
    this.heap.fill(0, this.inPtr, this.inPtr + this._inBytes);
  }

  destroy() {
    if (this._base) {
      this.heap.fill(0, this._base, this._base + this._total);
      lib.libsodium._free(this._base);
      this._base = 0;
    }
  }
}

export class BlobEncryptor {
  constructor(key, blob, opts = {}) {
    this._setup(blob, opts);
    try {
      this._engine.init(key);
    } catch (exc) {
      this.destroy();
      throw exc;
    }
  }

  /**
   * Continue an upload another page began (uploadjournal.js): `saved` = {prefix, point} as the
   * earlier encryptor gave them (prefix, and a request's `resumeFrom`), `received` = the
   * ciphertext bytes the server holds. The file's first point.plainOffset bytes are hashed again
   * and must be the ones hashed before (else IntegrityError: another file, or the file changed);
   * the stream is then encrypted from the point to `received` again without handing anything
   * out (the same bytes as before: same state, same plaintext), and requests go on from there.
   * The stream on the server ends byte for byte as a one-go upload's.
   */
  static async resume(blob, saved, received, opts = {}) {
    const enc = Object.create(BlobEncryptor.prototype);
    enc._setup(blob, opts);
    try {
      const { prefix, point } = saved;
      const { plainOffset, cipherOffset } = point;
      if (!Number.isSafeInteger(plainOffset) || plainOffset % CHUNK_SIZE || plainOffset > enc._size ||
          !Number.isSafeInteger(received) || cipherOffset > received || received > enc._ciphertextSize ||
          cipherOffset !== (plainOffset ? STREAM_PREFIX_BYTES + plainOffset + (plainOffset / CHUNK_SIZE) * STREAM_ABYTES : 0)) {
        throw new CryptoError("this upload cannot be resumed from what was saved: start it again");
      }
      const engine = enc._engine;
      engine.restore(prefix, point.state);
      engine.first = cipherOffset === 0;
      // The bytes already sent must come from this very file.
      for (let pos = 0; pos < plainOffset; pos += enc._readBytes) {
        const end = Math.min(pos + enc._readBytes, plainOffset);
        engine.scratchUpdate(await enc._startRead(pos, end).promise, pos === 0);
      }
      const sent = plainOffset ? engine.scratchDigest() : null;
      if (plainOffset && sent !== engine.peekDigest(engine.pt)) {
        throw new IntegrityError("this file is not the one whose upload stopped (its first part differs)");
      }
      engine.wipeInput();
      enc._readPos = plainOffset;
      enc._produced = cipherOffset;
      enc._point = { plainOffset, cipherOffset, state: point.state.slice() };
      enc._requests = new RequestLedger(enc._ciphertextSize, received);
      for (let skip = received - cipherOffset; skip > 0;) {
        if (enc._carryLen() === 0) await enc._encryptSlice();
        const take = Math.min(enc._carryLen(), skip);
        enc._carryPos += take;
        skip -= take;
      }
      return enc;
    } catch (exc) {
      enc._error = exc;
      enc.destroy();
      throw exc;
    }
  }

  /**
   * opts.readBytes: the slice size. opts.onPlaintext(start, bytes, final): someone else hashes the
   * plaintext (PlaintextHasher in another Worker, on the second core): each slice is handed to it,
   * in order, once encrypted (it owns the bytes and zeroes them); this encryptor then leaves the
   * plaintext hash state of its resume points as it was at the start (the hasher's state at the
   * point's plainOffset goes there) and its plaintextSha256 null.
   */
  _setup(blob, { readBytes = DEFAULT_READ_BYTES, onPlaintext = null } = {}) {
    need();
    if (!blob || typeof blob.slice !== "function" || !Number.isSafeInteger(blob.size)) {
      throw new TypeError("blob must be a Blob or File");
    }
    if (!Number.isSafeInteger(readBytes) || readBytes < CHUNK_SIZE || readBytes % CHUNK_SIZE || readBytes > 16 * 1024 * 1024) {
      throw new TypeError("readBytes must be a multiple of CHUNK_SIZE, at most 16 MiB");
    }
    this._readBytes = readBytes;
    this._blob = blob;
    this._size = blob.size;
    this._ciphertextSize = ciphertextSize(blob.size);
    this._engine = new StreamEngine(readBytes);
    this._onPlaintext = onPlaintext;
    this._engine.hashPlaintext = !onPlaintext;
    this._readPos = 0; // plaintext offset of the next slice to read
    this._readAhead = null; // {start, end, promise} of the next slice
    this._produced = 0; // ciphertext bytes the engine has written (handed out or in the carry)
    this._carryPos = 0; // the carry: ciphertext in the engine's output buffer not yet handed out
    this._carryEnd = 0;
    this._point = null; // where the slice in the carry began: {plainOffset, cipherOffset, state}
    this._requests = new RequestLedger(this._ciphertextSize);
    this._done = false; // every ciphertext byte has been produced
    this._busy = false;
    this._error = null;
    this.plaintextSha256 = null;
    this.ciphertextSha256 = null;
  }

  /** Plaintext size in bytes. */
  get size() {
    return this._size;
  }

  /** Total ciphertext size in bytes (known up front). */
  get ciphertextSize() {
    return this._ciphertextSize;
  }

  /** The 28 bytes the stream starts with (magic and secretstream header): keep them to resume. */
  get prefix() {
    return this._engine.prefix.slice();
  }

  /** Ciphertext bytes the server has acknowledged. */
  get acknowledged() {
    return this._requests.acknowledged;
  }

  /**
   * The unacknowledged request {offset, bytes, last, resumeFrom}, or null. Re-send it after a
   * dropped connection. `resumeFrom` (on the request as next() made it) is a point at or before
   * the request's end from which BlobEncryptor.resume() continues: keep it (sealed: it is as
   * secret as the key) once the server acknowledged the whole request.
   */
  get pending() {
    return this._requests.pending;
  }

  /** True once the last request has been produced (hashes are then set). */
  get done() {
    return this._done && this._carryLen() === 0;
  }

  /** True once every ciphertext byte has been acknowledged. */
  get complete() {
    return this._requests.complete;
  }

  /**
   * The next request: up to `maxBytes` ciphertext bytes following the last one
   * handed out. Every request but the last is exactly maxBytes long. Returns
   * null when everything has been handed out. Refuses while a request is
   * pending (re-send `pending`, or ack() it, first). With `into` (a Uint8Array
   * of at least maxBytes), the request's bytes are a view of it.
   */
  async next(maxBytes, { into = null } = {}) {
    if (this._error) throw new CryptoError("this encryptor failed earlier; start a new upload", { cause: this._error });
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new TypeError("maxBytes must be a positive integer");
    if (this._busy) throw new CryptoError("next() is already running");
    this._requests.requireIdle();
    const remaining = this._ciphertextSize - this._requests.produced;
    if (remaining === 0) return null;
    const n = Math.min(maxBytes, remaining);
    // `into`: a buffer to write the request into (reused from request to request: no garbage per request)
    const out = into instanceof Uint8Array && into.length >= n ? into.subarray(0, n) : new Uint8Array(n);
    let filled = 0;
    this._busy = true;
    try {
      while (filled < n) {
        if (this._carryLen() === 0) await this._encryptSlice();
        const take = Math.min(this._carryLen(), n - filled);
        const from = this._engine.outPtr + this._carryPos;
        out.set(this._engine.heap.subarray(from, from + take), filled);
        filled += take;
        this._carryPos += take;
      }
    } catch (exc) {
      this._error = exc;
      this.destroy();
      throw exc;
    } finally {
      this._busy = false;
    }
    const req = this._requests.hand(out);
    req.resumeFrom = { ...this._point, state: this._point.state.slice() };
    return req;
  }

  /** The server holds the ciphertext up to byte `upTo`: see RequestLedger.ack. */
  ack(upTo = this._requests.produced) {
    this._requests.ack(upTo);
  }

  /**
   * Convenience for uploads that need no resumption: yields successive
   * requests of `requestBytes`, acknowledging each when the consumer asks
   * for the next.
   */
  async *requests(requestBytes) {
    for (;;) {
      const req = this._requests.pending ?? (await this.next(requestBytes));
      if (req === null) return;
      yield req;
      if (this._requests.pending === req) this.ack();
    }
  }

  /** Zero and free all key material; the encryptor is unusable afterwards. */
  destroy() {
    if (this._engine) this._engine.destroy();
    this._readAhead = null;
    if (this._point) wipe(this._point.state);
    if (!this._error && !this.complete) this._error = new CryptoError("encryptor destroyed");
  }

  _carryLen() {
    return this._carryEnd - this._carryPos;
  }

  _startRead(start, end = Math.min(start + this._readBytes, this._size)) {
    const promise = this._blob
      .slice(start, end)
      .arrayBuffer()
      .then((buf) => {
        if (buf.byteLength !== end - start) throw new CryptoError("the file changed while it was being read");
        return new Uint8Array(buf);
      });
    promise.catch(() => {}); // observed when awaited; avoid an unhandled-rejection report meanwhile
    return { start, end, promise };
  }

  async _encryptSlice() {
    if (this._done) throw new CryptoError("internal error: read past the end of the stream");
    const read = this._readAhead ?? this._startRead(this._readPos);
    this._readAhead = null;
    const data = await read.promise;
    if (this._error) throw this._error; // destroyed meanwhile
    this._readPos = read.end;
    // overlap reading the next slice with encrypting this one
    if (read.end < this._size) this._readAhead = this._startRead(read.end);
    if (this._point) wipe(this._point.state);
    this._point = { plainOffset: read.start, cipherOffset: this._produced, state: this._engine.exportState() };
    const final = read.end === this._size; // a full last chunk is final too, as in encrypt_chunks
    const produced = this._engine.encrypt(data, final);
    if (this._onPlaintext) this._onPlaintext(read.start, data, final);
    else data.fill(0);
    this._carryPos = 0;
    this._carryEnd = produced;
    this._produced += produced;
    if (final) {
      this._done = true;
      [this.plaintextSha256, this.ciphertextSha256] = this._engine.digests();
      if (this._onPlaintext) this.plaintextSha256 = null;
      this._engine.wipeInput();
    }
  }
}

/**
 * The plaintext's SHA-256 for a BlobEncryptor with onPlaintext, in another thread: update() with
 * the slices in order; snapshot() is the state (SHA256_STATE_BYTES, the layout a resume point's
 * state holds after the secretstream's) at the current offset; a resumed hasher starts from one.
 */
export class PlaintextHasher {
  constructor(state = null, bufferBytes = 1 << 20) {
    const raw = need().libsodium;
    this._bufBytes = bufferBytes;
    this._base = raw._malloc(112 + 32 + bufferBytes);
    if (!this._base) throw new CryptoError("out of WebAssembly memory");
    this._st = this._base;
    this._out = this._base + 112;
    this._in = this._out + 32;
    if (state) this.heap.set(u8(state, "hash state", SHA256_STATE_BYTES), this._st);
    else raw._crypto_hash_sha256_init(this._st);
  }

  get heap() {
    return lib.libsodium.HEAPU8;
  }

  snapshot() {
    return this.heap.slice(this._st, this._st + SHA256_STATE_BYTES);
  }

  update(data) {
    sha256HeapUpdate(this._st, this._in, this._bufBytes, data);
  }

  hexdigest() {
    lib.libsodium._crypto_hash_sha256_final(this._st, this._out);
    return toHex(this.heap.slice(this._out, this._out + 32));
  }

  destroy() {
    if (this._base) {
      this.heap.fill(0, this._base, this._base + 144 + this._bufBytes);
      lib.libsodium._free(this._base);
      this._base = 0;
    }
  }
}

/** The secretstream state's and the two hash states' places in a resume point's state. */
export const RESUME_STATE_LAYOUT = { plainHash: SECRETSTREAM_STATE_BYTES, hashBytes: SHA256_STATE_BYTES };

/**
 * Incremental decryption, as StreamDecryptor in vault/crypto.py: feed()
 * ciphertext in pieces of any size and get the plaintext available so far;
 * finish() raises IntegrityError if the stream ended without its final
 * record. Truncation, reordering, alteration and appended data all raise
 * IntegrityError; after an error the decryptor refuses further use.
 * Also computes the plaintext's size and SHA-256 (compare them with the
 * manifest's).
 */
export class StreamDecryptor {
  constructor(key) {
    need();
    this._key = u8(key, "key", KEY_BYTES).slice();
    this._state = null;
    this._prefix = new Uint8Array(STREAM_PREFIX_BYTES);
    this._prefixLen = 0;
    this._record = new Uint8Array(STREAM_RECORD_BYTES);
    this._recordLen = 0;
    this._finished = false;
    this._error = null;
    this._hash = new Sha256();
    this.plaintextSize = 0;
    this.plaintextSha256 = null; // hex, after finish()
  }

  feed(data) {
    this._check();
    if (data instanceof ArrayBuffer) data = new Uint8Array(data);
    u8(data, "ciphertext");
    try {
      if (this._finished && data.length) throw new IntegrityError("data after the end of the stream: the file was extended");
      let pos = 0;
      if (this._state === null) {
        const take = Math.min(STREAM_PREFIX_BYTES - this._prefixLen, data.length);
        this._prefix.set(data.subarray(0, take), this._prefixLen);
        this._prefixLen += take;
        pos = take;
        if (this._prefixLen < STREAM_PREFIX_BYTES) return new Uint8Array(0);
        this._start();
      }
      const out = [];
      // Every record is full-size except the last, so a full buffer is a
      // record; a shorter remainder waits for finish().
      while (pos < data.length) {
        if (this._finished) throw new IntegrityError("data after the end of the stream: the file was extended");
        const take = Math.min(STREAM_RECORD_BYTES - this._recordLen, data.length - pos);
        this._record.set(data.subarray(pos, pos + take), this._recordLen);
        this._recordLen += take;
        pos += take;
        if (this._recordLen === STREAM_RECORD_BYTES) {
          out.push(this._pull(this._record));
          this._recordLen = 0;
        }
      }
      return out.length === 1 ? out[0] : concat(...out);
    } catch (exc) {
      this._fail(exc);
      throw exc;
    }
  }

  finish() {
    this._check();
    try {
      if (this._state === null && !this._finished) throw new IntegrityError("the encrypted file is truncated (no header)");
      let out = new Uint8Array(0);
      if (this._recordLen) {
        out = this._pull(this._record.subarray(0, this._recordLen));
        this._recordLen = 0;
      }
      if (!this._finished) throw new IntegrityError("the encrypted file is truncated (no final chunk)");
      if (this.plaintextSha256 === null) this.plaintextSha256 = this._hash.hexdigest();
      this._releaseState();
      return out;
    } catch (exc) {
      this._fail(exc);
      throw exc;
    }
  }

  /**
   * Decrypt a whole source: a Blob (read in slices), a ReadableStream (e.g. a
   * fetch() response body), or an (async) iterable of Uint8Array/ArrayBuffer.
   * Yields plaintext pieces; ends with finish(), so a truncated source throws.
   */
  async *decrypt(source, { sliceBytes = 16 * STREAM_RECORD_BYTES } = {}) {
    for await (const piece of iterateSource(source, sliceBytes)) {
      const out = this.feed(piece);
      if (out.length) yield out;
    }
    const tail = this.finish();
    if (tail.length) yield tail;
  }

  /** Zero and free key material. */
  destroy() {
    if (!this._error && this.plaintextSha256 === null) this._error = new CryptoError("decryptor destroyed");
    this._releaseState();
    this._hash.destroy();
    wipe(this._key);
    wipe(this._record);
  }

  _check() {
    if (this._error) throw new IntegrityError("this decryptor failed earlier", { cause: this._error });
  }

  _fail(exc) {
    this._error = exc;
    this._releaseState();
    wipe(this._key);
    wipe(this._record);
  }

  _start() {
    const s = lib;
    for (let i = 0; i < STREAM_MAGIC.length; i++) {
      if (this._prefix[i] !== STREAM_MAGIC[i]) throw new IntegrityError("not a vault content stream");
    }
    this._state = s.crypto_secretstream_xchacha20poly1305_init_pull(this._prefix.subarray(STREAM_MAGIC.length), this._key);
    wipe(this._key);
  }

  _pull(record) {
    if (this._finished) throw new IntegrityError("data after the end of the stream: the file was extended");
    const s = lib;
    let r;
    try {
      r = s.crypto_secretstream_xchacha20poly1305_pull(this._state, record, null);
    } catch (exc) {
      throw new IntegrityError("the encrypted file was altered or is corrupt", { cause: exc });
    }
    if (!r) throw new IntegrityError("the encrypted file was altered or is corrupt");
    if (r.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL) this._finished = true;
    else if (r.tag !== s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) throw new IntegrityError("unexpected stream tag");
    this._hash.update(r.message);
    this.plaintextSize += r.message.length;
    return r.message;
  }

  _releaseState() {
    if (this._state !== null) {
      releaseStreamState(this._state);
      this._state = null;
    }
  }
}

async function* iterateSource(source, sliceBytes) {
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    for (let start = 0; start < source.size; start += sliceBytes) {
      const end = Math.min(start + sliceBytes, source.size);
      const buf = await source.slice(start, end).arrayBuffer();
      if (buf.byteLength !== end - start) throw new CryptoError("the file changed while it was being read");
      yield new Uint8Array(buf);
    }
    return;
  }
  if (source && typeof source.getReader === "function") {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value instanceof ArrayBuffer ? new Uint8Array(value) : value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (source && (typeof source[Symbol.asyncIterator] === "function" || typeof source[Symbol.iterator] === "function")) {
    for await (const piece of source) yield piece instanceof ArrayBuffer ? new Uint8Array(piece) : piece;
    return;
  }
  throw new TypeError("source must be a Blob, a ReadableStream or an iterable of Uint8Array");
}
