"""Whether a state accepts complaints to the Committee against Torture (article 22 CAT).

The answer is data (cat22_declarations.json), not code, because it changes
when a state makes or withdraws the declaration and because some entries
could not be verified. The variant is offered by default only for states
recorded with a declaration; a state recorded without one (Kyrgyzstan) is
refused, an unknown state is warned about.
"""

from __future__ import annotations

import json
from importlib import resources

from vault.plugin_api import Problem

DATA = json.loads(resources.files(__package__).joinpath("cat22_declarations.json").read_text("utf-8"))


def status(state: str) -> dict:
    """{"declaration": True/False/None, "verified": bool, ...} for an ISO alpha-3 code."""
    return DATA["states"].get(state.upper(), {"declaration": None, "verified": False})


def offered_states() -> frozenset[str]:
    """States for which the CAT variant is offered by default (declaration recorded)."""
    return frozenset(code for code, entry in DATA["states"].items() if entry["declaration"] is True)


def problems(state: str, state_label: str) -> list[Problem]:
    entry = status(state)
    if entry["declaration"] is False:
        checked = entry.get("checked") or DATA.get("checked", "")
        where = f"UN Treaty Collection, chapter IV.9, checked {checked}"
        return [Problem(
            "options.variant",
            f"The Committee against Torture cannot receive complaints against {state_label}: "
            f"it has made no declaration under article 22 of the Convention ({where}). "
            "Use the Human Rights Committee instead.",
            messages={
                "ru": "Комитет против пыток не может рассматривать жалобы против этого государства: "
                      f"оно не сделало заявления по статье 22 Конвенции (Собрание договоров ООН, глава IV.9, "
                      f"проверено {checked}). Используйте Комитет по правам человека.",
                "ky": "Кыйноолорго каршы комитет бул мамлекетке каршы даттанууларды карай албайт: "
                      f"ал Конвенциянын 22-беренеси боюнча билдирүү жасаган эмес (БУУнун келишимдер жыйнагы, "
                      f"IV.9-бөлүм, {checked} текшерилген). Адам укуктары боюнча комитетти колдонуңуз.",
            },
        )]
    if entry["declaration"] is None:
        return [Problem(
            "options.variant",
            f"It could not be verified that {state_label} has made the article 22 declaration; the "
            "Committee against Torture can receive the complaint only if it has. Check the UN Treaty "
            "Collection before sending, or use the Human Rights Committee.",
            severity="warning",
            messages={
                "ru": "Не удалось проверить, сделало ли государство заявление по статье 22; Комитет против "
                      "пыток может принять жалобу только в этом случае. Проверьте по Собранию договоров ООН "
                      "или используйте Комитет по правам человека.",
                "ky": "Мамлекет 22-берене боюнча арыз бергени текшерилген жок; Кыйноолорго каршы комитет "
                      "даттанууну ушундай арыз болгондо гана кабыл алат. БУУнун келишимдер жыйнагынан "
                      "текшериңиз же Адам укуктары боюнча комитетти колдонуңуз.",
            },
        )]
    if not entry["verified"]:
        return [Problem(
            "options.variant",
            f"Recorded: {state_label} made the article 22 declaration ({entry.get('year', 'year unknown')}); "
            "this record is not verified — confirm it in the UN Treaty Collection before sending.",
            severity="warning",
            messages={
                "ru": "По имеющимся данным государство сделало заявление по статье 22, но эти данные не "
                      "проверены: подтвердите по Собранию договоров ООН перед отправкой.",
                "ky": "Маалымат боюнча мамлекет 22-берене боюнча арыз берген, бирок бул маалымат "
                      "текшерилген эмес: жөнөтүүдөн мурун БУУнун келишимдер жыйнагынан тактаңыз.",
            },
        )]
    return []
