// Trust from people, in the browser: the twin of vault/domain/trust.py (formats in docs/trust.md).
// Certificates tie a colleague's keys to the organisation root pinned at registration; each
// case's membership chain says who its members are and which key version is current. Both
// are signed statements whose payload text is kept exactly as signed, so this module and
// the Python one check the same bytes (tests/web/test_crypto_interop.py).
//
// Only crypto.js is imported, so Node runs this module in the interop tests. Failures are
// TrustFailure: `message` is the English text vault/domain/trust.py gives, `msgid` and
// `params` let the page show it translated (feedback.js).
import * as vc from "./crypto.js";

export const CERT = "cert";
export const ENTRY = "case-entry";
export const MAX_CHAIN = 4;
export const ROLES = Object.freeze(["admin", "lawyer", "medic"]);
const MAX_PAYLOAD = 16384;
const N_ = (msgid) => msgid; // marks a message for extraction; feedback.js translates it

export class TrustFailure extends Error {
  constructor(msgid, params = {}) {
    super(msgid.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m)));
    this.name = "TrustFailure";
    this.code = "TrustFailure";
    this.msgid = msgid;
    this.params = params;
  }
}

// ---------------------------------------------------------------- signed statements

function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

/**
 * JSON text as Python's json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False):
 * keys sorted recursively, no spaces, non-ASCII as is. JSON.stringify escapes the same
 * characters as Python (", \, and controls, \u00xx in lowercase hex). Integers only.
 */
export function canonicalJson(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError("only integers go into a signed statement");
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(byCodePoint);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  throw new TypeError(`cannot put a ${typeof value} into a signed statement`);
}

/** A signed statement {kind, payload, signer, signature} of `body` (a plain object). */
export function makeStatement(kind, body, signSeed) {
  const payload = canonicalJson(body);
  const signature = vc.sign(signSeed, vc.statementMessage(kind, payload));
  return { kind, payload, signer: vc.toBase64(vc.signPublicFromSeed(signSeed)), signature: vc.toBase64(signature) };
}

/** The verified body of a statement and its signer's public key (Uint8Array); TrustFailure otherwise. */
export function openStatement(statement, kind) {
  if (statement === null || typeof statement !== "object" || Array.isArray(statement) || statement.kind !== kind) {
    throw new TrustFailure(N_("not a {kind} statement"), { kind });
  }
  let body;
  let signer;
  try {
    const payload = statement.payload;
    signer = vc.fromBase64(statement.signer);
    const signature = vc.fromBase64(statement.signature);
    if (typeof payload !== "string" || signer.length !== 32 || signature.length !== 64 || [...payload].length > MAX_PAYLOAD) {
      throw new TypeError("malformed");
    }
    vc.verify(signer, vc.statementMessage(kind, payload), signature);
    body = JSON.parse(payload);
  } catch {
    throw new TrustFailure(N_("a {kind} statement is malformed or its signature does not verify"), { kind });
  }
  if (body === null || typeof body !== "object" || Array.isArray(body) || body.kind !== kind || body.v !== 1) {
    throw new TrustFailure(N_("a {kind} statement has an unknown format"), { kind });
  }
  return { body, signer };
}

export function statementId(statement) {
  return vc.statementHash(vc.fromBase64(statement.signature), statement.payload);
}

// ---------------------------------------------------------------- the organisation root

/** What a client pins at registration: the recovery key and the root (Uint8Array each). */
export class Organisation {
  constructor(recoveryPublic, rootSignPublic) {
    if (!(recoveryPublic instanceof Uint8Array) || recoveryPublic.length !== 32
        || !(rootSignPublic instanceof Uint8Array) || rootSignPublic.length !== 32) {
      throw new TypeError("an organisation is two 32-byte public keys");
    }
    this.recoveryPublic = recoveryPublic;
    this.rootSignPublic = rootSignPublic;
  }

  static fromBase64(recoveryPublic, rootSignPublic) {
    return new Organisation(vc.fromBase64(recoveryPublic), vc.fromBase64(rootSignPublic));
  }

  get id() {
    return vc.toBase64(this.rootSignPublic);
  }

  get fingerprint() {
    return vc.orgFingerprint(this.recoveryPublic, this.rootSignPublic);
  }
}

// ---------------------------------------------------------------- certificates

/** A certificate for a user's keys (Uint8Array), signed by an admin (or the root, for an admin). */
export function certify(signSeed, org, userId, username, role, boxPublic, signPublic, issuedAt) {
  if (!ROLES.includes(role)) throw new TrustFailure(N_("unknown role {role}"), { role });
  return makeStatement(CERT, {
    v: 1, kind: CERT, org: org.id, user_id: userId, username, role, box_public: vc.toBase64(boxPublic),
    sign_public: vc.toBase64(signPublic), may_certify: role === "admin", issued_at: issuedAt,
  }, signSeed);
}

function certified(body, issuer) {
  let out;
  try {
    for (const k of ["user_id", "username", "role", "box_public", "sign_public", "may_certify"]) {
      if (!(k in body)) throw new TypeError(k);
    }
    out = { userId: body.user_id, username: body.username, role: body.role, boxPublic: vc.fromBase64(body.box_public),
      signPublic: vc.fromBase64(body.sign_public), mayCertify: body.may_certify === true, issuer };
  } catch {
    throw new TrustFailure(N_("a certificate lacks a field"));
  }
  if (!ROLES.includes(out.role) || out.boxPublic.length !== 32 || out.signPublic.length !== 32) {
    throw new TrustFailure(N_("a certificate has a malformed key or role"));
  }
  return out;
}

const same = (a, b) => a.length === b.length && vc.constantTimeEqual(a, b);

/**
 * Verify [user's certificate, its issuer's, …] up to the pinned root. Returns the user as
 * certified: {userId, username, role, boxPublic, signPublic, mayCertify, issuer, path, fingerprint}.
 */
export function verifyChain(certificates, org) {
  if (!Array.isArray(certificates) || !certificates.length) {
    throw new TrustFailure(N_("no certificate: this person's keys have not been certified by an admin"));
  }
  if (certificates.length > MAX_CHAIN) throw new TrustFailure(N_("the certificate chain is too long"));
  const opened = certificates.map((cert) => {
    const { body, signer } = openStatement(cert, CERT);
    if (body.org !== org.id) {
      throw new TrustFailure(N_("a certificate belongs to another organisation (not the root you pinned)"));
    }
    return certified(body, signer);
  });
  for (let i = 0; i < opened.length; i++) {
    const c = opened[i];
    if (same(c.issuer, org.rootSignPublic)) {
      if (i !== opened.length - 1) throw new TrustFailure(N_("the certificate chain goes on past the root"));
      break;
    }
    const next = opened[i + 1];
    if (!next) throw new TrustFailure(N_("the certificate chain does not end at your organisation's root"));
    if (!same(next.signPublic, c.issuer) || !next.mayCertify || next.role !== "admin") {
      throw new TrustFailure(N_("{name}'s certificate is signed by a key that may not certify"), { name: c.username });
    }
  }
  const first = opened[0];
  return { ...first, path: opened.map((c) => c.username), fingerprint: vc.fingerprint(first.boxPublic, first.signPublic) };
}

/** A user as the server lists them (with "certificates"), checked: the keys are the certified ones. */
export function verifyUser(user, org) {
  const c = verifyChain((user && user.certificates) || [], org);
  if (c.username !== user.username || c.userId !== user.id || vc.toBase64(c.boxPublic) !== user.box_public
      || vc.toBase64(c.signPublic) !== user.sign_public) {
    throw new TrustFailure(N_("the keys the server lists for {name} are not the certified ones"), { name: user.username });
  }
  return c;
}

// ---------------------------------------------------------------- membership chain

/** A case as its verified chain says it is. members: Map user_id → member; checks: Map version → commitment. */
export function emptyState(caseId) {
  return { caseId, seq: 0, head: "", members: new Map(), keyVersion: 0, checks: new Map() };
}

/** The member fields of a user dict as the server lists it. */
export function memberOf(user) {
  return { user_id: user.id, username: user.username, box_public: user.box_public, sign_public: user.sign_public };
}

/** The next entry of a case's chain, signed by `signSeed` (a member of `state`, or the creator). */
export function makeEntry(state, op, member, keyVersion, keyCheck, signerId, signSeed, time) {
  const m = {};
  for (const k of ["user_id", "username", "box_public", "sign_public"]) m[k] = member[k];
  return makeStatement(ENTRY, {
    v: 1, kind: ENTRY, case: state.caseId, seq: state.seq + 1, prev: state.head, op, signer_id: signerId,
    member: m, key_version: keyVersion, key_check: keyCheck, time,
  }, signSeed);
}

function canonicalKey(text) {
  const b = vc.fromBase64(text);
  if (b.length !== 32) throw new TypeError("not a 32-byte key");
  return vc.toBase64(b);
}

/**
 * The state after one more entry, or TrustFailure if it does not follow. The signer must be a
 * member of `state`, signing with the key the chain recorded for them or with one
 * keysOf(user_id) (a Set of base64 keys) vouches for: their current certified key.
 */
export function applyEntry(state, entry, keysOf = null) {
  const { body, signer } = openStatement(entry, ENTRY);
  const seq = state.seq + 1;
  const prev = state.seq;
  if (body.case !== state.caseId || body.seq !== seq || body.prev !== state.head) {
    throw new TrustFailure(N_("entry {seq} of the membership chain does not follow entry {prev}"), { seq, prev });
  }
  const { op, member: m, key_version: version, key_check: check } = body;
  if (m === null || typeof m !== "object" || Array.isArray(m) || !Number.isSafeInteger(version) || typeof check !== "string") {
    throw new TrustFailure(N_("entry {seq} of the membership chain is malformed"), { seq });
  }
  let member;
  try {
    if (typeof m.user_id !== "string" || typeof m.username !== "string") throw new TypeError("names");
    member = { user_id: m.user_id, username: m.username, box_public: canonicalKey(m.box_public),
      sign_public: canonicalKey(m.sign_public) };
  } catch {
    throw new TrustFailure(N_("entry {seq} of the membership chain names a member badly"), { seq });
  }
  const members = new Map(state.members);
  const checks = new Map(state.checks);
  const signerId = body.signer_id;
  const signerKey = vc.toBase64(signer);
  if (op === "create") {
    if (seq !== 1 || version < 1 || signerKey !== member.sign_public || signerId !== member.user_id) {
      throw new TrustFailure(N_("the membership chain does not start with its creator"));
    }
    members.set(member.user_id, member);
    checks.set(version, check);
  } else {
    const known = typeof signerId === "string" ? members.get(signerId) : undefined;
    const vouched = known && keysOf ? keysOf(signerId) || new Set() : new Set();
    if (!known || (signerKey !== known.sign_public && !vouched.has(signerKey))) {
      throw new TrustFailure(N_("entry {seq} of the membership chain is signed by someone who was not a member"), { seq });
    }
    if (op === "add") {
      if (members.has(member.user_id) || version !== state.keyVersion || check !== state.checks.get(version)) {
        throw new TrustFailure(N_("entry {seq} adds a member inconsistently"), { seq });
      }
      members.set(member.user_id, member);
    } else if (op === "remove") {
      if (!members.has(member.user_id) || version !== state.keyVersion + 1) {
        throw new TrustFailure(N_("entry {seq} removes a member inconsistently"), { seq });
      }
      members.delete(member.user_id);
      if (!members.size) throw new TrustFailure(N_("entry {seq} leaves the case with no member"), { seq });
      checks.set(version, check);
    } else {
      throw new TrustFailure(N_("entry {seq} of the membership chain has an unknown operation"), { seq });
    }
  }
  return { caseId: state.caseId, seq, head: statementId(entry), members,
    keyVersion: op !== "add" ? version : state.keyVersion, checks };
}

/** Verify a whole chain from its creator; the state it ends in (`ids`: each entry's id, in order). */
export function replay(caseId, entries, keysOf = null) {
  if (!Array.isArray(entries) || !entries.length) {
    throw new TrustFailure(N_("this case has no membership chain (a vault from before chains: a member must adopt it)"));
  }
  let state = emptyState(caseId);
  const ids = [];
  for (const entry of entries) {
    state = applyEntry(state, entry, keysOf);
    ids.push(state.head);
  }
  return { ...state, ids };
}
