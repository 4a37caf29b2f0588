// A case's keys, as vault/client/session.py handles them: my sealed copies opened and each
// checked against its signed commitment, and new key versions sealed to the members and the
// recovery key when a case is opened or a member removed.
import * as vc from "./crypto.js";
import { TrustError } from "./errors.js";
import { userKeys } from "./keys.js";
import { pin, pinnedSignKeys, recoveryPublic } from "./pinning.js";

/** Open my sealed copies of a case's keys and check each signed commitment. Returns Map version → key. */
export async function caseKeys(kase) {
  const keys = await userKeys();
  for (const m of kase.members) pin(m);
  const pinned = pinnedSignKeys();
  const versions = new Map(kase.key_versions.map((kv) => [kv.version, kv]));
  const out = new Map();
  for (const [v, sealed] of Object.entries(kase.my_keys)) {
    const kv = versions.get(Number(v));
    if (!kv) throw new TrustError(`key version ${v} has no commitment`);
    const key = keys.openSealed(vc.fromBase64(sealed));
    if (vc.caseKeyCheck(key) !== kv.check) throw new TrustError(`case key version ${v} does not match its commitment`);
    if (!(kv.signer_public in pinned)) throw new TrustError(`case key version ${v} was made by a key you have not pinned`);
    vc.verify(vc.fromBase64(kv.signer_public), vc.caseKeyMessage(kase.id, Number(v), kv.check), vc.fromBase64(kv.signature));
    out.set(Number(v), key);
  }
  return out;
}

/** A fresh case key version sealed to the members and the recovery key, with its signed commitment. */
export async function newKeyVersion(caseId, version, members) {
  const keys = await userKeys();
  const caseKey = vc.randomKey();
  const check = vc.caseKeyCheck(caseKey);
  const sealed = { recovery: vc.toBase64(vc.seal(await recoveryPublic(), caseKey)) };
  for (const m of members) {
    pin(m);
    sealed[`user:${m.id}`] = vc.toBase64(vc.seal(vc.fromBase64(m.box_public), caseKey));
  }
  const signature = vc.toBase64(keys.sign(vc.caseKeyMessage(caseId, version, check)));
  return { caseKey, body: { version, check, signature, sealed } };
}
