"""Verb roots of Kyrgyz word forms, so that statements' verbs meet their nouns.

A statement says «кыйнады» ("he tortured"), «кыйнашкан» ("they had
tortured"), «кыйналган» ("who was tortured"), «кыйнабады» ("did not
torture"); a title or a vocabulary label says «кыйноо» ("torture", the
verbal noun). All are the verb кыйна- with suffixes, stripped here from the
right in the order they attach (root, voice, negation, tense/person):

* tense and person: past -ды (-дым, -дың, -дык, -дыңыз, -дыңар), the
  participle -ган (-ганмын, -гансың, -ганбыз, -гансыз; noun endings after
  it are stripped by ``kyrgyz.stems`` first: «кыйнагандардын»), the converb
  -ып/-п, or the verbal noun -уу/-оо (below);
* then, optionally, the negation -ба and the voice: reciprocal -ш/-ыш,
  passive -л/-ыл (-ын after л).

Each suffix is stripped only in the variant vowel harmony and consonant
assimilation allow (``kyrgyz``: д/г/б after vowels and voiced consonants,
т/к/п after voiceless ones), and a root keeps three letters, or two when
vowel + consonant (ур-, ал-).

The verbal noun merges with a root's final vowel: кыйна + уу = кыйноо,
терге + үү = тергөө. So -оо/-өө give the roots ending in а/о or е/ө, and
-уу/-үү a consonant root (ур + уу) or one ending in у/ү.

Roots are returned with a trailing ``-`` (``кыйна-``), a term no noun stem
can be: a verb root only ever meets other verb forms, so «карды» ("the
snow", also read as a past tense of кар-) does not meet «кароо»
("examination", root кара-). The analysis is rule-based without a lexicon;
where a word only looks like a verb form its made-up root matches nothing
real.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from vault.search.kyrgyz import _HIGH, _LOW, VOICELESS, VOWELS, _last_vowel

MARK = "-"
MAX_ROOTS = 4

Condition = Callable[[str], bool]


def _after_vowel(stem: str) -> bool:
    return stem[-1] in VOWELS


def _after_consonant(stem: str) -> bool:
    return stem[-1] not in VOWELS


def _after_l(stem: str) -> bool:
    return stem[-1] == "л"


def _any(stem: str) -> bool:
    return True


# Templates: "A" a low harmonic vowel, "I" a high one (each following the
# vowel before it); "D", "G", "B" are д/т, г/к, б/п by the sound before.
_TENSE: tuple[tuple[str, Condition], ...] = (
    ("DI", _any), ("DIм", _any), ("DIң", _any), ("DIк", _any), ("DIңIз", _any), ("DIңAр", _any),
    ("GAн", _any), ("GAнмIн", _any), ("GAнсIң", _any), ("GAнбIз", _any), ("GAнсIз", _any),
    ("Iп", _after_consonant), ("п", _after_vowel),
)
_NEGATION: tuple[tuple[str, Condition], ...] = (("BA", _any),)
_VOICE: tuple[tuple[str, Condition], ...] = (
    ("ш", _after_vowel), ("Iш", _after_consonant),  # reciprocal / cooperative
    ("л", _after_vowel), ("Iл", _after_consonant), ("Iн", _after_l),  # passive
)
_VOICED_LETTER = {"D": "д", "G": "г", "B": "б"}
_VOICELESS_LETTER = {"D": "т", "G": "к", "B": "п"}
_VERBAL_NOUN_ROOT_ENDINGS = {"оо": ("а", "о"), "өө": ("е", "ө"), "уу": ("", "у"), "үү": ("", "ү")}


def _long_enough(root: str) -> bool:
    if not any(c in VOWELS for c in root):
        return False
    if len(root) >= 3:
        return True
    return len(root) == 2 and root[0] in VOWELS and root[1] not in VOWELS


def _fits(stem: str, template: str, suffix: str) -> bool:
    """Does ``suffix`` spell ``template`` after ``stem``, by harmony and assimilation?"""
    before = stem[-1]
    last = _last_vowel(stem)
    for t, ch in zip(template, suffix, strict=True):
        if t in _VOICED_LETTER:
            want = _VOICELESS_LETTER[t] if before in VOICELESS else _VOICED_LETTER[t]
        elif t in "AI":
            if last is None:
                return False
            want = (_LOW if t == "A" else _HIGH).get(last, "")
        else:
            want = t
        if ch != want:
            return False
        before = ch
        if ch in VOWELS:
            last = ch
    return True


def _strip(word: str, slot: tuple[tuple[str, Condition], ...]) -> list[str]:
    """The stems one suffix of this slot can leave."""
    out = []
    for template, cond in slot:
        n = len(template)
        if len(word) <= n + 1:
            continue
        stem, suffix = word[:-n], word[-n:]
        if _long_enough(stem) and cond(stem) and _fits(stem, template, suffix):
            out.append(stem)
    return out


def _inner(stem: str) -> set[str]:
    """The stem as it is, and with a negation and/or a voice suffix stripped."""
    found = {stem}
    for negated in _strip(stem, _NEGATION):
        found.add(negated)
    for s in list(found):
        found.update(_strip(s, _VOICE))
    return found


def _verbal_noun(word: str) -> set[str]:
    ending = word[-2:]
    if ending not in _VERBAL_NOUN_ROOT_ENDINGS or len(word) < 4:
        return set()
    base = word[:-2]
    roots = set()
    for vowel in _VERBAL_NOUN_ROOT_ENDINGS[ending]:
        if vowel or base[-1] not in VOWELS:  # "уу" after a consonant root: ур-уу
            roots.add(base + vowel)
    out: set[str] = set()
    for root in roots:
        if _long_enough(root):
            out |= {r for r in _inner(root) if _long_enough(r)}
    return out


@lru_cache(maxsize=65536)
def roots(word: str, noun_stems: frozenset[str] = frozenset()) -> frozenset[str]:
    """Marked verb roots (``кыйна-``) of a lower-case Cyrillic word, or none.

    ``noun_stems`` are the word's readings with noun suffixes stripped
    (``kyrgyz.stems``): a participle or verbal noun takes plural, possessive
    and case endings like a noun.
    """
    found: set[str] = set()
    for form in sorted({word, *noun_stems}):
        for stem in _strip(form, _TENSE):
            found |= _inner(stem)
        found |= _verbal_noun(form)
    ranked = sorted(found, key=lambda r: (len(r), r))[:MAX_ROOTS]
    return frozenset(r + MARK for r in ranked)
