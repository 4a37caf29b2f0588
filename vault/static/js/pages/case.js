import { api } from "../api.js";
import { boot } from "../app.js";
import { caseState } from "../casekeys.js";
import { latestRecordItem, RECORD_TYPE } from "../caserecord.js";
import { renderMembers, showAdopt, wireMemberForm } from "../casemembers.js";
import { $, el } from "../dom.js";
import { errorText, guard } from "../feedback.js";
import { fmtBytes, fmtDate, fmtNumber, t } from "../i18n.js";
import { showUnfinished } from "../uploadui.js";

await boot();
const caseId = document.body.dataset.caseId;

async function load() {
  const kase = await api("GET", `/cases/${caseId}`);
  $("#case-title").textContent = `${kase.reference} — ${kase.title}`;
  document.title = `${kase.reference} · ${document.title}`;
  let state = null;
  $("#chain-problem").hidden = true;
  $("#adopt").hidden = true;
  if (!(kase.chain || []).length) {
    showAdopt(kase, load);
  } else {
    try {
      state = caseState(kase); // the members and the key version come from the signed chain
    } catch (err) {
      $("#chain-problem-text").textContent = errorText(err);
      $("#chain-problem").hidden = false;
    }
  }
  $("#case-meta").textContent = state
    ? t("Opened {date} · key version {v}", { date: fmtDate(kase.created_at), v: state.keyVersion })
    : fmtDate(kase.created_at);
  $("#member-form-wrap")?.toggleAttribute("hidden", !state);
  renderMembers(kase, state, load);
  const { items } = await api("GET", `/cases/${caseId}/items`);
  const list = $("#item-list");
  list.replaceChildren();
  list.setAttribute("aria-busy", "false");
  if (!items.length) {
    list.append(el("p", { text: t("No evidence yet. Use “Add evidence”.") }));
    return;
  }
  // Each save of the case record is a new item: the latest is the record, the others its earlier
  // versions, listed under it on demand (newest first).
  const latest = latestRecordItem(items);
  const older = earlierVersions(items, latest);
  const ul = el("ul", { class: "list" });
  for (const it of items) {
    if (it.evidence_type === RECORD_TYPE && it !== latest) continue;
    const li = itemRow(it);
    if (it === latest && older.length) {
      li.append(el("details", { class: "fold older" },
        el("summary", { text: t("Earlier versions ({n})", { n: fmtNumber(older.length) }) }),
        el("ul", { class: "list" }, ...older.map(itemRow))));
    }
    ul.append(li);
  }
  list.append(ul);
}

/** The case records other than the latest, newest first: the versions it replaced, one after the
 * other (metadata.supersedes), then any others (saved from the same version, or without naming one). */
function earlierVersions(items, latest) {
  const records = items.filter((it) => it.evidence_type === RECORD_TYPE && it !== latest);
  const byId = new Map(records.map((it) => [it.id, it]));
  const chain = [];
  for (let at = latest; at; ) {
    at = byId.get((at.metadata || {}).supersedes);
    if (at) {
      chain.push(at);
      byId.delete(at.id); // each once, whatever the metadata says
    }
  }
  return [...chain, ...records.filter((it) => byId.has(it.id)).reverse()];
}

function itemRow(it) {
  const m = it.metadata || {};
  return el("li", { "data-item-id": it.id },
    el("a", { href: `/items/${it.id}`, class: "item-link" }, m.title || it.id),
    it.attached_to ? el("span", { class: "badge", text: t("attached") }) : null,
    el("div", { class: "meta", text: `${labelOf(it.evidence_type)} · ${fmtBytes(it.blob_size)} · ${it.uploader.username || ""} · ${fmtDate(it.created_at)}` }));
}

function labelOf(code) {
  const opt = document.querySelector(`#et-labels option[value="${CSS.escape(code)}"]`);
  return opt ? opt.textContent : code;
}

wireMemberForm(load);
guard(load)();
// Uploads that stopped (a reload, a closed tab, a phone that killed the page): resume or cancel.
guard(() => showUnfinished($("#unfinished"), $("#unfinished-list"), caseId, load))();
