"""Stemming, transliteration and language detection, word by word."""

from __future__ import annotations

import pytest

from vault.search import kyrgyz
from vault.search.analysis import analyze_word, detect_language, normalize, script, stems
from vault.search.translit import skeleton

# (word form, a form it must share a stem with). Kyrgyz case, possessive and
# plural endings, with vowel harmony and consonant assimilation.
KYRGYZ_EQUIVALENT = [
    ("кыйноолор", "кыйноо"),        # plural -лор after a vowel
    ("кыйноолордун", "кыйноо"),     # plural + genitive -дун after р
    ("кыйноого", "кыйноо"),         # dative -го
    ("кыйноодон", "кыйноо"),        # ablative -дон
    ("кыйноону", "кыйноо"),         # accusative -ну after a vowel
    ("кыйноодо", "кыйноо"),         # locative -до
    ("камакта", "камак"),           # locative -та after voiceless к
    ("камакка", "камак"),           # dative -ка after voiceless к
    ("камактан", "камак"),          # ablative -тан
    ("камакты", "камак"),           # accusative -ты
    ("абагы", "абак"),              # possessive -ы, final к voiced to г
    ("абагында", "абак"),           # possessive + locative -нда
    ("бишкекте", "бишкек"),         # locative -те (front vowel)
    ("бишкектеги", "бишкек"),       # attributive locative -теги
    ("бишкектин", "бишкек"),        # genitive -тин
    ("ошто", "ош"),                 # two-letter root, locative -то
    ("оштон", "ош"),                # ablative -тон
    ("ошко", "ош"),                 # dative -ко
    ("нарында", "нарын"),           # locative -да after н
    ("нарындын", "нарын"),          # genitive -дын after н
    ("токмокто", "токмок"),         # locative -то, rounded harmony
    ("караколдо", "каракол"),       # locative -до after л
    ("түрмөдө", "түрмө"),           # locative -дө, front rounded
    ("түрмөлөрдө", "түрмө"),        # plural -лөр + locative
    ("түрмөгө", "түрмө"),           # dative -гө
    ("үйүндө", "үй"),               # possessive -ү + locative -ндө
    ("үйлөр", "үй"),                # plural -лөр after й
    ("мекемесинде", "мекеме"),      # possessive -си + locative -нде
    ("мекемелерде", "мекеме"),      # plural -лер + locative -де
    ("колдор", "кол"),              # plural -дор after л
    ("жерлер", "жер"),              # plural -лер after р
    ("китептерибиз", "китеп"),      # plural -тер + possessive -ибиз
    ("күбөлөр", "күбө"),            # plural -лөр
    ("күбөнүн", "күбө"),            # genitive -нүн
    ("атасынан", "ата"),            # possessive -сы + ablative -нан
    ("атама", "ата"),               # possessive -м + dative -а
    ("кишилер", "киши"),            # root ending in a vowel that looks like a possessive
    ("сабоодон", "сабоо"),          # ablative after a long vowel
    ("милицияда", "милиция"),       # Russian loanword, locative
    ("ивсте", "ивс"),               # abbreviation: harmony unknown, still stripped
]

# Words that must keep their own form among their stems: short words and
# endings that only look like suffixes.
NOT_OVER_STRIPPED = ["ата", "бала", "ага", "суу", "тоо", "ош", "ай", "эки", "кара", "тага", "алтын",
                     "кыз", "нарын", "каракол", "бишкек", "кыйноо"]


@pytest.mark.parametrize(("form", "base"), KYRGYZ_EQUIVALENT)
def test_kyrgyz_forms_share_a_stem(form: str, base: str) -> None:
    assert kyrgyz.stems(form) & kyrgyz.stems(base), (form, kyrgyz.stems(form), base, kyrgyz.stems(base))


def test_kyrgyz_table_is_large_enough() -> None:
    assert len(KYRGYZ_EQUIVALENT) >= 30


@pytest.mark.parametrize("word", NOT_OVER_STRIPPED)
def test_short_and_plain_words_are_not_over_stripped(word: str) -> None:
    assert word in kyrgyz.stems(word)


@pytest.mark.parametrize(("a", "b"), [
    ("бала", "бал"),        # child / honey: -а is a dative only after -м/-ң
    ("кара", "кар"),        # black / snow
    ("тага", "та"),         # stem too short
    ("бата", "бат"),        # locative after a vowel would be -да, not -та
    ("города", "город"),    # Russian: harmony forbids -а after о
])
def test_different_words_are_not_merged(a: str, b: str) -> None:
    assert not kyrgyz.stems(a) & kyrgyz.stems(b)


@pytest.mark.parametrize(("a", "b"), [
    ("пытка", "пытки"), ("пытка", "пыткам"), ("пытками", "пытки"),
    ("избиение", "избиения"), ("задержание", "задержании"), ("изолятор", "изоляторе"),
    ("tortured", "torture"), ("torturing", "torture"), ("beating", "beatings"),
    ("detention", "detentions"),
])
def test_russian_and_english_word_forms_meet(a: str, b: str) -> None:
    assert analyze_word(a).all_stems() & analyze_word(b).all_stems()


def test_stemmer_choice_by_letters() -> None:
    assert stems("tortured") == {"tortur"}                 # Latin: English only
    assert stems("түрмөдө") == kyrgyz.stems("түрмөдө")     # Kyrgyz letters: Kyrgyz only
    both = stems("пытки")                                  # plain Cyrillic: Russian and Kyrgyz
    assert "пытк" in both and kyrgyz.stems("пытки") <= both
    assert stems("2024") == {"2024"}


@pytest.mark.parametrize("spellings", [
    ["Жалал-Абад", "Jalal-Abad", "Djalal-Abad", "Dzhalal-Abad", "Джалал-Абад", "Zhalal-Abad"],
    ["Бишкек", "Bishkek"],
    ["Ош", "Osh"],
    ["Каракол", "Karakol"],
    ["Нарын", "Naryn"],
    ["Токмок", "Tokmok"],
    ["Чүй", "Чуй", "Chui", "Chuy"],
    ["Иссык", "Issyk", "Ысык"],
    ["Хайдаров", "Khaidarov", "Haydarov"],
    ["Кыргызстан", "Kyrgyzstan", "Kirgizstan"],
])
def test_transliterations_share_a_skeleton(spellings: list[str]) -> None:
    first = analyze_word(spellings[0]).all_skeletons()
    for other in spellings[1:]:
        assert first & analyze_word(other).all_skeletons(), (spellings[0], other)


def test_skeleton_rules() -> None:
    assert skeleton("Жалал") == skeleton("Dzhalal") == "jalal"
    assert skeleton("Өзгөн") == skeleton("Ozgon") == "ozgon"
    assert skeleton("ң") == "ng"
    assert skeleton("Иссык-Куль") == skeleton("Issyk-Kul") == "isikul"  # doubles collapse
    assert skeleton("!!!") == ""


def test_compound_joined_and_inflected() -> None:
    record = analyze_word("Жалал-Абадда")      # "in Jalal-Abad"
    assert "jalalabad" in record.all_skeletons()
    assert analyze_word("Jalalabad").all_skeletons() & record.all_skeletons()
    assert analyze_word("Бишкекте").all_skeletons() & analyze_word("Bishkek").all_skeletons()


def test_mixed_script_typo_is_repaired() -> None:
    assert normalize("Бишkек") == "бишкек"      # Latin k inside a Cyrillic word
    assert normalize("Osh") == "osh"
    assert script("бишкек") == "cyr" and script("osh") == "lat" and script("17") == "num"


@pytest.mark.parametrize(("text", "lang"), [
    ("Милиция бөлүмүндө кыйноо", "ky"),          # Kyrgyz letters
    ("Кыйноолордун далилдери", "ky"),            # no ң/ө/ү, but Kyrgyz endings
    ("Жалал-Абад шаарындагы ИИБ", "ky"),
    ("Пытки в ИВС Бишкека", "ru"),
    ("Сообщение о сооружении", "ru"),            # Russian double о is not Kyrgyz
    ("Beaten in police custody", "en"),
    ("12345", None),
])
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang
