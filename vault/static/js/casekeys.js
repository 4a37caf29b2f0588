// A case as its signed membership chain says it is (docs/trust.md), and its keys. The chain is
// replayed here from its creator; the members and the current key version come from it, never
// from the server's lists. The furthest point seen is remembered per case, so an older or
// different history is refused. Keys sealed to me are opened and each checked against the
// commitment the chain signed; new key versions are sealed only to trusted chain members.
import { me } from "./context.js";
import * as vc from "./crypto.js";
import { TrustError } from "./errors.js";
import { t } from "./i18n.js";
import { userKeys } from "./keys.js";
import { recoveryPublic, requireOrg, trustOf, trustUser } from "./pinning.js";
import { ENTRY, openStatement, replay } from "./trust.js";

const headsKey = () => `vault.heads.${me.username}`;

function loadHeads() {
  try {
    return JSON.parse(localStorage.getItem(headsKey()) || "{}");
  } catch {
    return {};
  }
}

/** Refuse a history shorter than, or different from, the one this browser verified before; else remember the new end. */
function checkHistory(state) {
  const heads = loadHeads();
  const seen = heads[state.caseId];
  if (seen) {
    if (state.seq < seen.seq) {
      throw new TrustError(t("The server shows an older history of this case: this browser verified {seen} changes to its membership before, the server now shows {now}. Nothing was sealed or uploaded; tell your admin.",
        { seen: seen.seq, now: state.seq }), { translated: true });
    }
    if (state.ids[seen.seq - 1] !== seen.id) {
      throw new TrustError(t("The server shows a different history of this case than the one this browser verified before (at change {seq}). Nothing was sealed or uploaded; tell your admin.",
        { seq: seen.seq }), { translated: true });
    }
  }
  heads[state.caseId] = { seq: state.seq, id: state.head };
  localStorage.setItem(headsKey(), JSON.stringify(heads));
}

/**
 * Replay the case's chain (kase from GET /cases/<id>). A signer re-keyed by a password recovery
 * is accepted with their current certified key. Returns the state with `signKeys`: every
 * signing key the chain ever recorded, user_id → Set (members past and present).
 */
export function caseState(kase) {
  const org = requireOrg();
  const vouched = new Map();
  for (const m of kase.members || []) {
    const tr = trustOf(m, org);
    if (tr.certified) vouched.set(m.id, new Set([m.sign_public]));
  }
  const state = replay(kase.id, kase.chain, (uid) => vouched.get(uid) || new Set());
  checkHistory(state);
  if (!state.members.has(me.id)) {
    throw new TrustError(t("By its signed membership chain you are not a member of this case. Nothing was sealed or uploaded."), { translated: true });
  }
  const signKeys = new Map();
  const note = (uid, key) => signKeys.set(uid, new Set([...(signKeys.get(uid) || []), key]));
  for (const entry of kase.chain) {
    const { body, signer } = openStatement(entry, ENTRY);
    note(body.member.user_id, body.member.sign_public);
    note(body.signer_id, vc.toBase64(signer));
  }
  return { ...state, signKeys, firstVersion: Math.min(...state.checks.keys()) };
}

/** The chain's members, each paired with the server's current record of them (which must be listed). */
export function chainMembers(kase, state) {
  const listed = new Map((kase.members || []).map((m) => [m.id, m]));
  return [...state.members.values()].map((m) => {
    const user = listed.get(m.user_id);
    if (!user) {
      throw new TrustError(t("{name} is a member by the case's signed chain, but the server does not list them. Nothing was sealed; tell your admin.", { name: m.username }), { translated: true });
    }
    return { member: m, user };
  });
}

/**
 * Open my sealed copies of the case's keys. A version the chain names must match the chain's
 * commitment; a version from before the chain (an adopted case) must carry a commitment signed
 * by a key the chain recorded. Returns {state, keys: Map version → key}.
 */
export async function caseKeys(kase, state = caseState(kase)) {
  const mine = await userKeys();
  const signed = new Map((kase.key_versions || []).map((kv) => [kv.version, kv]));
  const chainKeys = new Set([...state.signKeys.values()].flatMap((s) => [...s]));
  const keys = new Map();
  for (const [v, sealed] of Object.entries(kase.my_keys || {})) {
    const version = Number(v);
    let check = state.checks.get(version);
    if (check === undefined) {
      const kv = signed.get(version);
      if (version >= state.firstVersion || !kv || !chainKeys.has(kv.signer_public)) continue; // never used
      vc.verify(vc.fromBase64(kv.signer_public), vc.caseKeyMessage(kase.id, version, kv.check), vc.fromBase64(kv.signature));
      check = kv.check;
    }
    const key = mine.openSealed(vc.fromBase64(sealed));
    if (vc.caseKeyCheck(key) !== check) {
      throw new TrustError(t("The case key (version {v}) the server gave you does not match the commitment in the case's signed history. Nothing was sealed or uploaded; tell your admin.", { v: version }), { translated: true });
    }
    keys.set(version, key);
  }
  return { state, keys };
}

/** The key new evidence goes under: the chain's current version. */
export async function currentCaseKey(kase) {
  const { state, keys } = await caseKeys(kase);
  const key = keys.get(state.keyVersion);
  if (!key) {
    throw new TrustError(t("You have no key for this case's current key version. Ask a member to add you again."), { translated: true });
  }
  return { version: state.keyVersion, key, state };
}

/**
 * A fresh case key version sealed to `recipients` (each trusted: certified or compared in person)
 * and to the pinned organisation's recovery key, with its signed commitment.
 */
export async function newKeyVersion(caseId, version, recipients) {
  const keys = await userKeys();
  const caseKey = vc.randomKey();
  const check = vc.caseKeyCheck(caseKey);
  const sealed = { recovery: vc.toBase64(vc.seal(recoveryPublic(), caseKey)) };
  for (const user of recipients) {
    const to = user.id === me.id ? keys.boxPublic : vc.fromBase64(trustUser(user) && user.box_public);
    sealed[`user:${user.id}`] = vc.toBase64(vc.seal(to, caseKey));
  }
  const signature = vc.toBase64(keys.sign(vc.caseKeyMessage(caseId, version, check)));
  return { caseKey, check, body: { version, check, signature, sealed } };
}

/** Me as a chain member: my public keys computed from my private keys (never the server's copy). */
export async function meAsMember() {
  const keys = await userKeys();
  return { keys, member: { user_id: me.id, username: me.username, box_public: vc.toBase64(keys.boxPublic),
    sign_public: vc.toBase64(keys.signPublic) } };
}

/** The time an entry carries. */
export const nowText = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
