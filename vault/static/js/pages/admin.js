import { api } from "../api.js";
import { boot } from "../app.js";
import { me } from "../context.js";
import { $, el } from "../dom.js";
import { guard, status } from "../feedback.js";
import { createInvitation, showPending } from "../certify.js";
import { fmtDate, fmtNumber, localized, roleName, t } from "../i18n.js";
import { fingerprintOf, pinnedOrg, trustOf } from "../pinning.js";

await boot();

/** At phone width the tables show as cards; each cell names its column (CSS shows data-label). */
function labelCells(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const tr of table.querySelectorAll("tbody tr")) [...tr.cells].forEach((td, i) => (td.dataset.label = names[i] || ""));
}

function certBadge(u) {
  const org = pinnedOrg();
  const ok = org && trustOf(u, org).certified;
  return el("span", { class: ok ? "badge ok" : "badge bad", text: ok ? t("certified") : t("not certified") });
}

async function users() {
  const { users: rows } = await api("GET", "/admin/users");
  $("#users tbody").replaceChildren(...rows.map((u) => {
    const action = u.id === me.id ? el("span", { class: "hint", text: t("(you)") })
      : el("button", { type: "button", class: "secondary small", "data-user": u.username,
        onclick: guard(async () => {
          const verb = u.disabled ? "enable" : "disable";
          if (verb === "disable" && !confirm(t("Disable {name}? Their sessions end at once.", { name: u.username }))) return;
          await api("POST", `/admin/users/${u.id}/${verb}`);
          status(u.disabled ? t("{name} is enabled again.", { name: u.username }) : t("{name} is disabled.", { name: u.username }));
          await users();
        }) }, u.disabled ? t("Enable") : t("Disable"));
    return el("tr", {}, el("td", { text: u.username }), el("td", { text: roleName(u.role) }),
      el("td", {}, el("div", {}, el("span", { class: "mono", text: fingerprintOf(u.box_public, u.sign_public) }), " ", certBadge(u))),
      el("td", {}, el("span", { class: u.disabled ? "badge bad" : "badge ok", text: u.disabled ? t("disabled") : t("active") })),
      el("td", {}, action));
  }));
  labelCells($("#users"));
}

$("#invite-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  await createInvitation($("#invite-role").value);
  await showPending();
}));

async function plugins() {
  let out;
  try {
    out = await api("GET", "/admin/plugins");
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      $("#plugins-unavailable").hidden = false;
      return;
    }
    throw err;
  }
  const list = out.plugins || [];
  $("#plugins").replaceChildren(...list.map((p) => {
    const box = el("input", { type: "checkbox", id: `plugin-${p.name}`, checked: p.enabled ? true : null,
      disabled: p.always_on || !p.installed ? true : null });
    box.addEventListener("change", guard(async () => {
      await api("POST", `/admin/plugins/${encodeURIComponent(p.name)}`, { enabled: box.checked });
      p.enabled = box.checked;
      status(box.checked ? t("Plugin {name} is on.", { name: p.name }) : t("Plugin {name} is off.", { name: p.name }));
    }));
    return el("li", {}, el("label", { class: "check", for: `plugin-${p.name}` }, box, ` ${p.name}${(p.exporters || []).length ? ` — ${p.exporters.map((e) => localized(e, "label")).join(", ")}` : ""}`));
  }));
}

async function audit() {
  const v = await api("GET", "/admin/audit/verify");
  const box = $("#audit-verify");
  box.className = v.ok ? "verify ok" : "verify bad";
  box.textContent = v.ok
    ? t("The audit chain verifies: {n} entries, {c} signed checkpoints.", { n: fmtNumber(v.entries), c: fmtNumber(v.checkpoints) })
    : t("The audit chain is BROKEN at entry {seq}: {reason}. Tell the coalition's technical contact at once.", { seq: v.first_bad_seq, reason: v.reason });
  const { entries } = await api("GET", "/admin/audit?limit=1000");
  $("#audit tbody").replaceChildren(...entries.slice(-200).reverse().map((e) => el("tr", {},
    el("td", { text: String(e.seq) }), el("td", { text: fmtDate(e.time) }), el("td", { text: e.actor }),
    el("td", { text: e.action }), el("td", { class: "mono", text: e.object }))));
  labelCells($("#audit"));
}

guard(users)();
guard(showPending)();
guard(plugins)();
guard(audit)();
