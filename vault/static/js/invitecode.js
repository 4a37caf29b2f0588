// The invitation code (docs/trust.md): what an admin's page makes and a newcomer's page reads.
//   vault-invite-v1:<token>:<base64url(S)>:<inviter fingerprint digits>:<organisation fingerprint digits>
// The token is for the server; the secret S and the two fingerprints are not: they travel
// with the person (read aloud, or in the link's fragment, which a browser never sends).
import * as vc from "./crypto.js";

const PREFIX = "vault-invite-v1";

export const digits = (fp) => String(fp || "").replace(/\D/g, "");

export function makeCode(token, secret, inviterFingerprint, orgFingerprint) {
  return [PREFIX, token, vc.toBase64Url(secret), digits(inviterFingerprint), digits(orgFingerprint)].join(":");
}

/** {token, secret (16 bytes), inviter, org (30 digits each)}, or null if `text` is not a code. */
export function parseCode(text) {
  const parts = String(text || "").trim().replace(/\s+/g, "").split(":");
  if (parts.length !== 5 || parts[0] !== PREFIX || !parts[1]) return null;
  let secret;
  try {
    secret = vc.fromBase64Url(parts[2]);
  } catch {
    return null;
  }
  if (secret.length !== 16 || !/^\d{30}$/.test(parts[3]) || !/^\d{30}$/.test(parts[4])) return null;
  return { token: parts[1], secret, inviter: parts[3], org: parts[4] };
}

/** The code in a link's fragment: "#<code>" or "#invite=<code>". */
export function codeFromFragment(hash) {
  const h = decodeURIComponent(String(hash || "").replace(/^#/, ""));
  return h.startsWith("invite=") ? h.slice("invite=".length) : h;
}
