"""Text analysis for search in Kyrgyz, Russian and English at once.

One function, :func:`analyze_word`, turns a word as typed into the set of
terms it is indexed or searched under. The index side (the whoosh analyzers
below) and the query side (``querybuild``) both call it, so they cannot
disagree: a query word matches a record word exactly when their term sets
intersect.

Which stemmer applies is decided per token, by its letters:

* Latin -> English Snowball;
* Cyrillic with a Kyrgyz-only letter (ң ө ү) -> the Kyrgyz suffix stripper;
* other Cyrillic -> both the Russian Snowball stem and the Kyrgyz stems, at
  the same position. A Kyrgyz text may well contain no ң/ө/ү (``кыйноолор``),
  and the record language, where given, is often the language of the form
  rather than of every word; indexing both readings costs a few terms and
  never loses a match.

Names are also folded to a phonetic skeleton (``translit``), indexed in a
separate field, so «Жалал-Абад» and "Dzhalal-Abad" meet.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache

from whoosh.analysis import Token, Tokenizer
from whoosh.lang.snowball.english import EnglishStemmer
from whoosh.lang.snowball.russian import RussianStemmer
from whoosh.lang.stopwords import stoplists

from vault.search import kyrgyz, kyrgyz_verbs, russian
from vault.search.translit import loose_skeleton, skeleton

# A word is a run of letters/digits; hyphens and apostrophes inside it join
# parts of one compound ("Жалал-Абад", "O'Neill", "KG-2024-017").
WORD_RE = re.compile(r"[^\W_]+(?:['’ʼ\-‐][^\W_]+)*")
_PART_SPLIT = re.compile(r"['’ʼ\-‐]")

KYRGYZ_LETTERS = frozenset("ңөүҢӨҮ")
_LATIN_TO_CYR = str.maketrans("aceopxyk", "асеорхук")
_CYR_TO_LATIN = str.maketrans("асеорхук", "aceopxyk")

_EN = EnglishStemmer()
_RU = RussianStemmer()

# Only for queries: a record is short, and requiring "in" or "в" to be
# present would lose matches. Kyrgyz list: conjunctions, postpositions and
# pronouns frequent in case descriptions.
_KY_STOP = frozenset(
    "жана менен үчүн да дагы бул ал алар ошол же бирок эле деп болуп болгон "
    "мен сен биз силер анын аны ага алардын тарабынан боюнча".split()
)
STOPWORDS = stoplists["en"] | stoplists["ru"] | _KY_STOP


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _is_latin(ch: str) -> bool:
    return "a" <= ch <= "z" or ("\u00c0" <= ch <= "\u024f")


def script(word: str) -> str:
    """"cyr", "lat", "num" (digits only) or "other" for a lower-case word."""
    cyr = sum(1 for c in word if _is_cyrillic(c))
    lat = sum(1 for c in word if _is_latin(c))
    if cyr == 0 and lat == 0:
        return "num" if word.isdigit() else "other"
    return "cyr" if cyr >= lat else "lat"


def normalize(word: str) -> str:
    """Lower-case, NFC, and repair mixed-script words.

    A phone keyboard switched mid-word yields «Бишkек» with a Latin k; letters
    that look alike are moved into the word's majority script.
    """
    word = unicodedata.normalize("NFC", word).lower().replace("ё", "е")
    kind = script(word)
    if kind == "cyr" and any(_is_latin(c) for c in word):
        word = word.translate(_LATIN_TO_CYR)
    elif kind == "lat" and any(_is_cyrillic(c) for c in word):
        word = word.translate(_CYR_TO_LATIN)
    return word


@lru_cache(maxsize=131072)
def _inflection_stems(part: str) -> frozenset[str]:
    """Stems with inflectional endings removed: what names are declined with."""
    kind = script(part)
    if kind == "lat":
        return frozenset((_EN.stem(part),))
    if kind != "cyr":
        return frozenset((part,))
    if any(c in KYRGYZ_LETTERS for c in part):
        return kyrgyz.stems(part)
    return kyrgyz.stems(part) | {_RU.stem(part)}


@lru_cache(maxsize=131072)
def stems(part: str) -> frozenset[str]:
    """The stemmed terms of one normalised word part (no hyphens).

    The inflection stems, plus for Cyrillic the Kyrgyz verb roots
    (``kyrgyz_verbs``: «кыйнады» ~ «кыйноо») and, for words without Kyrgyz
    letters, the Russian form without a fleeting vowel (``russian``:
    «пыток» ~ «пытки»).
    """
    base = _inflection_stems(part)
    if script(part) != "cyr":
        return base
    extra = set(kyrgyz_verbs.roots(part, kyrgyz.stems(part)))
    if not any(c in KYRGYZ_LETTERS for c in part):
        dropped = russian.without_fleeting_vowel(part, _RU.stem(part))
        if dropped:
            extra.add(dropped)
    return base | extra if extra else base


@dataclass(frozen=True)
class WordForms:
    """What one typed word (possibly a hyphenated compound) is indexed as.

    ``parts`` holds, for each part of the compound, its stems and skeletons;
    ``joined`` the skeletons of the parts written together, so "Jalalabad"
    finds «Жалал-Абад».
    """

    parts: tuple[tuple[frozenset[str], frozenset[str]], ...]
    joined: frozenset[str]

    # Computed once: instances are cached by analyze_word and highlighting
    # asks for these for every word of every hit.
    @cached_property
    def stems(self) -> frozenset[str]:
        return frozenset().union(*(p[0] for p in self.parts))

    @cached_property
    def skeletons(self) -> frozenset[str]:
        return frozenset().union(self.joined, *(p[1] for p in self.parts))

    def all_stems(self) -> frozenset[str]:
        return self.stems

    def all_skeletons(self) -> frozenset[str]:
        return self.skeletons


def _skeletons(surface: str, stemmed: frozenset[str]) -> frozenset[str]:
    # The stems' skeletons catch inflected names: «Бишкекте» -> bishkek.
    plain = {s for s in {skeleton(surface), *map(skeleton, stemmed)} if s}
    return frozenset(plain | {v for v in map(loose_skeleton, plain) if v})


@lru_cache(maxsize=131072)
def analyze_word(word: str) -> WordForms:
    """Stems and skeletons of one word as matched by :data:`WORD_RE`."""
    word = normalize(word)
    parts = [p for p in _PART_SPLIT.split(word) if p]
    analysed = []
    for p in parts:
        analysed.append((stems(p), _skeletons(p, _inflection_stems(p))))
    joined: frozenset[str] = frozenset()
    if len(parts) > 1:
        whole = skeleton("".join(parts))
        # Also the joined form with the last part inflected away: «Жалал-Абадда».
        last = [skeleton("".join(parts[:-1]) + s) for s in _inflection_stems(parts[-1])]
        plain = {s for s in (whole, *last) if s}
        joined = frozenset(plain | {v for v in map(loose_skeleton, plain) if v})
    return WordForms(tuple(analysed), joined)


def words(text: str) -> Iterator[re.Match[str]]:
    """The words of a text, as regex matches (so callers get offsets)."""
    return WORD_RE.finditer(text)


@lru_cache(maxsize=65536)
def is_stopword(word: str) -> bool:
    return normalize(word) in STOPWORDS


# Russian has almost no double vowels and none of these endings; Kyrgyz
# written without ң/ө/ү ("кыйноолордун", "жана") still shows them.
_KY_HINTS = re.compile(
    r"(?:аа|уу|ыы|ээ|оо(?:$|[лдгнт]))"
    r"|(?:нын|нин|нун|дын|дун|тын|тун|лардын|ларды|лерди|дагы|деги|тагы|теги|ында|инде|ынан|инен)$"
    r"|^(?:жана|менен|жок|бар|деп|болуп|эмес|тарабынан|боюнча|шаары|облусу)$"
)


def detect_language(text: str) -> str | None:
    """Guess a record's language: "ky", "ru", "en", or None for no letters.

    Any Kyrgyz-only letter wins (they do not occur in Russian). Otherwise a
    Cyrillic text is Kyrgyz if a fifth of its words show Kyrgyz long vowels,
    endings or function words, else Russian; a mostly Latin text is English.
    Used only when the metadata does not say.
    """
    cyr = lat = 0
    for ch in text.lower():
        if ch in KYRGYZ_LETTERS:
            return "ky"
        if _is_cyrillic(ch):
            cyr += 1
        elif _is_latin(ch):
            lat += 1
    if cyr == 0 and lat == 0:
        return None
    if lat > cyr:
        return "en"
    cyr_words = [w for w in (normalize(m.group()) for m in WORD_RE.finditer(text)) if script(w) == "cyr"]
    hinted = sum(1 for w in cyr_words if _KY_HINTS.search(w))
    return "ky" if hinted and hinted * 5 >= len(cyr_words) else "ru"


class _WordTokenizer(Tokenizer):
    """Base for the two index analyzers: one position per word part."""

    def _terms(self, forms: WordForms, index: int) -> frozenset[str]:
        raise NotImplementedError

    def _extra(self, forms: WordForms) -> frozenset[str]:
        return frozenset()

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for match in WORD_RE.finditer(value):
            forms = analyze_word(match.group())
            extra = self._extra(forms)
            for i in range(len(forms.parts)):
                terms = self._terms(forms, i) | (extra if i == 0 else frozenset())
                for text in sorted(terms):
                    token.text = text
                    token.boost = 1.0
                    token.stopped = False
                    if keeporiginal:
                        token.original = match.group()
                    if positions:
                        token.pos = pos
                    if chars:
                        token.startchar = start_char + match.start()
                        token.endchar = start_char + match.end()
                    yield token
                pos += 1


class StemTokenizer(_WordTokenizer):
    """Index analyzer of the ``text`` field: every stem of every word part."""

    def _terms(self, forms: WordForms, index: int) -> frozenset[str]:
        return forms.parts[index][0]


class SkeletonTokenizer(_WordTokenizer):
    """Index analyzer of the ``skel`` field: phonetic skeletons of names."""

    def _terms(self, forms: WordForms, index: int) -> frozenset[str]:
        return forms.parts[index][1]

    def _extra(self, forms: WordForms) -> frozenset[str]:
        return forms.joined
