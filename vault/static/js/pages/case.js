import { api } from "../api.js";
import { boot } from "../app.js";
import { caseKeys, newKeyVersion } from "../casekeys.js";
import { me } from "../context.js";
import * as vc from "../crypto.js";
import { $, el } from "../dom.js";
import { UserError } from "../errors.js";
import { guard, status } from "../feedback.js";
import { fmtBytes, fmtDate, t } from "../i18n.js";
import { fingerprintOf, keyChange, pin } from "../pinning.js";

await boot();
const caseId = document.body.dataset.caseId;
let kase = null;
let candidate = null;

async function load() {
  kase = await api("GET", `/cases/${caseId}`);
  $("#case-title").textContent = `${kase.reference} — ${kase.title}`;
  document.title = `${kase.reference} · ${document.title}`;
  $("#case-meta").textContent = t("Opened {date} · key version {v}", { date: fmtDate(kase.created_at), v: kase.key_version });
  renderMembers();
  showKeyChanges(kase.members.filter((m) => m.id !== me.id));
  const { items } = await api("GET", `/cases/${caseId}/items`);
  const list = $("#item-list");
  list.replaceChildren();
  list.setAttribute("aria-busy", "false");
  if (!items.length) {
    list.append(el("p", { text: t("No evidence yet. Use “Add evidence”.") }));
    return;
  }
  const ul = el("ul", { class: "list" });
  for (const it of items) {
    const m = it.metadata || {};
    ul.append(el("li", { "data-item-id": it.id },
      el("a", { href: `/items/${it.id}`, class: "item-link" }, m.title || it.id),
      it.attached_to ? el("span", { class: "badge", text: t("attached") }) : null,
      el("div", { class: "meta", text: `${labelOf(it.evidence_type)} · ${fmtBytes(it.blob_size)} · ${it.uploader.username || ""} · ${fmtDate(it.created_at)}` })));
  }
  list.append(ul);
}

function labelOf(code) {
  const opt = document.querySelector(`#et-labels option[value="${CSS.escape(code)}"]`);
  return opt ? opt.textContent : code;
}

/** Colleagues whose keys differ from the ones pinned: old and new fingerprint, and the way to accept. */
function showKeyChanges(users) {
  const list = $("#key-change-list");
  list.replaceChildren();
  for (const u of users) {
    const change = keyChange(u);
    if (!change) continue;
    const accept = el("button", { type: "button", "data-accept": u.username },
      t("I compared the new fingerprint in person — accept it"));
    accept.addEventListener("click", guard(async () => {
      pin(u, { acceptChange: true });
      status(t("{name}'s new keys are accepted in this browser.", { name: u.username }));
      await load();
    }));
    list.append(el("li", { "data-user": u.username }, el("strong", { text: u.username }),
      el("dl", { class: "kv" },
        el("dt", { text: t("Fingerprint you accepted before") }), el("dd", { class: "fingerprint old-fpr", text: change.old }),
        el("dt", { text: t("New fingerprint") }), el("dd", { class: "fingerprint new-fpr", text: change.now })),
      accept));
  }
  $("#key-changes").hidden = !list.children.length;
}

function renderMembers() {
  const ul = $("#member-list");
  ul.replaceChildren();
  for (const m of kase.members) {
    const li = el("li", {}, el("strong", { text: m.username }), ` (${roleName(m.role)}) `,
      el("span", { class: "fingerprint", text: fingerprintOf(m.box_public, m.sign_public) }));
    if (me.role === "lawyer" && m.id !== me.id && kase.members.length > 1) {
      li.append(" ", el("button", { type: "button", class: "secondary small", onclick: guard(() => removeMember(m)) },
        t("Remove")));
    }
    ul.append(li);
  }
}

function roleName(role) {
  return { lawyer: t("lawyer"), medic: t("medic"), admin: t("admin") }[role] || role;
}

async function removeMember(m) {
  if (!confirm(t("Remove {name}? The case key is changed for new evidence; they keep what they already downloaded.", { name: m.username }))) return;
  status(t("Making a new case key…"));
  await caseKeys(kase); // checks membership and trust before rotating
  const remaining = kase.members.filter((x) => x.id !== m.id);
  const { caseKey, body } = await newKeyVersion(caseId, kase.key_version + 1, remaining);
  vc.wipe(caseKey);
  await api("DELETE", `/cases/${caseId}/members/${m.id}`, { rotation: body });
  status(t("{name} was removed and the case key was changed.", { name: m.username }));
  await load();
}

const form = $("#member-form");
if (form) {
  form.addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const username = $("#member-username").value.trim().toLowerCase();
    if (!username) return;
    candidate = await api("GET", `/users/${encodeURIComponent(username)}`);
    if (keyChange(candidate)) {
      showKeyChanges([candidate]);
      $("#key-changes-title").focus();
      candidate = null;
      return;
    }
    pin(candidate); // pinned on first sight
    $("#member-fingerprint").textContent = fingerprintOf(candidate.box_public, candidate.sign_public);
    $("#member-compared").checked = false;
    $("#member-confirm").hidden = false;
    $("#member-compared").focus();
  }));
  $("#member-grant").addEventListener("click", guard(async () => {
    if (!candidate) return;
    if (!$("#member-compared").checked) {
      $("#member-compared").focus();
      throw new UserError(t("Tick the box once you have compared the fingerprint."));
    }
    status(t("Sealing the case keys to {name}…", { name: candidate.username }));
    kase = await api("GET", `/cases/${caseId}`);
    const keys = await caseKeys(kase);
    const sealed = {};
    for (const [v, k] of keys) sealed[String(v)] = vc.toBase64(vc.seal(vc.fromBase64(candidate.box_public), k));
    await api("POST", `/cases/${caseId}/members`, { username: candidate.username, sealed });
    status(t("{name} can now open this case.", { name: candidate.username }));
    $("#member-confirm").hidden = true;
    $("#member-username").value = "";
    candidate = null;
    await load();
  }));
}

guard(load)();
