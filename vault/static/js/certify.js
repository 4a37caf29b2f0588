// The admin page's invitations and certifications (docs/trust.md, "Invitations"). The code is
// made here: its one-time secret S is derived from this admin's own signing seed, so the
// server never sees it. A newcomer binds their keys to S; this page re-derives S, checks the
// binding, and only then signs a certificate for those exact keys. A binding that does not
// match means the keys, name or role are not the ones the newcomer made: never certified.
import { api } from "./api.js";
import { me } from "./context.js";
import * as vc from "./crypto.js";
import { $, el } from "./dom.js";
import { guard, status } from "./feedback.js";
import { fmtDate, roleName, t } from "./i18n.js";
import { makeCode } from "./invitecode.js";
import { userKeys } from "./keys.js";
import { fingerprintOf, requireOrg } from "./pinning.js";
import { certify } from "./trust.js";

export async function createInvitation(role) {
  const org = requireOrg();
  const keys = await userKeys(); // the admin must be unlocked: S comes from their own seed
  const out = await api("POST", "/admin/invitations", { role });
  if (out.role !== role) throw new Error("the server changed the invitation's role");
  const secret = vc.invitationSecret(keys.signSeed, out.id, role);
  const code = makeCode(out.invitation, secret, vc.fingerprint(keys.boxPublic, keys.signPublic), org.fingerprint);
  vc.wipe(secret);
  $("#invite-code").textContent = code;
  $("#invite-role-shown").textContent = roleName(role);
  $("#invite-link").value = `${location.origin}/register#${code}`;
  $("#invite-result").hidden = false;
  $("#invite-link").select();
}

/** Whether the newcomer's binding is the one S gives for the keys, name and role the server lists. */
function bindingMatches(keys, p) {
  if (!p.binding || !p.invitation_id) return false;
  try {
    const secret = vc.invitationSecret(keys.signSeed, p.invitation_id, p.role);
    const want = vc.invitationBinding(secret, p.username, vc.fromBase64(p.box_public), vc.fromBase64(p.sign_public));
    vc.wipe(secret);
    return vc.constantTimeEqual(want, vc.fromBase64(p.binding));
  } catch {
    return false;
  }
}

async function certifyOne(p, reload) {
  const org = requireOrg();
  const keys = await userKeys();
  if (!bindingMatches(keys, p)) throw new Error("binding mismatch");
  const cert = certify(keys.signSeed, org, p.id, p.username, p.role, vc.fromBase64(p.box_public),
    vc.fromBase64(p.sign_public), new Date().toISOString().replace(/\.\d{3}Z$/, "Z"));
  await api("POST", `/admin/users/${p.id}/certificate`, { certificate: cert });
  status(t("{name}'s keys are certified. Colleagues can now add them to cases.", { name: p.username }));
  await reload();
}

function row(p, keys, reload) {
  const fp = el("div", { class: "fingerprint", text: fingerprintOf(p.box_public, p.sign_public) });
  const head = [el("strong", { text: p.username }), ` (${roleName(p.role)}) · ${fmtDate(p.registered_at)} `, fp];
  if (p.invited_by_id === null || p.invited_by_id === undefined) {
    return el("li", { "data-user": p.username }, ...head,
      el("p", { class: "hint" }, t("Invited from the server machine: certify with the paper recovery kit, on a computer that holds it: "),
        el("code", { text: "vault org certify --kit FILE" })));
  }
  if (p.invited_by_id !== me.id) {
    return el("li", { "data-user": p.username }, ...head,
      el("p", { class: "hint", text: t("Invited by {name}: their browser certifies this account.", { name: p.invited_by }) }));
  }
  if (!bindingMatches(keys, p)) {
    return el("li", { "data-user": p.username, class: "mismatch" }, ...head,
      el("p", { class: "warning", role: "alert", text: t("Warning: these keys, name or role are not the ones made with your invitation. The server may have swapped them. Do not certify; talk to the person and invite them again.") }));
  }
  return el("li", { "data-user": p.username }, ...head, " ",
    el("button", { type: "button", class: "small", "data-certify": p.username, onclick: guard(() => certifyOne(p, reload)) },
      t("Certify")));
}

export async function showPending() {
  const { pending } = await api("GET", "/admin/pending");
  const mineToCheck = pending.some((p) => p.invited_by_id === me.id);
  const keys = mineToCheck ? await userKeys() : null;
  $("#pending").replaceChildren(...pending.map((p) => row(p, keys, showPending)));
  $("#pending-none").hidden = pending.length > 0;
}
