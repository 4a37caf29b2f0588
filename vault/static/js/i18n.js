// The page's language: the translation catalog for t(), plugin texts, vocabulary labels,
// and dates, sizes and numbers in the page's locale.
import { fetchCatalog } from "./api.js";
import { lang } from "./context.js";

let catalog = {};

export async function loadCatalog() {
  try {
    const got = await fetchCatalog(lang);
    if (got !== undefined) catalog = got;
  } catch {
    catalog = {};
  }
  echoDateInputs();
}

/** Translate an English message; {name} placeholders are filled from params. */
export function t(msgid, params = {}) {
  const text = catalog[msgid] || msgid;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** A plugin-supplied text (an exporter's label, target body…) in the page's language, else English. */
export function localized(obj, key) {
  const own = obj && obj.translations && obj.translations[lang];
  return (own && own[key]) || (obj && obj[key]) || "";
}

/** The label of a vocabulary code in the page's language (from the hidden selects the page renders). */
export function vocabLabel(name, code) {
  const opt = document.querySelector(`#vocab-${name} option[value="${CSS.escape(String(code))}"]`);
  return opt ? opt.textContent : code;
}

export function roleName(role) {
  return { lawyer: t("lawyer"), medic: t("medic"), admin: t("admin") }[role] || role;
}

// ------------------------------------------------------------------ dates and numbers
//
// Intl when the browser has the language's CLDR data; otherwise the CLDR data Babel has on the
// server, rendered into the page (<script type="application/json" id="locale-data">, from
// vault/web/i18n.py locale_data). Chromium ships no Kyrgyz: Intl.DateTimeFormat("ky") gives
// English ("December 2, 2026"), so Kyrgyz dates come from CLDR "ky" («2026-ж., 2-дек.»).

const CLDR = (() => {
  try {
    return JSON.parse(document.getElementById("locale-data")?.textContent || "null");
  } catch {
    return null;
  }
})();
const NATIVE = Intl.DateTimeFormat.supportedLocalesOf([lang]).length > 0 && Intl.NumberFormat.supportedLocalesOf([lang]).length > 0;
const USE_CLDR = !NATIVE && CLDR !== null && CLDR.lang === lang;
const TOKENS = /'([^']|'')*'|([A-Za-z])\2*/g;

const pad = (n, w) => String(n).padStart(w, "0");

/** A CLDR date/time pattern ("y-'ж'., d-MMM", "HH:mm") applied to a Date's local fields. */
function cldrPattern(pattern, d) {
  return pattern.replace(TOKENS, (tok) => {
    if (tok[0] === "'") return tok.length === 2 ? "'" : tok.slice(1, -1).replace(/''/g, "'");
    const n = tok.length;
    switch (tok[0]) {
      case "y": return n === 2 ? pad(d.getFullYear() % 100, 2) : pad(d.getFullYear(), n);
      case "M": case "L": {
        const m = d.getMonth();
        if (n >= 4) return CLDR.months.wide[m];
        if (n === 3) return CLDR.months.abbreviated[m];
        return pad(m + 1, n);
      }
      case "d": return pad(d.getDate(), n);
      case "H": return pad(d.getHours(), n);
      case "h": return pad(d.getHours() % 12 || 12, n);
      case "m": return pad(d.getMinutes(), n);
      case "s": return pad(d.getSeconds(), n);
      case "a": return d.getHours() < 12 ? CLDR.am : CLDR.pm;
      default: return tok;
    }
  });
}

/** "2026-12-02" as a local date (new Date() would read it as UTC midnight, a day early west of Greenwich). */
function dayOf(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

/** A moment (ISO with time) as date and time, or a day ("YYYY-MM-DD") as a date, in the page's language. */
export function fmtDate(iso) {
  if (!iso) return "";
  const day = dayOf(iso);
  if (day) return fmtDay(iso);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (USE_CLDR) return CLDR.datetime.replace("{1}", cldrPattern(CLDR.date.medium, d)).replace("{0}", cldrPattern(CLDR.time.short, d));
  try {
    return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(d);
  } catch {
    return d.toISOString();
  }
}

/** A calendar day ("2026-12-02", or a Date) in the page's language: «2026-ж., 2-декабрь», «2 декабря 2026 г.». */
export function fmtDay(value, style = "long") {
  const d = value instanceof Date ? value : dayOf(value);
  if (!d || Number.isNaN(d.getTime())) return value ? String(value) : "";
  if (USE_CLDR) return cldrPattern(CLDR.date[style] || CLDR.date.long, d);
  return new Intl.DateTimeFormat(lang, { dateStyle: style }).format(d);
}

/** A number in the page's language (grouping and decimal mark as CLDR has them: «1 234 567,5» in ru and ky). */
export function fmtNumber(n, options = {}) {
  if (!USE_CLDR) return new Intl.NumberFormat(lang, options).format(n);
  // The digits and grouping of "en", with the language's own symbols put in.
  return new Intl.NumberFormat("en", options).format(n).replace(/[,.]/g, (c) => (c === "," ? CLDR.group : CLDR.decimal));
}

export function fmtBytes(n) {
  const units = [t("bytes"), t("KB"), t("MB"), t("GB")];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${fmtNumber(n, { maximumFractionDigits: i ? 1 : 0 })} ${units[i]}`;
}

// ------------------------------------------------------------------ date inputs
//
// <input type="date"> shows the browser's own locale (Chromium ignores the lang attribute: an
// English Chromium shows mm/dd/yyyy on a Kyrgyz page), and on a phone it opens the system's
// date picker, which is the reason to keep it. So each date field gets, right under it, the
// chosen day written out in the page's language («2026-ж., 2-декабрь»): 02/12 can no longer be
// read as the wrong month. Delegated, so fields added later (the record form's lists) have it too.

function echoOf(input) {
  let out = input.nextElementSibling;
  if (!out || !out.classList.contains("date-echo")) {
    out = document.createElement("span");
    out.className = "hint date-echo";
    out.id = `${input.id || `date-${Math.random().toString(36).slice(2)}`}-echo`;
    out.setAttribute("aria-live", "polite");
    input.after(out);
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(out.id)) input.setAttribute("aria-describedby", [...described, out.id].join(" "));
  }
  return out;
}

function echo(input) {
  if (!input.value && !input.nextElementSibling?.classList.contains("date-echo")) return;
  echoOf(input).textContent = input.value ? fmtDay(input.value) : "";
}

function echoDateInputs() {
  const isDate = (el) => el instanceof HTMLInputElement && el.type === "date";
  for (const ev of ["input", "change", "focusin"]) {
    document.addEventListener(ev, (e) => isDate(e.target) && echo(e.target), true);
  }
  document.querySelectorAll('input[type="date"]').forEach((el) => {
    if (!el.lang) el.lang = lang;
    echo(el);
  });
}
