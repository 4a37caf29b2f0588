// The case page's membership: the members as the signed chain names them, adding a colleague
// (certified, or compared in person with the tick), removing one (a new key version sealed to
// the remaining, trusted members) and adopting a case from before chains. Every change is a
// chain entry signed here (docs/trust.md); every fingerprint shown is computed here.
import { api } from "./api.js";
import { caseKeys, caseState, chainMembers, meAsMember, newKeyVersion, nowText } from "./casekeys.js";
import { me } from "./context.js";
import * as vc from "./crypto.js";
import { $, el } from "./dom.js";
import { UserError } from "./errors.js";
import { guard, status } from "./feedback.js";
import { roleName, t } from "./i18n.js";
import { acceptInPerson, fingerprintOf, trustOf, trustUser } from "./pinning.js";
import { emptyState, makeEntry, memberOf, statementId } from "./trust.js";

const caseId = document.body.dataset.caseId;

/** A badge saying how this browser trusts a user's current keys. */
function trustBadge(user) {
  const tr = trustOf(user);
  if (tr.certified) return el("span", { class: "badge ok", text: t("certified") });
  if (tr.accepted) return el("span", { class: "badge ok", text: t("compared in person") });
  return el("span", { class: "badge bad", text: t("not verified") });
}

export function renderMembers(kase, state, reload) {
  const ul = $("#member-list");
  ul.replaceChildren();
  if (!state) return;
  for (const { member: m, user } of chainMembers(kase, state)) {
    const li = el("li", { "data-user": m.username }, el("strong", { text: m.username }), ` (${roleName(user.role)}) `,
      trustBadge(user), el("div", { class: "fingerprint", text: fingerprintOf(user.box_public, user.sign_public) }));
    if (me.role === "lawyer" && m.user_id !== me.id && state.members.size > 1) {
      li.append(" ", el("button", { type: "button", class: "secondary small", "data-remove": m.username,
        onclick: guard(() => removeMember(m, reload)) }, t("Remove")));
    }
    ul.append(li);
  }
}

async function removeMember(m, reload) {
  if (!confirm(t("Remove {name}? The case key is changed for new evidence; they keep what they already downloaded.", { name: m.username }))) return;
  status(t("Making a new case key…"));
  const kase = await api("GET", `/cases/${caseId}`);
  const state = caseState(kase);
  const remaining = chainMembers(kase, state).filter((x) => x.member.user_id !== m.user_id).map((x) => x.user);
  const version = state.keyVersion + 1;
  const { caseKey, check, body } = await newKeyVersion(caseId, version, remaining); // refuses an untrusted member
  vc.wipe(caseKey);
  const listed = (kase.members || []).find((u) => u.id === m.user_id);
  const { keys } = await meAsMember();
  const entry = makeEntry(state, "remove", listed ? memberOf(listed) : m, version, check, me.id, keys.signSeed, nowText());
  await api("DELETE", `/cases/${caseId}/members/${m.user_id}`, { rotation: body, entry });
  status(t("{name} was removed and the case key was changed.", { name: m.username }));
  await reload();
}

let candidate = null;

async function lookUp(ev) {
  ev.preventDefault();
  const username = $("#member-username").value.trim().toLowerCase();
  if (!username) return;
  candidate = null;
  const user = await api("GET", `/users/${encodeURIComponent(username)}`);
  const tr = trustOf(user);
  $("#member-fingerprint").textContent = tr.fingerprint; // from the very keys that would be sealed to
  $("#member-certified").hidden = !tr.certified;
  if (tr.certified) {
    $("#member-certified").textContent = t("Certified by your organisation ({path}).", { path: tr.certified.path.join(" ← ") });
  }
  $("#member-uncertified").hidden = Boolean(tr.certified);
  $("#member-uncertified-why").textContent = tr.failure ? t(tr.failure.msgid || tr.failure.message, tr.failure.params) : "";
  $("#member-compared").checked = false;
  $("#member-confirm").hidden = false;
  candidate = user;
  (tr.certified ? $("#member-grant") : $("#member-compared")).focus();
}

async function grant(reload) {
  if (!candidate) return;
  const user = candidate;
  if (!trustOf(user).certified) {
    if (!$("#member-compared").checked) {
      $("#member-compared").focus();
      throw new UserError(t("Tick the box once you have compared the fingerprint with them in person."));
    }
    acceptInPerson(user); // these exact keys, compared in person
  }
  trustUser(user);
  status(t("Sealing the case keys to {name}…", { name: user.username }));
  const kase = await api("GET", `/cases/${caseId}`);
  const { state, keys } = await caseKeys(kase);
  const sealed = {};
  for (const [v, k] of keys) sealed[String(v)] = vc.toBase64(vc.seal(vc.fromBase64(user.box_public), k));
  const mine = await meAsMember();
  const entry = makeEntry(state, "add", memberOf(user), state.keyVersion, state.checks.get(state.keyVersion), me.id,
    mine.keys.signSeed, nowText());
  await api("POST", `/cases/${caseId}/members`, { username: user.username, sealed, entry });
  status(t("{name} can now open this case.", { name: user.username }));
  $("#member-confirm").hidden = true;
  $("#member-username").value = "";
  candidate = null;
  await reload();
}

export function wireMemberForm(reload) {
  const form = $("#member-form");
  if (!form) return;
  form.addEventListener("submit", guard(lookUp));
  $("#member-grant").addEventListener("click", guard(() => grant(reload)));
}

// ---------------------------------------------------------------- adopting a case from before chains

export function showAdopt(kase, reload) {
  const others = (kase.members || []).filter((u) => u.id !== me.id);
  $("#adopt-list").replaceChildren(...(kase.members || []).map((u) => el("li", { "data-user": u.username },
    el("strong", { text: u.username }), ` (${roleName(u.role)}) `, u.id === me.id ? null : trustBadge(u), " ",
    el("div", { class: "fingerprint", text: fingerprintOf(u.box_public, u.sign_public) }))));
  $("#adopt-compared-row").hidden = others.every((u) => trustOf(u).certified);
  $("#adopt").hidden = false;
  $("#adopt-button").onclick = guard(async () => {
    const uncertified = others.filter((u) => !trustOf(u).certified);
    if (uncertified.length && !$("#adopt-compared").checked) {
      throw new UserError(t("Tick the box once you have compared the fingerprints of those not certified."));
    }
    for (const u of uncertified) acceptInPerson(u);
    for (const u of others) trustUser(u);
    await adopt(kase);
    $("#adopt").hidden = true;
    status(t("The case's membership is now signed."));
    await reload();
  });
}

async function adopt(kase) {
  const { keys, member } = await meAsMember();
  const version = kase.key_version;
  const kv = (kase.key_versions || []).find((x) => x.version === version);
  const sealed = (kase.my_keys || {})[String(version)];
  if (!kv || !sealed) throw new UserError(t("You have no key for this case's current key version. Ask a member to add you again."));
  const key = keys.openSealed(vc.fromBase64(sealed));
  const check = vc.caseKeyCheck(key);
  vc.wipe(key);
  if (check !== kv.check) throw new UserError(t("The case key the server gave you does not match its commitment. Tell your admin."));
  let state = emptyState(kase.id);
  const entries = [makeEntry(state, "create", member, version, check, me.id, keys.signSeed, nowText())];
  state = { ...state, seq: 1, head: statementId(entries[0]) };
  for (const u of kase.members.filter((x) => x.id !== me.id)) {
    const e = makeEntry(state, "add", memberOf(u), version, check, me.id, keys.signSeed, nowText());
    entries.push(e);
    state = { ...state, seq: state.seq + 1, head: statementId(e) };
  }
  await api("POST", `/cases/${kase.id}/chain`, { entries });
}
