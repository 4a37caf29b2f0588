"""Fold Cyrillic and Latin spellings of names to one phonetic "skeleton".

Place and person names reach the vault in several spellings: «Жалал-Абад»,
«Джалал-Абад», "Jalal-Abad", "Djalal-Abad", "Dzhalal-Abad"; «Чүй», «Чуй»,
"Chui", "Chuy". No stemmer relates them, so every name is also indexed as a
skeleton: Cyrillic is transliterated, then Latin spellings are folded so that
the usual romanisations (Russian passport, Kyrgyz, English, French, German)
of one sound become one string:

    ж, dzh, dj, zh, j -> j      х, kh, h -> h        ы, й, y, i -> i
    ң -> ng   ө -> o   ү -> u   ц, tz -> ts   w -> v   q -> k
    doubled letters collapse    ь, ъ, apostrophes vanish

The skeleton is lossy on purpose and so only a second-rank match: it is
searched next to the stemmed words with a lower boost.

Vowels are where spellings of one name disagree most: Kyrgyz ө and ү are
written o/e/u/ü, Russian spelling writes unstressed о as а («Ысык-Көл»,
«Иссык-Куль», "Issyk-Kul", "Ysyk-Kol"; «Токмок», «Токмак»; «Үсөнов»,
"Usenov", "Usonov"). :func:`loose_skeleton` therefore also gives each long
enough name with every vowel group after the first replaced by ``*``
("is*k*l", "tokm*k", "us*n*v"). The first vowel is kept: it is the one
transliterations agree on, and without it Asanov, Usenov and Isanov would
all meet.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo",
    "ж": "j", "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m",
    "н": "n", "ң": "ng", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ү": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
    # Letters of neighbouring alphabets that turn up in names.
    "і": "i", "ї": "yi", "є": "ye", "ў": "u", "ә": "a", "ғ": "g", "қ": "k",
    "ұ": "u", "һ": "h", "ӊ": "ng", "ҳ": "h", "ӯ": "u",
}

# Latin letters with a conventional romanisation that NFKD would get wrong.
_LATIN_SPECIAL = {
    "ş": "sh", "ç": "ch", "ğ": "g", "ı": "i", "ñ": "n", "ß": "ss", "ä": "a",
    "ö": "o", "ü": "u", "ŋ": "ng", "æ": "ae", "ø": "o", "đ": "d", "ł": "l",
}

# Order matters: longer digraphs first, and "zh"/"kh" before the lone "h".
_FOLDS = (
    ("shch", "sh"), ("sch", "sh"), ("dzh", "j"), ("dsh", "j"), ("dj", "j"),
    ("zh", "j"), ("kh", "h"), ("tch", "ch"), ("tz", "ts"), ("ph", "f"),
    ("w", "v"), ("q", "k"), ("y", "i"),
)
_LEADING_YE = re.compile(r"^ye")  # Евгений "Yevgeniy" vs "Evgeniy"
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_DOUBLES = re.compile(r"(.)\1+")


@lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """The phonetic Latin skeleton of one word (any script, any case).

    Returns "" for a word with no letters or digits left after folding.
    """
    out = []
    for ch in word.lower():
        if ch in _CYRILLIC:
            out.append(_CYRILLIC[ch])
        elif ch in _LATIN_SPECIAL:
            out.append(_LATIN_SPECIAL[ch])
        else:
            out.append(ch)
    text = unicodedata.normalize("NFKD", "".join(out))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _LEADING_YE.sub("e", text)
    for old, new in _FOLDS:
        text = text.replace(old, new)
    text = _NOT_ALNUM.sub("", text)
    return _DOUBLES.sub(r"\1", text)


_VOWEL_RUN = re.compile(r"[aeiou]+")
# Fewer consonants than this and too many names share a loose skeleton
# ("Osh", "Kul").
_LOOSE_MIN_CONSONANTS = 3


@lru_cache(maxsize=65536)
def loose_skeleton(skel: str) -> str:
    """A skeleton with each vowel group after the first as ``*``; "" if too short.

    "tokmok" and "tokmak" -> "tokm*k"; "isikul" and "isikol" -> "is*k*l".
    """
    if sum(1 for c in skel if c.isalpha() and c not in "aeiou") < _LOOSE_MIN_CONSONANTS:
        return ""
    first = _VOWEL_RUN.search(skel)
    if first is None:
        return ""
    rest = _VOWEL_RUN.sub("*", skel[first.end():])
    loose = skel[: first.end()] + rest
    return loose if loose != skel else ""
