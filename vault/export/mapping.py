"""Field mappings as data: what each recipient needs and where it goes in the document.

Each exporter ships a JSON mapping (plugins/vault_plugin_*/mapping.json):

* ``form`` — the recipient's form the exporter follows, its version, and
  whether that version could be checked (EXPORTS.md marks what could not);
* ``requirements`` — rules checked by ``validate``, each with the message in
  the recipient's terms in en/ru/ky;
* ``sections`` — the numbered sections of the document: label/value rows,
  free text, repeated blocks (one per act, per place of detention) and
  lists, with labels in each output language.

A field is named by a dotted path into the CaseRecord (``victim.sex``,
``arrest.date``) or ``@name`` for a value the exporter computes (the
victim's display name, the reference). Rules:

``present``   the field has a value (``fields``: any one of several will do)
``answered``  a yes/no question was answered (False is an answer, None is not)
``true``      the answer must be yes
``each``      every element of ``list`` has ``field`` (optionally ``only_if``
              {"field", "in"}: only for elements whose field is one of "in")
``is_not``    the field must not have ``value`` (``pending_in_court`` must not
              be true, ``consent_to_submit`` must not be false)
A rule on an ``@`` value names the record ``path`` the user should fix. Any
rule or section may carry ``when`` (a path that must be truthy, or
equal ``when_is``); rules also ``severity`` ("missing" by default, or
"warning"), ``cite`` (the recipient's rule the check applies, {lang: text};
it is appended to the message, so the user reads which rule says so) and
``source`` (where that rule was read: a URL or document symbol, and when).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Mapping
from importlib import resources
from typing import Any

from pydantic import BaseModel

from vault.domain import vocab
from vault.domain.caserecord import DetentionPlace, Period, Perpetrator
from vault.domain.exports import Exporter, Problem
from vault.export.document import (
    Document,
    ItemList,
    Para,
    format_date,
    format_period,
    word,
    yes_no,
)


def load_mapping(package: str, name: str = "mapping.json") -> dict:
    """A mapping shipped as package data of ``package``."""
    return json.loads(resources.files(package).joinpath(name).read_text(encoding="utf-8"))


def tr(texts: Mapping[str, str] | str, lang: str) -> str:
    """The text for ``lang`` from a {lang: text} entry, English if missing."""
    if isinstance(texts, str):
        return texts
    return texts.get(lang) or texts["en"]


def resolve(obj: Any, path: str, ctx: Mapping[str, Any] | None = None) -> Any:
    """The value at ``path`` in ``obj`` (models, dicts), or ``ctx[name]`` for ``@name``."""
    if path.startswith("@"):
        return (ctx or {}).get(path[1:])
    value = obj
    for part in path.split("."):
        if value is None:
            return None
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return value


def is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | dict | tuple) and not value)


def format_value(value: Any, lang: str, vocab_name: str | None = None) -> str:
    """A case-record value as document text; "" for an empty value (the row is then left out)."""
    if is_empty(value):
        return ""
    if vocab_name:
        codes = value if isinstance(value, list) else [value]
        return "; ".join(vocab.label(vocab_name, code, lang) for code in codes)
    if isinstance(value, bool):
        return yes_no(value, lang)
    if isinstance(value, dt.date):
        return format_date(value, lang)
    if isinstance(value, Perpetrator):
        parts = [vocab.label("PERPETRATOR_TYPES", value.type, lang), value.institution, value.unit,
                 value.names]
        return ", ".join(p for p in parts if p)
    if isinstance(value, Period):
        text = format_period(value.date_from, value.date_to, lang)
        return f"{text} ({value.notes})" if value.notes else text
    if isinstance(value, DetentionPlace):
        where = [value.name, vocab.label("DETENTION_PLACE_TYPES", value.place_type, lang)]
        if value.region:
            where.append(vocab.label("REGIONS", value.region, lang))
        dates = format_period(value.date_from, value.date_to, lang, open_ended=True)
        return ", ".join(where) + (f" ({dates})" if dates else "")
    if isinstance(value, list):
        return "\n".join(format_value(v, lang) for v in value if not is_empty(v))
    return str(value)


def applies(spec: Mapping, case: BaseModel, ctx: Mapping[str, Any]) -> bool:
    """Whether a rule or section's ``when`` (and optional ``when_is``) condition holds."""
    if "when" not in spec:
        return True
    value = resolve(case, spec["when"], ctx)
    if "when_is" in spec:
        return type(value) is type(spec["when_is"]) and value == spec["when_is"]
    return bool(value)


def cite_messages(messages: Mapping[str, str], cite: Mapping[str, str] | str | None) -> dict[str, str]:
    """``messages`` with the rule they apply appended in each language: "… (OP ICCPR, art. 5(2)(b))"."""
    out = dict(messages)
    if cite:
        for lang in out:
            out[lang] = f"{out[lang]} ({tr(cite, lang)})"
    return out


def _problem(rule: Mapping, path: str) -> Problem:
    messages = cite_messages(rule["message"], rule.get("cite"))
    return Problem(path=path, message=messages["en"], severity=rule.get("severity", "missing"),
                   messages=messages)


def check_requirements(rules: list[Mapping], case: BaseModel, ctx: Mapping[str, Any]) -> list[Problem]:
    """The Problems for ``case`` under a mapping's ``requirements``, in rule order."""
    problems: list[Problem] = []
    for rule in rules:
        if not applies(rule, case, ctx):
            continue
        kind = rule["rule"]
        if kind == "present":
            paths = rule.get("fields") or [rule["field"]]
            if all(is_empty(resolve(case, p, ctx)) for p in paths):
                problems.append(_problem(rule, rule.get("path", paths[0])))
        elif kind == "answered":
            if resolve(case, rule["field"], ctx) is None:
                problems.append(_problem(rule, rule.get("path", rule["field"])))
        elif kind == "true":
            if resolve(case, rule["field"], ctx) is not True:
                problems.append(_problem(rule, rule.get("path", rule["field"])))
        elif kind == "each":
            for n, element in enumerate(resolve(case, rule["list"], ctx) or []):
                only = rule.get("only_if")  # {"field": ..., "in": [...]}: elements the rule is about
                if only and resolve(element, only["field"], ctx) not in only["in"]:
                    continue
                if is_empty(resolve(element, rule["field"], ctx)):
                    problems.append(_problem(rule, f"{rule['list']}[{n}].{rule['field']}"))
        elif kind == "is_not":
            value = resolve(case, rule["field"], ctx)
            if type(value) is type(rule["value"]) and value == rule["value"]:
                problems.append(_problem(rule, rule.get("path", rule["field"])))
        else:
            raise ValueError(f"unknown requirement rule {kind!r}")
    return problems


def _rows(spec_rows: list[Mapping], obj: Any, ctx: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    rows = []
    for row in spec_rows:
        if not applies(row, obj, ctx):  # a row may be left out, e.g. a name that must not be printed
            continue
        value = format_value(resolve(obj, row["field"], ctx), lang, row.get("vocab"))
        if value:
            rows.append((tr(row["label"], lang), value))
    return rows


def _fill(template: str, ctx: Mapping[str, Any]) -> str:
    # Values are inserted once and never re-read as templates, so text a
    # user typed cannot inject placeholders.
    return template.format_map({k: v for k, v in ctx.items() if isinstance(v, str | int)})


def build_sections(doc: Document, sections: list[Mapping], case: BaseModel, ctx: Mapping[str, Any],
                   lang: str, number_from: int = 1) -> int:
    """Append the mapping's sections to ``doc``; returns the next section number."""
    n = number_from
    for section in sections:
        if not applies(section, case, ctx):
            continue
        before = len(doc.blocks)
        doc.heading(f"{n}. {tr(section['title'], lang)}")
        if "intro" in section:
            doc.para(_fill(tr(section["intro"], lang), ctx), align="justify")
        filled = _section_body(doc, section, case, ctx, lang)
        if filled and "outro" in section:
            doc.add(Para(_fill(tr(section["outro"], lang), ctx), small=True))
        if not filled:
            if section.get("optional"):
                del doc.blocks[before:]
                continue
            doc.para(word("no_information", lang))
        n += 1
    return n


def _section_body(doc: Document, section: Mapping, case: BaseModel, ctx: Mapping[str, Any],
                  lang: str) -> bool:
    kind = section.get("kind", "fields")
    if kind == "fields":
        rows = _rows(section["rows"], case, ctx, lang)
        doc.fields(rows)
        return bool(rows)
    if kind == "text":
        value = resolve(case, section["field"], ctx)
        for paragraph in str(value or "").split("\n\n"):
            if paragraph.strip():
                doc.para(paragraph.strip(), align="justify")
        return not is_empty(value)
    if kind == "pairs":  # (label, value) rows the exporter computed in the output language
        rows = [(label, value) for label, value in resolve(case, section["field"], ctx) or [] if value]
        doc.fields(rows)
        return bool(rows)
    if kind == "static":
        for paragraph in _fill(tr(section["text"], lang), ctx).split("\n\n"):
            if paragraph.strip():
                doc.para(paragraph.strip(), align="justify")
        return True
    if kind == "list":
        items = [str(i) for i in resolve(case, section["field"], ctx) or [] if not is_empty(i)]
        if items:
            doc.add(ItemList(items, style=section.get("style", "decimal")))
        return bool(items)
    if kind == "each":
        filled = False
        for index, element in enumerate(resolve(case, section["list"], ctx) or [], start=1):
            rows = _rows(section["rows"], element, ctx, lang)
            if rows:
                doc.heading(tr(section["item_title"], lang).format(n=index), level=2)
                doc.fields(rows)
                filled = True
        return filled
    raise ValueError(f"unknown section kind {kind!r}")


CYRILLIC = re.compile("[\u0400-\u04ff]")
_FOREIGN = {
    "en": "The English document will carry text in Russian or Kyrgyz under “{label}”: translate it "
          "in the case record, or the recipient reads it untranslated.",
    "ru": "В документе на английском языке поле «{label}» останется на русском или кыргызском языке: "
          "переведите его в карточке дела.",
    "ky": "Англис тилиндеги документте «{label}» талаасы орус же кыргыз тилинде калат: аны иштин "
          "картасында которуңуз.",
}


def _text_fields(sections: list[Mapping], case: BaseModel, ctx: Mapping[str, Any]):
    """(record path, English label, value) of each free-text field the sections print."""
    for section in sections:
        if not applies(section, case, ctx):
            continue
        kind = section.get("kind", "fields")
        title = tr(section["title"], "en")
        if kind == "fields":
            for row in section["rows"]:
                if "vocab" not in row and not row["field"].startswith("@"):
                    yield row["field"], tr(row["label"], "en"), resolve(case, row["field"], ctx)
        elif kind in ("text", "list") and not section["field"].startswith("@"):
            value = resolve(case, section["field"], ctx)
            for n, item in enumerate(value if isinstance(value, list) else [value]):
                path = f"{section['field']}[{n}]" if isinstance(value, list) else section["field"]
                yield path, title, item
        elif kind == "each":
            for n, element in enumerate(resolve(case, section["list"], ctx) or []):
                for row in section["rows"]:
                    if "vocab" not in row:
                        label = f"{title}, {tr(row['label'], 'en')}"
                        yield f"{section['list']}[{n}].{row['field']}", label, resolve(element, row["field"], ctx)


def untranslated_text(sections: list[Mapping], case: BaseModel, ctx: Mapping[str, Any],
                      lang: str) -> list[Problem]:
    """Warnings for free text in Cyrillic that an English document would print, each naming its field.

    Vocabulary values are translated by ``format_value``; what the user typed
    cannot be, so the user is told where it is before the document is sent.
    """
    if lang != "en":
        return []
    problems, seen = [], set()
    for path, label, value in _text_fields(sections, case, ctx):
        if path in seen:
            continue
        seen.add(path)
        # Printed as English prints it: vocabulary codes become English labels, so
        # any Cyrillic left is text the user typed (a name, a place, a finding).
        if CYRILLIC.search(format_value(value, "en")):
            messages = {code: msg.format(label=label) for code, msg in _FOREIGN.items()}
            problems.append(Problem(path=path, message=messages["en"], severity="warning", messages=messages))
    return problems


_SPELLING = {
    "en": "“{other}” in {where} is another spelling of the name the document writes “{standard}” ({standard_name}): "
          "use one spelling.",
    "ru": "«{other}» в поле {where} — другое написание имени, которое документ пишет как «{standard}»: "
          "используйте одно написание.",
    "ky": "{where} талаасындагы «{other}» — документ «{standard}» деп жазган аттын башка жазылышы: "
          "бир жазылышты колдонуңуз.",
}


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(c))


def other_spellings(names: list[str], texts: list[tuple[str, str]], standard_name: str) -> list[Problem]:
    """Warnings for Latin spellings of ``names`` (as the standard writes them) that differ from it.

    ``texts`` are (record path, text) pairs of an English document's free
    text; "Omurbekov" against the standard "Ömürbekov" is flagged, so one
    document never spells a name two ways.
    """
    wanted = {_fold(n): n for n in names if n and len(n) > 2}
    problems, seen = [], set()
    for path, text in texts:
        for other in re.findall(r"[^\W\d_]+", text or ""):
            standard = wanted.get(_fold(other))
            if standard and other != standard and (path, other) not in seen:
                seen.add((path, other))
                messages = {lang: msg.format(other=other, where=path, standard=standard,
                                             standard_name=standard_name) for lang, msg in _SPELLING.items()}
                problems.append(Problem(path=path, message=messages["en"], severity="warning", messages=messages))
    return problems


def note(doc: Document, text: str) -> None:
    doc.add(Para(text, small=True))


def required_fields(mapping: Mapping) -> tuple[str, ...]:
    """The case-record paths a mapping's "missing" rules name, for the Exporter description."""
    paths: list[str] = []
    for rule in mapping["requirements"]:
        if rule.get("severity", "missing") != "missing":
            continue
        if rule["rule"] == "each":
            candidates = [f"{rule['list']}[].{rule['field']}"]
        else:
            candidates = rule.get("fields") or [rule["field"]]
        for path in candidates:
            if not path.startswith("@") and path not in paths:
                paths.append(path)
    return tuple(paths)


def exporter_from_mapping(mapping: Mapping, **fields: Any) -> Exporter:
    """The Exporter a plugin offers for a form described by ``mapping``.

    The form's version and whether it could be checked (``mapping["form"]``)
    and the required fields (from its "missing" rules) come from the mapping,
    so what the export dialog shows cannot drift from what ``validate``
    checks; ``fields`` are the rest of the Exporter (name, label,
    target_body, languages, description, variants, translations...).
    """
    form = mapping["form"]
    if "anonymity" in mapping:  # when the victim's name must not appear (vault/export/anonymity.py)
        fields.setdefault("anonymity", mapping["anonymity"])
    return Exporter(form_version=form["version"], form_verified=form["verified"],
                    required_fields=required_fields(mapping), **fields)
