"""The Russian forms Snowball leaves apart: fleeting vowels.

Many Russian nouns insert an о or е before their last consonant where the
ending is zero — the genitive plural of «пытка» is «пыток», of «палка»
«палок», of «ошибка» «ошибок», of «девушка» «девушек»; masculine nouns lose
it when an ending follows («звонок», «звонка»). Snowball strips endings only,
so «пыток» stays «пыток» while «пытки», «пытка», «пыткам» become «пытк»:
a lawyer searching «пытки» would miss the records that say «пыток».

:func:`without_fleeting_vowel` gives the zero-ending form with that vowel
dropped, an extra term indexed and searched next to the Snowball stem.
"""

from __future__ import annotations

_CONSONANTS = frozenset("бвгджзклмнпрстфхцчшщ")
# The consonants a fleeting vowel comes before: -ок/-ек (the most common),
# -ец, -ен/-он, -ел/-ол, -ер/-ор. (Snowball already strips some of these,
# «песен» -> «пес»; only words it leaves whole are handled here.)
_FLEETING_BEFORE = frozenset("кцнлр")


def without_fleeting_vowel(word: str, stem: str) -> str | None:
    """«пыток» -> «пытк»; None where the word has an ending or no such vowel.

    Only a word Snowball left whole (a zero ending) of five letters or more,
    ending consonant + о/е + one of к ц н л р, and the result must keep four
    letters: «урок» (3 left) and «сок» are left alone. The vowel is not
    always fleeting («урок», «закон»); where it is not, the extra term is a
    string no other word yields, so it costs index space, not precision —
    except for rare pairs that happen to meet (listed in docs/search.md).
    """
    if stem != word or len(word) < 5:
        return None
    if word[-1] in _FLEETING_BEFORE and word[-2] in "ое" and word[-3] in _CONSONANTS:
        return word[:-2] + word[-1]
    return None
