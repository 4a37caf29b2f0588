import { api } from "../api.js";
import { boot } from "../app.js";
import { $, el } from "../dom.js";
import { guard } from "../feedback.js";
import { fmtNumber, roleName, t, vocabLabel } from "../i18n.js";

const VOCAB = { region: "REGIONS", evidence_type: "EVIDENCE_TYPES", violations: "VIOLATIONS", methods: "METHODS",
  detention_place_type: "DETENTION_PLACE_TYPES" };
const N_ = (msgid) => msgid; // marks a message for extraction; translated where shown
const FACET_TITLES = { case_id: N_("Case"), region: N_("Region"), evidence_type: N_("Type of evidence"), violations: N_("Violations"),
  methods: N_("Methods"), detention_place_type: N_("Type of place of detention"), uploader_role: N_("Role"), language: N_("Language") };
const LANGUAGE_NAMES = { ky: N_("Kyrgyz language"), ru: N_("Russian language"), en: N_("English language") };
// On a phone the facets wait behind their summary, so that the first result is on the first screen.
const WIDE = window.matchMedia("(min-width: 40.01rem)");

await boot();
if (WIDE.matches) $("#more-filters").open = true;

/** Highlights come from the server HTML-escaped with <mark>: rebuild them as text nodes and <mark> elements only. */
function highlighted(html) {
  const out = [];
  const parts = String(html).split(/(<mark>|<\/mark>)/);
  let marking = false;
  const unescape = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#x?27;/g, "'").replace(/&amp;/g, "&");
  for (const p of parts) {
    if (p === "<mark>") marking = true;
    else if (p === "</mark>") marking = false;
    else if (p) out.push(marking ? el("mark", { text: unescape(p) }) : unescape(p));
  }
  return out;
}

let filters = {};
const PER_PAGE = 20;

// The cases as the cases page names them (reference — title): the facet knows only their ids.
let caseNames = null;
async function loadCaseNames() {
  if (caseNames) return;
  const { cases } = await api("GET", "/cases");
  caseNames = new Map(cases.map((c) => [c.id, c.title ? `${c.reference} — ${c.title}` : c.reference]));
}

function facetLabel(field, code) {
  if (VOCAB[field]) return vocabLabel(VOCAB[field], code);
  if (field === "uploader_role") return roleName(code);
  if (field === "language") return LANGUAGE_NAMES[code] ? t(LANGUAGE_NAMES[code]) : code;
  if (field === "case_id") return caseNames?.get(code) || t("Case");
  return code;
}

let current = null; // the query being paged through: {q, filters, page, pages}

function fromForm() {
  const form = $("#search-form");
  const f = { ...filters };
  for (const k of ["region", "violations", "evidence_type"]) if (form.elements[k].value) f[k] = [form.elements[k].value];
  if (form.elements.date_from.value) f.date_from = form.elements.date_from.value;
  if (form.elements.date_to.value) f.date_to = form.elements.date_to.value;
  return { q: $("#q").value, filters: f };
}

/** Page 1 takes the form as it is now; other pages repeat the same query (facets come with page 1 only). */
async function run(page = 1) {
  const query = page === 1 ? fromForm() : current;
  let out;
  try {
    out = await api("POST", "/search", { q: query.q, filters: query.filters, page, per_page: PER_PAGE, facets: page === 1 });
  } catch (err) {
    if (err.status === 404 || err.status === 405 || err.status === 501 || err.status === 503) {
      $("#search-unavailable").hidden = false;
      return;
    }
    throw err;
  }
  current = { ...query, page: out.page, pages: out.pages };
  $("#total").textContent = t("{n} results", { n: fmtNumber(out.total) });
  const first = (out.page - 1) * out.per_page + 1;
  $("#hits").start = first;
  $("#hits").replaceChildren(...out.hits.map((h) => el("li", { class: "hit" },
    el("a", { href: `/items/${h.item_id}`, class: "hit-link" }, h.title || h.item_id), " ", el("span", { class: "badge", text: h.case_reference || "" }),
    ...(h.highlights ? Object.values(h.highlights).flat().map((x) => el("p", { class: "meta" }, ...highlighted(x))) : []))));
  showPager(out);
  if (out.facets) {
    if (Object.keys(out.facets.case_id || {}).length) await loadCaseNames();
    showFacets(out.facets);
  }
}

function showPager(out) {
  $("#pager").hidden = out.pages < 2;
  $("#page-info").textContent = t("Page {page} of {pages} · results {from}–{to} of {total}", {
    page: fmtNumber(out.page), pages: fmtNumber(out.pages), from: fmtNumber(Math.min((out.page - 1) * out.per_page + 1, out.total)),
    to: fmtNumber(Math.min(out.page * out.per_page, out.total)), total: fmtNumber(out.total) });
  $("#page-prev").disabled = out.page <= 1;
  $("#page-next").disabled = out.page >= out.pages;
}

function showFacets(found) {
  const facets = $("#facets");
  facets.replaceChildren();
  $("#facets-box").hidden = false;
  if (WIDE.matches) $("#facets-box").open = true;
  for (const [name, values] of Object.entries(found)) {
    const ul = el("ul", { class: "plain" });
    for (const v of Array.isArray(values) ? values : Object.entries(values).map(([value, count]) => ({ value, count }))) {
      ul.append(el("li", {}, el("button", { type: "button", class: "secondary small",
        onclick: () => { filters = { ...filters, [name]: [v.value] }; guard(run)(); } }, `${facetLabel(name, v.value)} (${fmtNumber(v.count)})`)));
    }
    if (ul.children.length) facets.append(el("h2", { text: FACET_TITLES[name] ? t(FACET_TITLES[name]) : t("Other") }), ul);
  }
  $("#facets-box").hidden = !facets.children.length;
}

async function turn(delta) {
  if (!current) return;
  await run(current.page + delta);
  $("#total").focus(); // the reader (and a screen reader) starts again at the top of the results
  $("#total").scrollIntoView({ block: "start" });
}
$("#page-prev").addEventListener("click", guard(() => turn(-1)));
$("#page-next").addEventListener("click", guard(() => turn(1)));

$("#search-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  filters = {};
  await run();
}));
