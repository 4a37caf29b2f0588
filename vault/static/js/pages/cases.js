import { api } from "../api.js";
import { boot } from "../app.js";
import { me } from "../context.js";
import * as vc from "../crypto.js";
import { $, el } from "../dom.js";
import { UserError } from "../errors.js";
import { guard, status } from "../feedback.js";
import { fmtDate, fmtNumber, t } from "../i18n.js";
import { meAsMember, nowText } from "../casekeys.js";
import { recoveryPublic } from "../pinning.js";
import { emptyState, makeEntry } from "../trust.js";

await boot();

async function showCases() {
  const list = $("#case-list");
  const { cases } = await api("GET", "/cases");
  list.replaceChildren();
  list.setAttribute("aria-busy", "false");
  if (!cases.length) {
    list.append(el("p", { text: me.role === "lawyer"
      ? t("You have no cases yet. Open one below.")
      : t("You are not a member of any case yet. A lawyer adds you to a case.") }));
    return;
  }
  const ul = el("ul", { class: "list" });
  for (const c of cases) {
    ul.append(el("li", {},
      el("a", { href: `/cases/${c.id}` }, el("strong", { text: c.reference }), " — ", c.title),
      el("div", { class: "meta", text: t("{n} items · opened {date}", { n: fmtNumber(c.items), date: fmtDate(c.created_at) }) })));
  }
  list.append(ul);
}

guard(showCases)();

const form = $("#case-form");
if (form) {
  form.addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const reference = $("#reference").value.trim();
    const title = $("#case-title").value.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/.test(reference)) {
      $("#reference").focus();
      throw new UserError(t("Latin letters, digits and . _ / - only, for example KG-2026-001."));
    }
    if (!title) {
      $("#case-title").focus();
      throw new UserError(t("Give the case a title (no names)."));
    }
    status(t("Making the case key in this browser…"));
    const { keys, member } = await meAsMember();
    // As vault/client/session.py create_case: the browser picks the id so the signed commitment names the case.
    const caseKey = vc.randomKey();
    const check = vc.caseKeyCheck(caseKey);
    const caseId = vc.toHex(vc.randomBytes(16));
    const sealed = { recovery: vc.toBase64(vc.seal(recoveryPublic(), caseKey)),
      [`user:${me.id}`]: vc.toBase64(vc.seal(keys.boxPublic, caseKey)) };
    const signature = vc.toBase64(keys.sign(vc.caseKeyMessage(caseId, 1, check)));
    vc.wipe(caseKey);
    // The membership chain's first entry: I create the case at key version 1 (docs/trust.md).
    const entry = makeEntry(emptyState(caseId), "create", member, 1, check, me.id, keys.signSeed, nowText());
    const region = $("#case-region").value || null;
    const out = await api("POST", "/cases", { id: caseId, reference, title, region,
      key: { version: 1, check, signature, sealed }, entry });
    status(t("Case opened."));
    location.assign(`/cases/${out.id}`);
  }));
}
