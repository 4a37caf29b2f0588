// A form whose fields map onto a JSON object (the CaseRecord): each field names its path in
// data-path, relative to the list entry ([data-item]) or form ([data-scope]) it sits in; lists
// ([data-list]) repeat a <template>. Empty fields are left out, so the model's defaults apply and
// "not answered" stays distinct from "no".
import { t } from "./i18n.js";

const SCOPE = "[data-item], [data-scope]";
let serial = 0;

/** The elements matching sel that belong to root itself, not to a list entry inside it. */
function own(root, sel) {
  return [...root.querySelectorAll(sel)].filter((n) => n.parentElement.closest(SCOPE) === root);
}

const entries = (list) => [...list.children].filter((n) => n.matches("[data-item]"));

function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
}

function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}

function valueOf(f) {
  switch (f.dataset.type) {
    case "check":
      return f.checked ? true : undefined;
    case "bool3":
      return { yes: true, no: false }[f.value];
    case "int":
      return f.value.trim() === "" ? undefined : Number(f.value);
    case "checks": {
      const v = [...f.querySelectorAll("input:checked")].map((x) => x.value);
      return v.length ? v : undefined;
    }
    case "lines": {
      const v = f.value.split("\n").map((s) => s.trim()).filter(Boolean);
      return v.length ? v : undefined;
    }
    default:
      return f.value.trim() || undefined;
  }
}

function setValue(f, v) {
  switch (f.dataset.type) {
    case "check":
      f.checked = v === true;
      break;
    case "bool3":
      f.value = v === true ? "yes" : v === false ? "no" : "";
      break;
    case "checks":
      for (const box of f.querySelectorAll("input")) box.checked = Array.isArray(v) && v.includes(box.value);
      break;
    case "lines":
      f.value = Array.isArray(v) ? v.join("\n") : "";
      break;
    default: {
      const text = v === undefined || v === null ? "" : String(v);
      // A value this page does not offer (an item of another case, a code from a newer vault) is kept.
      if (f.tagName === "SELECT" && text && ![...f.options].some((o) => o.value === text)) {
        f.append(new Option(text, text));
      }
      f.value = text;
    }
  }
}

function renumber(list) {
  entries(list).forEach((node, i) => {
    const title = `${list.dataset.itemLabel} ${i + 1}`;
    node.querySelector(".item-title").textContent = title;
    node.querySelector("[data-remove]").setAttribute("aria-label", t("Remove {item}", { item: title }));
  });
  const add = list.parentElement.querySelector(":scope > [data-add]");
  if (add) add.disabled = entries(list).length >= Number(list.dataset.max || Infinity);
}

/** Append a copy of the list's template (filled from data, if given); returns it. */
export function addEntry(list, data) {
  const node = document.getElementById(list.dataset.template).content.firstElementChild.cloneNode(true);
  serial += 1;
  for (const x of node.querySelectorAll("[id]")) x.id = `${x.id}-${serial}`;
  for (const l of node.querySelectorAll("label[for]")) l.htmlFor = `${l.htmlFor}-${serial}`;
  for (const x of node.querySelectorAll("[aria-describedby]")) {
    x.setAttribute("aria-describedby", `${x.getAttribute("aria-describedby")}-${serial}`);
  }
  node.querySelector("[data-remove]").addEventListener("click", () => {
    const next = node.nextElementSibling || node.previousElementSibling;
    node.remove();
    renumber(list);
    (next ? next.querySelector(".item-title") : list.parentElement.querySelector("[data-add]"))?.focus?.();
  });
  node.querySelector(".item-title").tabIndex = -1;
  wire(node);
  list.append(node);
  if (data) fill(node, data);
  renumber(list);
  return node;
}

/** Make the "Add" buttons of root's lists work (also for entries added later). */
export function wire(root) {
  for (const list of own(root, "[data-list]")) {
    const add = list.parentElement.querySelector(":scope > [data-add]");
    add.addEventListener("click", () => {
      const node = addEntry(list);
      node.querySelector("input, select, textarea").focus();
    });
    renumber(list);
  }
}

/** The JSON object the form describes; entries with nothing filled in are left out. */
export function read(root) {
  const out = {};
  for (const f of own(root, "[data-path]")) {
    const v = valueOf(f);
    if (v !== undefined) setPath(out, f.dataset.path, v);
  }
  for (const list of own(root, "[data-list]")) {
    const items = entries(list).map(read).filter((o) => Object.keys(o).length);
    if (items.length) setPath(out, list.dataset.list, items);
  }
  return out;
}

/** Put data into the form; lists get one entry per element. */
export function fill(root, data) {
  for (const f of own(root, "[data-path]")) setValue(f, getPath(data, f.dataset.path));
  for (const list of own(root, "[data-list]")) {
    for (const node of entries(list)) node.remove();
    const rows = getPath(data, list.dataset.list);
    for (const row of Array.isArray(rows) ? rows : []) addEntry(list, row);
    renumber(list);
  }
}

/** The form field for a record path such as "acts.0.perpetrators.1.type" (or the nearest entry/list). */
export function fieldAt(root, path) {
  for (const f of own(root, "[data-path]")) {
    if (path === f.dataset.path || path.startsWith(`${f.dataset.path}.`)) return f;
  }
  for (const list of own(root, "[data-list]")) {
    const prefix = `${list.dataset.list}.`;
    if (path === list.dataset.list) return list.parentElement.querySelector("[data-add]");
    if (path.startsWith(prefix)) {
      const [index, ...rest] = path.slice(prefix.length).split(".");
      const node = entries(list)[Number(index)];
      if (!node) return list.parentElement.querySelector("[data-add]");
      return (rest.length && fieldAt(node, rest.join("."))) || node.querySelector(".item-title");
    }
  }
  return null;
}

function labelOf(f) {
  if (f.tagName === "FIELDSET") return f.querySelector("legend").textContent.trim();
  return (f.labels && f.labels[0] ? f.labels[0].textContent : f.dataset.path).trim();
}

function whereOf(f) {
  const node = f.closest("[data-item]");
  if (node) {
    const parent = node.parentElement.closest("[data-item]");
    const here = node.querySelector(".item-title").textContent;
    return parent ? `${parent.querySelector(".item-title").textContent}, ${here}` : here;
  }
  const section = f.closest("fieldset.rec-section");
  return section ? section.querySelector("legend").textContent.trim() : "";
}

function problem(f) {
  const field = labelOf(f);
  const where = whereOf(f);
  const v = f.validity;
  if (!v || v.valid) return null;
  if (v.valueMissing) return t("{where}: fill in “{field}”, or remove this entry.", { where, field });
  if (v.badInput) return t("{where}: “{field}” is not a valid date or number.", { where, field });
  if (v.rangeUnderflow || v.rangeOverflow) {
    return t("{where}: “{field}” must be between {min} and {max}.", { where, field, min: f.min, max: f.max });
  }
  if (v.typeMismatch && f.type === "email") return t("{where}: “{field}” is not an e-mail address.", { where, field });
  if (v.patternMismatch && f.dataset.hint) return `${where}: “${field}” — ${f.dataset.hint}`;
  if (v.tooLong) return t("{where}: “{field}” is too long (at most {max} characters).", { where, field, max: f.maxLength });
  return t("{where}: “{field}” is not in the expected form.", { where, field });
}

/** The first field a person must correct before saving: {field, message}, or null. */
export function firstProblem(root) {
  for (const f of own(root, "[data-path]")) {
    if (f.tagName === "FIELDSET") continue;
    const message = problem(f);
    if (message) return { field: f, message };
  }
  const from = own(root, '[data-path="date_from"]')[0];
  const to = own(root, '[data-path="date_to"]')[0];
  if (from && to && from.value && to.value && to.value < from.value) {
    return { field: to, message: t("{where}: “{to}” is before “{from}”.", { where: whereOf(to), to: labelOf(to), from: labelOf(from) }) };
  }
  for (const list of own(root, "[data-list]")) {
    for (const node of entries(list)) {
      if (!Object.keys(read(node)).length) continue; // an empty entry is left out, not refused
      const found = firstProblem(node);
      if (found) return found;
    }
  }
  return null;
}
