"""A small suffix-stripping stemmer for Kyrgyz.

Kyrgyz is agglutinative: a noun takes, in this order, a plural suffix, a
possessive suffix and a case suffix (``кыйноо-лор-дун`` "of the tortures",
``үй-ү-ндө`` "in his house"). There is no Snowball stemmer for it, so this
module strips those three slots from the right, case first.

Each suffix exists in several variants chosen by two rules of the language,
and a variant is only stripped where those rules allow it. That is what keeps
the stemmer from eating the end of ordinary words (``бала`` "child" does not
end in the dative ``-а``, because that ``-а`` only follows ``-м``/``-ң``):

* vowel harmony: the suffix vowel follows the last vowel of the stem —
  low suffixes (``-лар``) take а/е/о/ө (а after у: ``суулар``), high ones
  (``-дын``) take ы/и/у/ү;
* consonant assimilation: the first consonant depends on how the stem ends
  (``-лар`` after a vowel, й or р; ``-дар`` after other voiced consonants;
  ``-тар`` after voiceless ones).

Stems keep at least three letters, or two when they are vowel + consonant
(``ош``, ``үй``, ``эл``), so short words are not over-stripped. The stemmer is
deliberately conservative: a missed reduction costs recall on one form, a
wrong one merges unrelated words in every query.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

VOWELS = frozenset("аеёиоөуүыэюя")
VOICELESS = frozenset("кпстфхцчшщ")
# Consonants after which plural suffixes start with л rather than д.
_PLURAL_L_AFTER = frozenset("йр")

# The last vowel of the stem selects the suffix vowel. Russian loanwords use
# е/ё/ю/я/э; they are mapped to the Kyrgyz vowel they are pronounced as.
# Low suffixes are rounded after rounded vowels except after у: колдор,
# үйлөр, but кулдар, суулар, жумушта.
_LOW = {
    "а": "а", "ы": "а", "я": "а", "у": "а", "ю": "а",
    "е": "е", "и": "е", "э": "е",
    "о": "о", "ё": "о",
    "ө": "ө", "ү": "ө",
}
_HIGH = {
    "а": "ы", "ы": "ы", "я": "ы",
    "е": "и", "и": "и", "э": "и",
    "о": "у", "у": "у", "ё": "у", "ю": "у",
    "ө": "ү", "ү": "ү",
}

Condition = Callable[[str], bool]


def _after_vowel(stem: str) -> bool:
    return stem[-1] in VOWELS


def _after_voiced(stem: str) -> bool:
    """Vowel or voiced consonant: the d-/g- variants of case suffixes."""
    return stem[-1] not in VOICELESS


def _after_voiced_consonant(stem: str) -> bool:
    return stem[-1] not in VOICELESS and stem[-1] not in VOWELS


def _after_voiceless(stem: str) -> bool:
    return stem[-1] in VOICELESS


def _after_consonant(stem: str) -> bool:
    return stem[-1] not in VOWELS


def _plural_l(stem: str) -> bool:
    return stem[-1] in VOWELS or stem[-1] in _PLURAL_L_AFTER


def _plural_d(stem: str) -> bool:
    return _after_voiced_consonant(stem) and stem[-1] not in _PLURAL_L_AFTER


def _after_possessive_1_2(stem: str) -> bool:
    """The bare-vowel dative (``ата-м-а`` "to my father") follows -м or -ң only."""
    return stem[-1] in "мң"


# Templates: "A" is a low harmonic vowel, "I" a high one. Order within a slot
# does not matter: candidates are tried longest first.
_CASE: tuple[tuple[str, Condition], ...] = (
    # locative, and the attributive locative -дагы ("the one in ...")
    ("дA", _after_voiced), ("тA", _after_voiceless), ("ндA", _after_vowel),
    ("дAгI", _after_voiced), ("тAгI", _after_voiceless), ("ндAгI", _after_vowel),
    # genitive
    ("нIн", _after_vowel), ("дIн", _after_voiced_consonant), ("тIн", _after_voiceless),
    # dative
    ("гA", _after_voiced), ("кA", _after_voiceless), ("нA", _after_vowel),
    ("A", _after_possessive_1_2),
    # ablative
    ("дAн", _after_voiced), ("тAн", _after_voiceless), ("нAн", _after_vowel),
    # accusative
    ("нI", _after_vowel), ("дI", _after_voiced_consonant), ("тI", _after_voiceless),
)
_POSSESSIVE: tuple[tuple[str, Condition], ...] = (
    ("Iм", _after_consonant), ("м", _after_vowel),  # my
    ("Iң", _after_consonant), ("ң", _after_vowel),  # your
    ("I", _after_consonant), ("сI", _after_vowel),  # his, her, its, their
    ("IбIз", _after_consonant), ("бIз", _after_vowel),  # our
    ("IңIз", _after_consonant), ("ңIз", _after_vowel),  # your (polite)
    ("IңAр", _after_consonant), ("ңAр", _after_vowel),  # your (plural)
)
_PLURAL: tuple[tuple[str, Condition], ...] = (
    ("лAр", _plural_l), ("дAр", _plural_d), ("тAр", _after_voiceless),
)

_HARMONY_VOWELS = {"A": ("а", "е", "о", "ө"), "I": ("ы", "и", "у", "ү")}


def _expand(template: str) -> list[str]:
    """All concrete spellings of a template, e.g. "дA" -> да, де, до, дө."""
    forms = [""]
    for ch in template:
        options = _HARMONY_VOWELS.get(ch, (ch,))
        forms = [f + o for f in forms for o in options]
    return forms


def _build(slot: tuple[tuple[str, Condition], ...]) -> dict[str, list[tuple[str, Condition]]]:
    """Map each concrete suffix to (template, condition); longest suffixes first."""
    table: dict[str, list[tuple[str, Condition]]] = {}
    for template, cond in slot:
        for form in _expand(template):
            table.setdefault(form, []).append((template, cond))
    return dict(sorted(table.items(), key=lambda kv: -len(kv[0])))


_SLOTS = (_build(_CASE), _build(_POSSESSIVE), _build(_PLURAL))
_MAX_SUFFIX = max(len(s) for slot in _SLOTS for s in slot)


def _last_vowel(stem: str) -> str | None:
    for ch in reversed(stem):
        if ch in VOWELS:
            return ch
    return None


def _harmony_ok(stem: str, template: str, suffix: str) -> bool:
    """Does every harmonic vowel of the suffix agree with the stem's last vowel?

    A stem without vowels is an abbreviation (ИВС, ГКНБ): its suffixes follow
    the pronounced letter names, which we cannot see, so any vowel is allowed.
    """
    last = _last_vowel(stem)
    if last is None:
        return True
    for t, s in zip(template, suffix, strict=True):
        if t == "A" and _LOW.get(last) != s:
            return False
        if t == "I" and _HIGH.get(last) != s:
            return False
    return True


def _long_enough(stem: str) -> bool:
    if len(stem) >= 3:
        return True
    # Two-letter roots exist when they are a closed syllable: ош, үй, эл, ит.
    return len(stem) == 2 and stem[0] in VOWELS and stem[1] not in VOWELS


def _strips(word: str, table: dict[str, list[tuple[str, Condition]]]) -> list[str]:
    """Every stem that one suffix of this slot can leave behind."""
    found: list[str] = []
    for suffix, variants in table.items():
        if len(suffix) >= len(word) or not word.endswith(suffix):
            continue
        stem = word[: -len(suffix)]
        if not _long_enough(stem):
            continue
        if any(cond(stem) and _harmony_ok(stem, t, suffix) for t, cond in variants):
            found.append(stem)
    return found


def _devoice(stem: str) -> str:
    """Undo the voicing of a final к/п before a vowel suffix (абак -> абагы)."""
    if len(stem) >= 3 and stem[-1] in "гб":
        return stem[:-1] + ("к" if stem[-1] == "г" else "п")
    return stem


# Upper bound on the stems kept for one word, so a pathological token cannot
# blow up the index or a query.
MAX_STEMS = 4


@lru_cache(maxsize=65536)
def stems(word: str) -> frozenset[str]:
    """The Kyrgyz stems of a lower-case Cyrillic word (usually just one).

    Strips at most one case, one possessive and one plural suffix, in that
    order from the right (the reverse of the order in which they attach).
    Where the analysis is ambiguous every reading is kept, so that index and
    query meet on at least one stem: ``нарында`` is both нарын+да "in Naryn"
    and нар+ы+нда "in its pomegranate"; a bare-vowel suffix (``кызы`` "his
    daughter", ``киши`` "person") might be part of the root, so the word is
    kept unstripped as well.
    """
    if len(word) < 3:
        return frozenset((word,))
    current = {word}
    for table in _SLOTS:
        following: set[str] = set()
        for w in current:
            found = _strips(w, table)
            following.update(found)
            if not found or any(len(w) - len(s) == 1 for s in found):
                following.add(w)
        current = following
    # Keep the most reduced readings: they are the ones other forms share.
    result = sorted({_devoice(s) for s in current}, key=lambda s: (len(s), s))
    return frozenset(result[:MAX_STEMS])


def stem(word: str) -> str:
    """The shortest Kyrgyz stem of a word: handy for display and tests."""
    return min(stems(word), key=lambda s: (len(s), s))
