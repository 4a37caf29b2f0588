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
    ("суулар", "суу"),              # low suffix after у is -а-, not -о-
    ("жумушта", "жумуш"),           # locative -та after у
    ("кулдар", "кул"),              # plural -дар after у (but колдор after о)
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


# Kyrgyz verb forms of statements against each other and the verbal noun
# (titles, labels): past -ды and present/future -ат/-йт with person endings,
# participle -ган, converb -ып, verbal noun -уу/-оо, negation -ба,
# reciprocal -ш, passive -л, causative -т/-дыр/-гыз.
KYRGYZ_VERB_FORMS_MEET = [
    ("кыйнады", "кыйноо"),          # past 3rd person ~ verbal noun (кыйна + уу = кыйноо)
    ("кыйнадым", "кыйноо"),         # past 1st person singular
    ("кыйнадык", "кыйнады"),        # past 1st person plural
    ("кыйнашкан", "кыйноо"),        # reciprocal -ш + participle -кан
    ("кыйнашкан", "кыйнады"),
    ("кыйноолор", "кыйнады"),       # plural of the verbal noun ~ past
    ("кыйнагандардын", "кыйноо"),   # participle + plural + genitive
    ("кыйналган", "кыйноо"),        # passive -л + participle
    ("кыйнабады", "кыйнады"),       # negation -ба
    ("урду", "уруп"),               # past ~ converb -уп
    ("урду", "уруу"),               # past ~ verbal noun after a consonant root
    ("урушту", "урду"),             # reciprocal -уш + past -ту
    ("урулду", "уруп"),             # passive -ул
    ("урбады", "урду"),             # negation -ба after р
    ("урган", "урду"),              # participle -ган
    ("сабашты", "сабоо"),           # reciprocal past ~ verbal noun
    ("сабады", "сабоо"),
    ("сабаган", "сабоо"),
    ("сабалды", "сабоо"),           # passive
    ("сабап", "сабоо"),             # converb -п after a vowel
    ("кармады", "кармоо"),          # "detained" ~ "detention"
    ("кармалган", "кармоо"),
    ("тергеди", "тергөө"),          # front vowels: терге + үү = тергөө
    ("тергелди", "тергөө"),
    ("көрдү", "көрүү"),             # front rounded: -дү, -үү
    # present/future
    ("урат", "уруу"),               # "beats": -а + 3rd person -т after a consonant
    ("урат", "урду"),
    ("сабайт", "сабоо"),            # "beats": -й + -т after a vowel
    ("кыйнайт", "кыйноо"),          # "tortures"
    ("көрөт", "көрүү"),             # "sees": rounded -ө-
    ("урамын", "урду"),             # "I beat": -мын
    ("сабаймын", "сабоо"),          # "I beat": -й-мын
    ("кыйнайм", "кыйноо"),          # "I torture": short -м after -й
    ("урасың", "уруу"),             # "you beat": -сың
    ("урабыз", "урду"),             # "we beat": -быз
    ("көрөбүз", "көрүү"),           # "we see": -бүз
    ("сабайсыз", "сабоо"),          # "you (polite) beat": -сыз
    ("тергейсиз", "тергөө"),        # "you investigate": -сиз
    ("урушат", "уруу"),             # "they beat": reciprocal -уш + -ат
    ("сабашат", "сабоо"),           # "they beat": -ш + -ат
    ("кыйнашат", "кыйноо"),         # "they torture"
    ("кыйнашат", "кыйнашты"),       # present ~ past of the plural
    ("тергешет", "тергөө"),         # "they investigate": -шет
    ("көрүшөт", "көрүү"),           # "they see": -үш + -өт
    ("токмоктошот", "токмоктоо"),   # "they club": -шот
    ("урбайт", "уруу"),             # "does not beat": negation -ба + -йт
    ("кыйнабайт", "кыйноо"),        # "does not torture"
    ("урбаймын", "урду"),           # "I do not beat"
    ("сабашпайт", "сабоо"),         # "they do not beat": -ш + -па after ш + -йт
    # continuous -ып жатат: the converb carries the verb
    ("сабап", "сабады"),            # «сабап жатышты» "they were beating"
    ("кыйнап", "кыйноо"),           # «кыйнап жатат» "is torturing"
    ("уруп", "уруу"),               # «уруп жатышты»
    # negated past participle «-ган жок»: the participle carries the verb
    ("сабаган", "сабады"),          # «сабаган жок» "did not beat"
    ("кыйнаган", "кыйноо"),         # «кыйнаган жок» "did not torture"
    ("урган", "уруу"),              # «урган жок» "did not hit"
    # causative
    ("кыйнатты", "кыйноо"),         # "had him tortured": -т after a vowel
    ("сабатты", "сабоо"),           # "had him beaten"
    ("карматты", "кармоо"),         # "had him detained"
    ("урдурду", "уруу"),            # "had him hit": -дур after р
    ("жаткызды", "жатты"),          # "made him lie down": -кыз after т
    ("күйгүздү", "күйдү"),          # "burned (him)" ~ "burned": -гүз after й
    ("күйгүзүү", "күйүп"),          # label "burns" ~ converb «күйүп калды»
    ("кыйнатышты", "кыйноо"),       # causative + reciprocal
    ("кыйнатылды", "кыйноо"),       # causative + passive
    ("кыйнатат", "кыйноо"),         # causative + present
    ("урдуруу", "урду"),            # verbal noun of the causative
]

# Words that only look like those forms, or other verbs, and must stay apart.
KYRGYZ_VERB_FORMS_APART = [
    ("кыйын", "кыйноо"),            # "difficult" ~ "torture"
    ("кыйын", "кыйнады"),
    ("сабак", "сабоо"),             # "lesson" ~ "beating"
    ("сабак", "сабады"),
    ("кармак", "кармоо"),           # "fishing hook" ~ "detention"
    ("урук", "урду"),               # "seed" ~ "beat"
    ("карды", "кароо"),             # "the snow" (accusative) ~ "examination" (кара-)
    ("кыйнады", "сабады"),          # two different verbs
    ("кармады", "кароо"),
    ("тоо", "тооду"),               # too short to be a verbal noun: "mountain"
    ("сабыр", "сабоо"),             # "patience" ~ "beating": -ыр is no causative here
    ("сабыр", "сабайт"),
    ("сабат", "сабоо"),             # "literacy": a causative only under a tense ending
    ("сабатын", "сабоо"),           # "his literacy"
    ("урук", "уруу"),               # "seed, clan" ~ "beating"
    ("урук", "урат"),
    ("жатышты", "сабоо"),           # «сабап жатышты»: the auxiliary alone is no torture word
    ("жатышты", "кыйноо"),
    ("жатышты", "уруу"),
    ("жатышты", "сабашты"),
    ("атам", "атып"),               # "my father" ~ "shooting": no bare -м after a consonant
    ("атам", "атат"),
    ("атабыз", "атуу"),             # "our father" ~ "shooting": listed as a noun
    ("сүрөт", "сүрдү"),             # "photo" ~ "pushed": listed as a noun
    ("сүрөттөр", "сүрүп"),          # finite endings are not read under noun endings
    ("сүрөтү", "сүрүү"),
    ("өлтүрдү", "өлдү"),            # "killed" ~ "died": -түр after л is not stripped
    ("урат", "сабайт"),             # two different verbs in the present
    ("кыйнатты", "кыйын"),
]


@pytest.mark.parametrize(("a", "b"), KYRGYZ_VERB_FORMS_MEET)
def test_kyrgyz_verb_forms_meet(a: str, b: str) -> None:
    assert analyze_word(a).all_stems() & analyze_word(b).all_stems(), (a, stems(a), b, stems(b))


@pytest.mark.parametrize(("a", "b"), KYRGYZ_VERB_FORMS_APART)
def test_kyrgyz_lookalikes_stay_apart(a: str, b: str) -> None:
    assert not analyze_word(a).all_stems() & analyze_word(b).all_stems(), (a, stems(a), b, stems(b))


def test_verb_roots_are_marked_and_bounded() -> None:
    from vault.search import kyrgyz_verbs

    assert "кыйна-" in kyrgyz_verbs.roots("кыйнады")
    assert kyrgyz_verbs.roots("кыйын") == frozenset()
    assert all(r.endswith("-") for w in ("урбады", "сабашты", "кыйноо") for r in kyrgyz_verbs.roots(w))
    assert len(kyrgyz_verbs.roots("кыйнашкандардын", kyrgyz.stems("кыйнашкандардын"))) <= 4
    assert stems("tortured") == {"tortur"}      # no verb roots outside Cyrillic
    assert kyrgyz_verbs.roots("кыйнатышты") >= {"кыйна-"}    # causative, reciprocal, past
    assert len(kyrgyz_verbs.roots("кыйнатышпайт", kyrgyz.stems("кыйнатышпайт"))) <= 4


# Russian nouns with a fleeting vowel in the genitive plural (пытка: пыток),
# which Snowball leaves apart from the other forms.
RUSSIAN_FLEETING_MEET = [
    ("пыток", "пытки"), ("пыток", "пытка"), ("пыток", "пыткам"), ("пытками", "пыток"),
    ("палок", "палка"), ("палок", "палками"),
    ("ошибок", "ошибка"), ("ошибок", "ошибки"),
    ("заявок", "заявка"),
    ("сумок", "сумка"),
    ("звонок", "звонка"),           # masculine: the vowel goes when an ending comes
    ("девушек", "девушка"),
    ("камер", "камера"), ("камер", "камерах"),     # no fleeting vowel: Snowball already
    ("избиений", "избиение"), ("задержаний", "задержание"),
]
RUSSIAN_FLEETING_APART = [
    ("палок", "полк"),              # "of sticks" ~ "regiment"
    ("палок", "пакет"),
    ("урок", "урка"),               # too short to drop a vowel: "урк" would be a new word
    ("сок", "ск"),
    ("пыток", "пытливый"),
    ("ошибок", "ошибочно"),
]


@pytest.mark.parametrize(("a", "b"), RUSSIAN_FLEETING_MEET)
def test_russian_fleeting_vowel_forms_meet(a: str, b: str) -> None:
    assert analyze_word(a).all_stems() & analyze_word(b).all_stems(), (a, stems(a), b, stems(b))


@pytest.mark.parametrize(("a", "b"), RUSSIAN_FLEETING_APART)
def test_russian_lookalikes_stay_apart(a: str, b: str) -> None:
    assert not analyze_word(a).all_stems() & analyze_word(b).all_stems(), (a, stems(a), b, stems(b))


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
    ["Ысык-Көл", "Issyk-Kul", "Issyk-Kol", "Ysyk-Kol", "Иссык-Куль", "Ысык-Көлдө", "Issyk-Kul'"],
    ["Талас", "Talas", "Таласта"],
    ["Баткен", "Batken", "Баткенде"],
    ["Чүй", "Chüy", "Чуй"],
    ["Жалал-Абад", "Джалал-Абад", "Жалал-Абадда"],
    ["Каракол", "Karakol", "Караколдо"],
    ["Токмок", "Tokmok", "Tokmak", "Токмак", "Токмокто"],
    ["Жээнбеков", "Jeenbekov", "Zheenbekov", "Жээнбековдун"],
    ["Үсөнов", "Usenov", "Usonov", "Усенов", "Усенова"],
])
def test_transliterations_share_a_skeleton(spellings: list[str]) -> None:
    first = analyze_word(spellings[0]).all_skeletons()
    for other in spellings[1:]:
        assert first & analyze_word(other).all_skeletons(), (spellings[0], other)


@pytest.mark.parametrize(("a", "b"), [
    ("Asanov", "Usenov"),           # the first vowel is kept: different surnames
    ("Isanov", "Usenov"),
    ("Tokmok", "Tamak"),
    ("Naryn", "Noran"),
    ("Osh", "Ash"),                 # too few consonants for a loose skeleton
    ("Kul", "Kel"),
    ("Talas", "Tolos"),
])
def test_different_names_keep_different_skeletons(a: str, b: str) -> None:
    assert not analyze_word(a).all_skeletons() & analyze_word(b).all_skeletons()


def test_loose_skeleton_rules() -> None:
    from vault.search.translit import loose_skeleton

    assert loose_skeleton("tokmok") == loose_skeleton("tokmak") == "tokm*k"
    assert loose_skeleton("isikul") == loose_skeleton("isikol") == "is*k*l"
    assert loose_skeleton("usenov") == "us*n*v"
    assert loose_skeleton("osh") == "" and loose_skeleton("kul") == ""   # under three consonants
    assert loose_skeleton("bshk") == ""       # nothing to loosen


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
