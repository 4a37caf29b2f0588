// Whom this browser trusts, per signed-in user, in localStorage (docs/trust.md). The
// organisation (recovery key + root) is pinned at registration, or after sign-in on a new
// device once the person typed its fingerprint from the paper kit or an invitation code. A
// colleague's keys are trusted only if their certificate chain leads to that root, or after
// the two compared fingerprints in person (an acceptance stored with the exact keys). The
// server's "fingerprint" fields are never used: every fingerprint shown is computed here.
import { api } from "./api.js";
import { me } from "./context.js";
import * as vc from "./crypto.js";
import { TrustError, UserError } from "./errors.js";
import { t } from "./i18n.js";
import { Organisation, verifyChain, verifyUser } from "./trust.js";

const store = (what, username = me.username) => `vault.${what}.${username}`;

function load(what, username) {
  try {
    return JSON.parse(localStorage.getItem(store(what, username)) || "null");
  } catch {
    return null;
  }
}

function save(what, value, username) {
  localStorage.setItem(store(what, username), JSON.stringify(value));
}

/** Digits only: "12345 67890 …" and "1234567890…" are the same fingerprint. */
export const digitsOf = (fp) => String(fp || "").replace(/\D/g, "");

/** The fingerprint of public keys given in base64, computed here (never the server's word for it). */
export function fingerprintOf(boxPublic, signPublic) {
  return vc.fingerprint(vc.fromBase64(boxPublic), vc.fromBase64(signPublic));
}

// ---------------------------------------------------------------- the organisation

/** The organisation /auth/params names (refused if the server has no root yet). */
export function orgFromParams(params) {
  if (!params.root_sign_public || !params.recovery_public) {
    throw new UserError(t("This vault has no organisation root yet. Ask the person who holds the paper recovery kit to set it up."));
  }
  return Organisation.fromBase64(params.recovery_public, params.root_sign_public);
}

export function pinOrg(org, username = me.username) {
  save("org", { recovery_public: vc.toBase64(org.recoveryPublic), root_sign_public: org.id }, username);
}

/** The organisation pinned for the signed-in user, or null. */
export function pinnedOrg(username = me.username) {
  const o = load("org", username);
  try {
    return o ? Organisation.fromBase64(o.recovery_public, o.root_sign_public) : null;
  } catch {
    return null;
  }
}

/** The pinned organisation; refuses (nothing is sealed or accepted) while there is none. */
export function requireOrg() {
  const org = pinnedOrg();
  if (!org) {
    throw new UserError(t("This browser has not pinned your organisation yet, so it trusts nobody. Sign out, sign in again and type the organisation fingerprint when asked."));
  }
  return org;
}

/**
 * Pin the organisation the server names now, but only if its fingerprint, computed here,
 * equals the one the person typed (from the paper kit or an invitation code).
 */
export async function pinOrgTyped(typed, username = me.username) {
  const want = digitsOf(typed);
  if (want.length !== 30) throw new UserError(t("Type all 30 digits of the organisation fingerprint."));
  const org = orgFromParams(await api("GET", "/auth/params"));
  if (digitsOf(org.fingerprint) !== want) {
    throw new UserError(t("The organisation fingerprint you typed does not match the one this server gives ({fp}). Nothing was pinned. Check the digits; if they are right, the server is not your organisation's: tell your admin in person.", { fp: org.fingerprint }));
  }
  pinOrg(org, username);
  return org;
}

/** The recovery key cases are sealed to: the pinned organisation's, never the server's word. */
export function recoveryPublic() {
  return requireOrg().recoveryPublic;
}

// ---------------------------------------------------------------- colleagues

function acceptedOf(user) {
  const a = (load("accepted") || {})[user.id];
  return Boolean(a && a.username === user.username && a.box_public === user.box_public && a.sign_public === user.sign_public);
}

/** Record that the person compared these exact keys' fingerprint with `user` in person. */
export function acceptInPerson(user) {
  const all = load("accepted") || {};
  all[user.id] = { username: user.username, box_public: user.box_public, sign_public: user.sign_public,
    at: new Date().toISOString() };
  save("accepted", all);
}

/**
 * How far a user dict from the server can be trusted, without throwing:
 * {certified (verifyUser's answer or null), accepted (compared in person), failure (why not certified)}.
 */
export function trustOf(user, org = requireOrg()) {
  let certified = null;
  let failure = null;
  try {
    certified = verifyUser(user, org);
  } catch (err) {
    failure = err;
  }
  return { certified, accepted: !certified && acceptedOf(user), failure, fingerprint: fingerprintOf(user.box_public, user.sign_public) };
}

/** The user's keys if they are trusted (certified, or compared in person); TrustError saying why not otherwise. */
export function trustUser(user, org = requireOrg()) {
  const tr = trustOf(user, org);
  if (tr.certified || tr.accepted) return tr;
  throw new TrustError(t("{name}'s keys are not certified by your organisation ({reason}) and you have not compared their fingerprint in person. Nothing was sealed to them.",
    { name: user.username, reason: tr.failure ? t(tr.failure.msgid || tr.failure.message, tr.failure.params) : "" }), { translated: true });
}

// ---------------------------------------------------------------- who invited me

export function rememberInviter(username, digits) {
  save("inviter", digitsOf(digits), username);
}

/**
 * Once my own certificate has arrived: its issuer must have the fingerprint my invitation
 * carried (or be the root, for a code made from the paper kit). Forgotten once it matched.
 */
export function checkOwnCertificate(mine) {
  const want = load("inviter");
  const org = pinnedOrg();
  if (!want || !org || !(mine.certificates || []).length) return;
  const c = verifyChain(mine.certificates, org);
  let issuerFp;
  if (mine.certificates.length === 1) {
    issuerFp = org.fingerprint;
  } else {
    const issuer = verifyChain(mine.certificates.slice(1), org);
    issuerFp = vc.fingerprint(issuer.boxPublic, issuer.signPublic);
  }
  if (c.userId !== mine.id || digitsOf(issuerFp) !== want) {
    throw new TrustError(t("Your certificate was signed by someone other than the admin who invited you (their fingerprint was in your invitation). Do not use this account until you have spoken to your admin in person."), { translated: true });
  }
  localStorage.removeItem(store("inviter"));
}
