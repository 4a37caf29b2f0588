import { $, api, boot, el, fmtNumber, guard, roleName, t, vocabLabel } from "../app.js";

const VOCAB = { region: "REGIONS", evidence_type: "EVIDENCE_TYPES", violations: "VIOLATIONS", methods: "METHODS",
  detention_place_type: "DETENTION_PLACE_TYPES" };
const FACET_TITLES = { region: "Region", evidence_type: "Type of evidence", violations: "Violations", methods: "Methods",
  detention_place_type: "Type of place of detention", uploader_role: "Role", language: "Language" };

await boot();

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

function facetLabel(field, code) {
  if (VOCAB[field]) return vocabLabel(VOCAB[field], code);
  if (field === "uploader_role") return roleName(code);
  return code;
}

async function run(page = 1) {
  const form = $("#search-form");
  const f = { ...filters };
  for (const k of ["region", "violations", "evidence_type"]) if (form.elements[k].value) f[k] = [form.elements[k].value];
  if (form.elements.date_from.value) f.date_from = form.elements.date_from.value;
  if (form.elements.date_to.value) f.date_to = form.elements.date_to.value;
  let out;
  try {
    out = await api("POST", "/search", { q: $("#q").value, filters: f, page, per_page: 20 });
  } catch (err) {
    if (err.status === 404 || err.status === 405 || err.status === 501 || err.status === 503) {
      $("#search-unavailable").hidden = false;
      return;
    }
    throw err;
  }
  $("#total").textContent = t("{n} results", { n: fmtNumber(out.total) });
  $("#hits").replaceChildren(...out.hits.map((h) => el("li", { class: "hit" },
    el("a", { href: `/items/${h.item_id}`, class: "hit-link" }, h.title || h.item_id), " ", el("span", { class: "badge", text: h.case_reference || "" }),
    ...(h.highlights ? Object.values(h.highlights).flat().map((x) => el("p", { class: "meta" }, ...highlighted(x))) : []))));
  const facets = $("#facets");
  facets.replaceChildren();
  for (const [name, values] of Object.entries(out.facets || {})) {
    const ul = el("ul", { class: "plain" });
    for (const v of Array.isArray(values) ? values : Object.entries(values).map(([value, count]) => ({ value, count }))) {
      ul.append(el("li", {}, el("button", { type: "button", class: "secondary small",
        onclick: () => { filters = { ...filters, [name]: [v.value] }; guard(run)(); } }, `${facetLabel(name, v.value)} (${fmtNumber(v.count)})`)));
    }
    if (ul.children.length) facets.append(el("h2", { text: FACET_TITLES[name] ? t(FACET_TITLES[name]) : name }), ul);
  }
}

$("#search-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  filters = {};
  await run();
}));
