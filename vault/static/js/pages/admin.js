import { api } from "../api.js";
import { boot } from "../app.js";
import { me } from "../context.js";
import { $, el } from "../dom.js";
import { guard, status } from "../feedback.js";
import { createInvitation, showPending } from "../certify.js";
import { fmtDate, fmtNumber, localized, roleName, t } from "../i18n.js";
import { auditRow } from "../auditlog.js";
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

let names = new Map(); // user id → user name, for the audit log (never a raw id)

async function users() {
  const { users: rows } = await api("GET", "/admin/users");
  names = new Map(rows.map((u) => [u.id, u.username]));
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

/** Unused, unexpired invitations, each with its role, who made it, when it expires, and a revoke button. */
async function openInvitations() {
  const { invitations: rows } = await api("GET", "/admin/invitations");
  $("#open-invitations").replaceChildren(...rows.map((inv) => {
    const who = inv.created_by ? t("by {name}", { name: inv.created_by }) : t("made on the server machine");
    const what = inv.reset_username ? t("{role}: new keys for {name}", { role: roleName(inv.role), name: inv.reset_username })
      : roleName(inv.role);
    const made = t("made {date}", { date: fmtDate(inv.created_at) });
    return el("li", { "data-invitation": inv.id, "data-role": inv.role },
      el("strong", { text: what }), ` · ${who} · ${made} · `,
      el("span", { text: t("expires {date}", { date: fmtDate(inv.expires_at) }) }), " ",
      el("button", { type: "button", class: "secondary small", "data-revoke": inv.id,
        onclick: guard(async () => {
          if (!confirm(t("Revoke this invitation ({role})? Its code stops working at once.", { role: roleName(inv.role) }))) return;
          await api("DELETE", `/admin/invitations/${inv.id}`);
          status(t("The invitation is revoked: its code no longer works."));
          await openInvitations();
          await audit();
        }) }, t("Revoke")));
  }));
  $("#open-inv-none").hidden = rows.length > 0;
}

$("#invite-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  await createInvitation($("#invite-role").value);
  await showPending();
  await openInvitations();
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
  const cases = new Map(); // case id → reference, from the log's own case_created entries
  for (const e of entries) {
    if (e.action === "case_created") cases.set(e.object.slice("case:".length), detailsOf(e).reference);
  }
  $("#audit tbody").replaceChildren(...entries.slice(-200).reverse().map((e) => {
    const cells = auditRow(e, detailsOf(e), { names, cases });
    return el("tr", {}, el("td", { text: String(e.seq) }), el("td", { text: fmtDate(e.time) }),
      el("td", { text: cells.actor }), el("td", { text: cells.action, title: e.action }), el("td", { text: cells.object }));
  }));
  labelCells($("#audit"));
}

function detailsOf(e) {
  try {
    return JSON.parse(e.details || "{}") || {};
  } catch {
    return {};
  }
}

await guard(users)(); // first: the audit log names people from this list
guard(openInvitations)();
guard(showPending)();
guard(plugins)();
guard(audit)();
