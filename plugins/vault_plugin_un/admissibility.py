"""Admissibility of a complaint to the Human Rights Committee, in the Committee's terms.

The checks that need dates or the order of steps, which a mapping rule
cannot express; their messages, the rule each applies and where that rule
was read are data (hrc.json, "admissibility"):

* exhaustion of domestic remedies (Optional Protocol art. 5(2)(b)): the
  domestic chain, read from each remedy's ``type`` — after a prosecutor's
  refusal to open a criminal case, the court appeal against it, and the
  appeal against that ruling; one entry is not enough;
* the same matter under another international procedure (art. 5(2)(a));
  for the CAT variant, any other procedure (CAT art. 22(5)(a));
* the five- and three-year limits of rule 99 (c) of the rules of procedure,
  computed from the final domestic decision or the conclusion of the other
  procedure, and a warning naming the date when it is not given — never a
  silent skip.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from vault.plugin_api import CaseRecord, ExportOptions, Problem, cite_messages, format_date, label, tr


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _problem(spec: Mapping, key: str, path: str, severity: str = "missing", **values: str) -> Problem:
    messages = {lang: text.format(**{k: (v(lang) if callable(v) else v) for k, v in values.items()})
                for lang, text in spec[key].items()}
    messages = cite_messages(messages, spec.get("cite"))
    return Problem(path=path, message=messages["en"], severity=severity, messages=messages)


def final_decision(case: CaseRecord) -> dt.date | None:
    """The final domestic decision: as given, or the latest decision date of the steps."""
    return case.final_decision_date or case.last_domestic_decision


def exhaustion(spec: Mapping, case: CaseRecord) -> list[Problem]:
    remedies = case.domestic_remedies
    if not remedies:
        return []  # "domestic remedies or why none" is a mapping rule
    explained = bool(case.no_remedies_reason)
    if not any(r.type for r in remedies):
        return [_problem(spec, "untyped", "domestic_remedies", "warning" if explained else "missing")]
    if not any(r.decision_date or r.outcome for r in remedies) and not explained:
        return [_problem(spec, "no_decision", "domestic_remedies")]
    problems = []
    types = [r.type for r in remedies]
    for after, need in spec["chain"].items():
        if after in types and need not in types:
            names = {"after": lambda lang, a=after: label("REMEDY_TYPES", a, lang),
                     "need": lambda lang, n=need: label("REMEDY_TYPES", n, lang)}
            problems.append(_problem(spec, "explained" if explained else "missing_step", "domestic_remedies",
                                     "warning" if explained else "missing", **names))
    return problems


def same_matter(admissibility: Mapping, case: CaseRecord, cat: bool) -> list[Problem]:
    problems = []
    for n, proc in enumerate(case.other_procedures):
        if cat:
            problems.append(_problem(admissibility["cat_same_matter"], "message", f"other_procedures[{n}]",
                                     body=proc.body))
        elif proc.date_concluded is None:
            problems.append(_problem(admissibility["same_matter"], "message", f"other_procedures[{n}].date_concluded",
                                     body=proc.body))
    return problems


def time_limits(admissibility: Mapping, case: CaseRecord, options: ExportOptions) -> list[Problem]:
    today = options.date
    when = {"today": lambda lang: format_date(today, lang)}
    problems = []
    five = admissibility["five_years"]
    last = final_decision(case)
    if case.domestic_remedies and last is None:
        problems.append(_problem(five, "unknown", "final_decision_date", "warning"))
    elif last is not None and last < years_before(today, five["years"]):
        problems.append(_problem(five, "late", "final_decision_date", "warning",
                                 date=lambda lang: format_date(last, lang), **when))
    three = admissibility["three_years"]
    for n, proc in enumerate(case.other_procedures):
        ended = proc.date_concluded
        if ended is not None and ended < years_before(today, three["years"]):
            problems.append(_problem(three, "late", f"other_procedures[{n}].date_concluded", "warning",
                                     body=proc.body, date=lambda lang, d=ended: format_date(d, lang), **when))
    return problems


def problems(admissibility: Mapping, case: CaseRecord, options: ExportOptions) -> list[Problem]:
    """Every admissibility Problem for the HRC complaint (or, with the cat22 variant, the CAT one)."""
    cat = options.variant == "cat22"
    found = exhaustion(admissibility["exhaustion"], case) + same_matter(admissibility, case, cat)
    if not cat:  # the CAT has no fixed limit in years
        found += time_limits(admissibility, case, options)
    return found


def no_authorisation_statement(titles: Mapping, case: CaseRecord, lang: str) -> str | None:
    """The sentence the document prints when a victim who cannot authorise is represented without it."""
    victim = case.victim
    if case.authorisation.given is True or not victim.cannot_authorise:
        return None
    status = label("VICTIM_STATUS", victim.status or "deceased", lang).lower()
    return tr(titles["no_authorisation"], lang).format(status=status)
