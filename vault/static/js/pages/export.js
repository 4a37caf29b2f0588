import { $, api, boot, el, guard, lang, t } from "../app.js";
import { decryptContent, fetchVerified } from "../evidence.js";

await boot();
const caseId = document.body.dataset.caseId;
let record = null; // the case's structured record (sealed item of type case_record), decrypted here

async function caseRecord() {
  if (record) return record;
  const { items } = await api("GET", `/cases/${caseId}/items`);
  const rec = items.filter((i) => i.evidence_type === "case_record").pop();
  if (!rec) return null;
  const { item, manifest, itemKey } = await fetchVerified(rec.id);
  record = JSON.parse(await (await decryptContent(item, manifest, itemKey)).text());
  return record;
}

const show = guard(async () => {
  let out;
  try {
    out = await api("GET", "/exporters");
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      $("#export-unavailable").hidden = false;
      return;
    }
    throw err;
  }
  const list = out.exporters || [];
  if (!list.length) {
    $("#export-unavailable").hidden = false;
    return;
  }
  $("#exporters").replaceChildren(...list.map((x) => {
    const missing = el("ul", { class: "plain" });
    const check = el("button", { type: "button", class: "secondary" }, t("Check what is missing"));
    check.addEventListener("click", guard(async () => {
      const rec = await caseRecord();
      if (!rec) {
        missing.replaceChildren(el("li", { text: t("This case has no case record yet. Upload one (type “Structured case record”) with the command-line client first.") }));
        return;
      }
      const language = (x.languages || []).includes(lang) ? lang : (x.languages || ["en"])[0];
      const res = await api("POST", `/cases/${caseId}/exports/validate`, { exporter: x.name, case_record: rec,
        options: { language }, items: [] });
      const problems = res.problems || [];
      missing.replaceChildren(...(problems.length ? problems.map((p) => el("li", {},
        el("span", { class: p.severity === "missing" ? "badge bad" : "badge", text: p.severity }), " ",
        (p.messages && (p.messages[lang] || p.messages.en)) || p.message, p.path ? el("span", { class: "meta", text: ` (${p.path})` }) : null))
        : [el("li", { text: t("Nothing is missing for this recipient.") })]));
    }));
    return el("li", { "data-exporter": x.name, "data-plugin": x.plugin },
      el("strong", { text: x.label || x.name }), " ", el("span", { class: "meta", text: x.target_body || "" }), el("br"), check, missing);
  }));
});
show();
