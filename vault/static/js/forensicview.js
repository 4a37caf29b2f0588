// The sealed forensic report (ForensicReport, vault/domain/caserecord.py) as a document on its item page:
// the parts of the Istanbul Protocol's annex IV in order, labels in the page's language, each finding with
// its body region, description, alleged method and the Protocol's degree of consistency — the same document
// vault/export/forensic.py renders for a recipient. Values are always text (never HTML); a value that is not
// text (a client's mistake) is left out rather than shown as JSON or [object Object]; codes are shown by
// their vocabulary label only.
import { lang } from "./context.js";
import { el } from "./dom.js";
import { t, vocabLabel } from "./i18n.js";

// Dates as each language writes them in a document (as vault/export/document.py format_date).
const MONTHS = {
  en: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December"],
  ru: ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября",
    "декабря"],
  ky: ["январы", "февралы", "марты", "апрели", "майы", "июну", "июлу", "августу", "сентябры", "октябры", "ноябры",
    "декабры"],
};

/** "2025-03-17" as "17 March 2025", "17 марта 2025 г." or "2025-жылдын 17-марты". */
export function fmtDay(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof iso === "string" ? iso : "");
  if (!m) return str(iso);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const name = (MONTHS[lang] || MONTHS.en)[month - 1];
  if (!name) return iso;
  if (lang === "ru") return `${day} ${name} ${year} г.`;
  if (lang === "ky") return `${year}-жылдын ${day}-${name}`;
  return `${day} ${name} ${year}`;
}

/** Text, or "" for anything that is not (objects, arrays, booleans). */
function str(value) {
  if (typeof value === "string") return value.trim();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return "";
}

/** The label of a code in the page's language; never the code itself. */
function term(vocab, code) {
  const known = typeof code === "string" && document.querySelector(`#vocab-${vocab} option[value="${CSS.escape(code)}"]`);
  return known ? vocabLabel(vocab, code) : "";
}

const notStated = () => t("Not stated");
const answer = (value) => (value === true ? t("Yes") : value === false ? t("No") : notStated());

function pairs(rows) {
  const dl = el("dl", { class: "kv" });
  for (const [label, value] of rows) {
    if (!value) continue;
    dl.append(el("dt", { text: label }), el("dd", { text: value }));
  }
  return dl.childElementCount ? dl : null;
}

function prose(value) {
  const text = str(value);
  return el("p", { class: text ? "fr-text" : "hint", text: text || t("No information provided.") });
}

/** What each degree of consistency means (Istanbul Protocol, 2022 edition, chapter V; see vault/export/forensic.py). */
function meaning(code) {
  return {
    not_consistent: t("the finding could not have been caused by the alleged torture or ill-treatment"),
    consistent: t("the finding could have been caused by the alleged torture or ill-treatment, but it is non-specific and there are many other possible causes"),
    highly_consistent: t("the finding could have been caused by the alleged torture or ill-treatment, and there are few other possible causes"),
    typical: t("the finding is usually found with this type of alleged torture or ill-treatment, but there are other possible causes"),
    diagnostic: t("the finding could not have been caused in any way other than that described"),
  }[code];
}

function findingsPart(rep) {
  const findings = (Array.isArray(rep.findings) ? rep.findings : []).filter((f) => f && typeof f === "object" && str(f.lesion));
  const out = [];
  if (findings.length) {
    out.push(el("ol", { class: "plain fr-findings" }, findings.map((f, i) => el("li", { class: "fr-finding" },
      el("h4", { text: t("Finding {n}", { n: i + 1 }) }),
      pairs([
        [t("Body region"), term("BODY_REGIONS", f.body_region) || notStated()],
        [t("Finding"), str(f.lesion)],
        [t("Alleged method"), term("METHODS", f.alleged_method) || notStated()],
        [t("Degree of consistency"), term("CONSISTENCY", f.consistency) || notStated()],
        [t("Reasoning"), str(f.reasoning)],
        [t("Why no degree can be given"), str(f.attribution_not_possible)],
      ])))));
  } else {
    out.push(el("p", { class: "hint", text: t("No findings were recorded.") }));
  }
  out.push(pairs([[t("Overall degree of consistency (all findings together)"), term("CONSISTENCY", rep.overall_consistency)],
    [t("Overall reasoning"), str(rep.overall_reasoning)]]));
  const used = new Set([...findings.map((f) => f.consistency), rep.overall_consistency]);
  const scale = [...document.querySelectorAll("#vocab-CONSISTENCY option")].filter((o) => used.has(o.value));
  if (scale.length) {
    out.push(el("div", { class: "hint fr-scale" }, el("p", { text: t("Degrees of consistency of the Istanbul Protocol (2022 edition, chapter V):") }),
      el("ul", {}, scale.map((o) => el("li", { text: `«${o.textContent}»: ${meaning(o.value)}.` })))));
  }
  return out;
}

function itemLinks(label, ids) {
  const list = (Array.isArray(ids) ? ids : []).filter((id) => typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id));
  if (!list.length) return null;
  return el("div", { class: "fr-items" }, el("strong", { text: label }), " ",
    list.flatMap((id, i) => [i ? ", " : "", el("a", { href: `/items/${id}` }, id)]));
}

/** The report as a document: returns the <article> to put on the page. */
export function forensicDocument(rep) {
  let n = 0;
  const part = (title, ...content) => {
    n += 1;
    return el("section", { class: "fr-part" }, el("h3", { text: `${n}. ${title}` }), ...content);
  };
  const exam = rep.physical_exam && typeof rep.physical_exam === "object" ? rep.physical_exam : {};
  const regions = [...document.querySelectorAll("#vocab-BODY_REGIONS option")]
    .filter((o) => str(exam[o.value])).map((o) => [o.textContent, str(exam[o.value])]);
  const duration = str(rep.exam_duration_minutes);
  const photos = [itemLinks(t("Photographs"), rep.photo_items), itemLinks(t("Body diagrams"), rep.diagram_items)].filter(Boolean);
  const signedDate = str(rep.signature_date);
  return el("article", { class: "forensic-doc", lang, "aria-labelledby": "forensic-doc-title" },
    el("h2", { id: "forensic-doc-title", text: t("Medical evaluation of alleged torture and ill-treatment") }),
    el("p", { class: "hint", text: t("Istanbul Protocol (2022 edition), annex IV: guidelines for the medical evaluation") }),
    part(t("Case information"),
      pairs([[t("Date of examination"), fmtDay(rep.exam_date)], [t("Place of examination"), str(rep.exam_place)],
        [t("Duration of the evaluation"), duration && t("{n} min", { n: duration })], [t("Requested by"), str(rep.requested_by)],
        [t("Interpreter"), str(rep.interpreter)], [t("Informed consent to the examination"), answer(rep.informed_consent)]]),
      el("h4", { text: t("Conditions of the examination") }),
      pairs([[t("Persons present during the examination"), str(rep.persons_present) || notStated()],
        [t("Police, guards or other officials present"), answer(rep.officials_present)],
        [t("Restraints used during the examination"), answer(rep.restraints_used)],
        [t("Restraints and custody conditions"), str(rep.restraints)],
        [t("Clinician independent of the detaining and investigating authorities"), answer(rep.clinician_independent)],
        [t("Clinician's employer and links to those authorities"), str(rep.independence_details)]])),
    part(t("Clinician's qualifications"), pairs([[t("Clinician"), str(rep.clinician_name)],
      [t("Qualifications"), str(rep.clinician_qualifications)]])),
    part(t("Statement regarding the veracity of the testimony"), prose(rep.truthfulness_statement)),
    part(t("Background information"), prose(rep.background)),
    part(t("Allegations of torture and ill-treatment"),
      str(rep.allegations) ? el("p", { class: "hint", text: t("In the person's own words.") }) : null, prose(rep.allegations)),
    part(t("Physical symptoms and disabilities"), prose(rep.physical_symptoms)),
    part(t("Physical examination"), pairs(regions) || el("p", { class: "hint", text: t("No region examined was described.") })),
    part(t("Psychological history and examination"), pairs([[t("Psychological history"), str(rep.psychological_history) || notStated()],
      [t("Psychological examination"), str(rep.psychological_exam) || notStated()]])),
    part(t("Photographs and body diagrams"), photos.length ? photos : el("p", { class: "hint", text: t("None attached to the report.") })),
    part(t("Diagnostic test results"), prose(rep.diagnostic_tests)),
    part(t("Consultations"), prose(rep.consultations)),
    part(t("Interpretation of findings"), ...findingsPart(rep)),
    part(t("Conclusions and recommendations"), pairs([[t("Conclusions"), str(rep.conclusions) || notStated()],
      [t("Recommendations"), str(rep.recommendations) || notStated()]])),
    part(t("Restrictions on the evaluation"), el("p", { text: str(rep.restrictions) || t("The clinician recorded no restrictions.") })),
    part(t("Clinician's signature and date"), pairs([[t("Signed by"), str(rep.signed_by) || str(rep.clinician_name)],
      [t("Date of signature"), signedDate ? fmtDay(signedDate) : notStated()]])));
}
