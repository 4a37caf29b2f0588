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

// Chromium ships no Kyrgyz date/number data: fall back to Russian forms (Cyrillic, familiar in Kyrgyzstan).
const LOCALES = lang === "ky" ? ["ky", "ru"] : [lang];

/** The label of a vocabulary code in the page's language (from the hidden selects the page renders). */
export function vocabLabel(name, code) {
  const opt = document.querySelector(`#vocab-${name} option[value="${CSS.escape(String(code))}"]`);
  return opt ? opt.textContent : code;
}

export function roleName(role) {
  return { lawyer: t("lawyer"), medic: t("medic"), admin: t("admin") }[role] || role;
}

export function fmtDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat(LOCALES, { dateStyle: "medium", timeStyle: "short" }).format(d);
  } catch {
    return d.toISOString();
  }
}

export function fmtBytes(n) {
  const units = [t("bytes"), t("KB"), t("MB"), t("GB")];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${new Intl.NumberFormat(LOCALES, { maximumFractionDigits: i ? 1 : 0 }).format(n)} ${units[i]}`;
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(LOCALES).format(n);
}
