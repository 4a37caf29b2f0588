"""Verb roots of Kyrgyz word forms, so that statements' verbs meet their nouns.

A statement says «кыйнады» ("he tortured"), «кыйнашкан» ("they had
tortured"), «кыйналган» ("who was tortured"), «кыйнабады» ("did not
torture"), «кыйнайт» ("tortures"), «кыйнатты» ("had him tortured"); a title
or a vocabulary label says «кыйноо» ("torture", the verbal noun). All are
the verb кыйна- with suffixes, stripped here from the right in the order
they attach (root, causative, voice, negation, tense/person):

* tense and person: past -ды (-дым, -дың, -дык, -дыңыз, -дыңар); present/
  future -а/-е/-о/-ө after a consonant, -й after a vowel, with -т (3rd
  person: «урат», «сабайт»), -мын, -сың, -быз, -сыз, -сыңар, and -м after
  -й only («сабайм»: after a consonant it is the possessive of «атам» "my
  father"); the converb -ып/-п (also the first word of the continuous
  «сабап жатышты»). These finite forms take no noun endings, so they are
  stripped from the word itself only. The participle -ган (-ганмын,
  -гансың, -ганбыз, -гансыз; also in the negation «сабаган жок») declines
  like a noun, so it is stripped from the word and from each reading
  ``kyrgyz.stems`` gives: «кыйнагандардын». Or the verbal noun -уу/-оо
  (below);
* then, each optional: the negation -ба («урбайт», «кыйнабады»); a voice,
  reciprocal -ш/-ыш (the plural «урушат», «сабашат») or passive -л/-ыл (-ын
  after л); a causative, -т after a vowel («кыйнатты»), -дыр/-тыр after a
  consonant («урдурду»), -гыз/-кыз («жаткызды»). Voice and causative are
  only stripped under a tense or verbal-noun ending: a bare «сабат»
  ("literacy") is not read as саба-т.

Each suffix is stripped only in the variant vowel harmony and consonant
assimilation allow (``kyrgyz``: д/г/б after vowels and voiced consonants,
т/к/п after voiceless ones), and a root keeps three letters, or two when
vowel + consonant (ур-, ал-). So «өлтүрдү» ("killed"; -түр after the voiced
л is lexical) stays apart from «өлдү» ("died").

The verbal noun merges with a root's final vowel: кыйна + уу = кыйноо,
терге + үү = тергөө. So -оо/-өө give the roots ending in а/о or е/ө, and
-уу/-үү a consonant root (ур + уу) or one ending in у/ү.

Roots are returned with a trailing ``-`` (``кыйна-``), a term no noun stem
can be: a verb root only ever meets other verb forms, so «карды» ("the
snow", also read as a past tense of кар-) does not meet «кароо»
("examination", root кара-). The analysis is rule-based without a lexicon;
where a word only looks like a verb form its made-up root usually matches
nothing real. A few frequent nouns whose made-up root is a real verb's are
listed in ``_NOUNS`` («сүрөт» "photo", not сүр-өт "pushes"). Homographs
stay merged: «уруу» is "beating" and "tribe", «сабатты» "had beaten" and
"literacy" (accusative), «коркутуу» ("threats", causative of корку-)
meets «коркуу» ("fear").
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
# Finite forms take no noun endings, so they are stripped from the word
# itself only: «сүрөттөр» (photos) has no reading сүр-өт "pushes".
_FINITE: tuple[tuple[str, Condition], ...] = (
    ("DI", _any), ("DIм", _any), ("DIң", _any), ("DIк", _any), ("DIңIз", _any), ("DIңAр", _any),
    # present/future; no bare -м after a consonant: «атам» is "my father", not "I shoot"
    ("Aт", _after_consonant), ("AмIн", _after_consonant), ("AсIң", _after_consonant),
    ("AбIз", _after_consonant), ("AсIз", _after_consonant), ("AсIңAр", _after_consonant),
    ("йт", _after_vowel), ("йм", _after_vowel), ("ймIн", _after_vowel), ("йсIң", _after_vowel),
    ("йбIз", _after_vowel), ("йсIз", _after_vowel), ("йсIңAр", _after_vowel),
    ("Iп", _after_consonant), ("п", _after_vowel),
)
# The participle declines like a noun («кыйнагандардын»): stripped from the noun stems too.
_PARTICIPLE: tuple[tuple[str, Condition], ...] = (
    ("GAн", _any), ("GAнмIн", _any), ("GAнсIң", _any), ("GAнбIз", _any), ("GAнсIз", _any),
)
_NEGATION: tuple[tuple[str, Condition], ...] = (("BA", _any),)
_VOICE: tuple[tuple[str, Condition], ...] = (
    ("ш", _after_vowel), ("Iш", _after_consonant),  # reciprocal / cooperative
    ("л", _after_vowel), ("Iл", _after_consonant), ("Iн", _after_l),  # passive
)
# Like the other voices, only stripped under a tense or verbal-noun ending:
# «сабат» (literacy) is not read as саба-т "have beaten".
_CAUSATIVE: tuple[tuple[str, Condition], ...] = (
    ("т", _after_vowel), ("DIр", _after_consonant), ("GIз", _after_consonant),
)
# Frequent in case files, and read by the rules as a form of a real verb:
# «сүрөт» (photo) as сүр-өт "pushes", «атабыз» (our father) as ат-а-быз "we shoot".
_NOUNS = frozenset({"сүрөт", "атабыз"})
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
    """The stem as it is, and with a negation, a voice and/or a causative stripped."""
    found = {stem}
    for slot in (_NEGATION, _VOICE, _CAUSATIVE):
        for s in list(found):
            found.update(_strip(s, slot))
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
    if word in _NOUNS:
        return frozenset()
    found: set[str] = set()
    for stem in _strip(word, _FINITE):
        found |= _inner(stem)
    for form in sorted({word, *noun_stems}):
        for stem in _strip(form, _PARTICIPLE):
            found |= _inner(stem)
        found |= _verbal_noun(form)
    ranked = sorted(found, key=lambda r: (len(r), r))[:MAX_ROOTS]
    return frozenset(r + MARK for r in ranked)
