"""Anonymity holds across the whole bundle: every form of the victim's name, everywhere, for every exporter.

The victim Токтогулов Азамат Жээнбекович refused publication and transmission to the government. His
name is put, in Cyrillic and Latin, into the facts, the requested actions, the arrest place, the
perpetrators, an attachment's description and file name and the organisation (the documents' author
property); his home street into the arrest place; his ID number and date of birth into the facts.
For every exporter the plugin manager finds (a new one is covered when it lands) × language ×
variant: an exporter that must keep the name out refuses and names the places; with the redaction
accepted, the whole ZIP — every entry's name and bytes, the PDFs' text and properties (pypdf), the
DOCX XML, the annex — holds no form of the name.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile

import pytest
from pypdf import PdfReader

from tests.export.export_samples import full_case, make_item
from vault import plugins
from vault.domain.caserecord import parse_case
from vault.domain.exports import ExportOptions
from vault.export import anonymity
from vault.export.bundle import ExportRefused, build_bundle
from vault.export.verify import verify_bundle

_PM = plugins.make_plugin_manager()
ALL = {name for name, plugin in _PM.list_name_plugin() if plugin is not None}
EXPORTERS = plugins.exporters(_PM, ALL)
CASES = [(name, lang, variant) for name, exp in sorted(EXPORTERS.items()) for lang in exp.languages
         for variant in (None, *(v.name for v in exp.variants))]

# What must never be found in an anonymous bundle, searched as plain lower-case text (not with the
# code under test): the name in both scripts and its case forms' common stem, the street, the ID, the birth date.
FORBIDDEN = ["токтогулов", "toktogulov", "азамат", "azamat", "жээнбекович", "zheenbekovich", "jeenbekovich",
             "жаңы-жер", "zhany-zher", "jangy-jer", "1234567", "04.05.2001", "2001-05-04", "4 may 2001",
             "4 мая 2001", "4-майы"]


def leaky_case() -> dict:
    case = full_case()
    case["victim"].update({
        "family_name": "Токтогулов", "first_names": "Азамат", "patronymic": "Жээнбекович", "pseudonym": "Victim A",
        "id_document": "паспорт AN 1234567", "address": "Бишкек ш., Жаңы-Жер көчөсү, 12",
        "date_of_birth": "2001-05-04", "consent_publish_name": False, "consent_transmit_name_to_government": False,
    })
    case["facts"] = {
        "en": "On 12 March 2025 Mr Toktogulov (born 04.05.2001, passport AN1234567) was stopped near his home.\n\n"
              "Officers beat Azamat Toktogulov's feet and demanded a confession.",
        "ru": "12 марта 2025 года Токтогулова Азамата задержали возле дома.\n\nСотрудники били Токтогулова "
              "по стопам; паспорт AN 1234567.",
        "ky": "2025-жылдын 12-мартында Токтогуловду үйүнүн жанынан кармашты.\n\nА. Токтогуловго кол салышты.",
    }
    case["requests"]["omct_actions"] = ["guarantee the physical and psychological integrity of Mr Toktogulov",
                                        "investigate the torture of Azamat Toktogulov"]
    case["requests"]["concern"] = "We fear for the life of Toktogulov A."
    case["arrest"]["place"] = "Бишкек, возле дома Токтогулова по ул. Жаңы-Жер, 12"
    case["acts"][0]["perpetrators"][0]["names"] = "officers who knew Азамат Токтогулов"
    case["attachments"][0]["title"] = "Фото стоп Токтогулова А.Ж."
    case["source"]["organisation"] = "Coalition against torture (case of Toktogulov)"
    return case


def leaky_items(keys) -> list:
    return [make_item(keys, "item-photo", "Токтогулов_Азамат_травмы.jpg", b"\xff\xd8\xff" + b"jpeg" * 100,
                      media_type="image/jpeg"),
            make_item(keys, "item-auth", "Toktogulov-authorisation.pdf", b"%PDF-1.4 not really", "document"),
            make_item(keys, "item-note", "note.txt", b"a neutral note", "statement", media_type="text/plain")]


def opts(lang, variant=None, redact=False) -> ExportOptions:
    return ExportOptions(language=lang, variant=variant, document_date=dt.date(2025, 11, 20), redact=redact)


# --------------------------------------------------------------------------- the forms of the name

def identity(**victim) -> anonymity.Identity:
    case = full_case()
    case["victim"] = {"pseudonym": "Victim A", **victim}
    return anonymity.Identity.of(parse_case(case))


def found(ident, text) -> list[str]:
    return [f.kind for f, _ in ident.find(text)]


@pytest.mark.parametrize("text", [
    "Токтогулов", "ТОКТОГУЛОВ", "Токтогулова", "Токтогуловым", "Токтогуловго", "Токтогуловдун",
    "Toktogulov", "TOKTOGULOV", "Toktogulov's", "Toktogulova",
    "Азамат Токтогулов", "Азамата Токтогулова", "Azamat Toktogulov", "Токтогулов Азамат Жээнбекович",
    "Toktogulov Azamat Zheenbekovich", "Toktogulov Azamat Jeenbekovich", "Азамат Жээнбекович",
    "А. Токтогулов", "Токтогулов А.Ж.", "Токтогулов А.", "Toktogulov A.", "A. Toktogulov", "A.Zh. Toktogulov",
    "Токтогулов_Азамат_травмы.jpg", "toktogulov-azamat.pdf", "Азаматка",
])
def test_name_forms_are_found(text):
    assert found(identity(family_name="Токтогулов", first_names="Азамат", patronymic="Жээнбекович"), text), text


@pytest.mark.parametrize("text", ["ул. Токтогула, 1", "Токтогул көчөсү", "Азия", "the victim", "Victim A",
                                  "Айгүл Жээнбекова", "Жээнбеков"])
def test_other_words_are_not(text):
    assert not found(identity(family_name="Токтогулов", first_names="Азамат", patronymic="Жээнбекович"), text)


def test_kyrgyz_letters_in_both_scripts_and_as_typed_without_them():
    ident = identity(family_name="Өмүрбеков", first_names="Нурсултан")
    for text in ("Өмүрбеков", "Омурбеков", "Ömürbekov", "Omurbekov", "Oemuerbekov", "Өмүрбековго", "Н. Өмүрбеков"):
        assert found(ident, text), text
    assert {text: kind for kind, text in ident.examples()}["Omurbekov"].startswith("surname, ICAO 9303")  # ICAO 9303: Ө→O, Ү→U


@pytest.mark.parametrize("patronymic, texts", [
    ("Токтогул уулу", ["Азамат Токтогул уулу", "Токтогул уулуна", "Azamat Toktogul uulu", "A. Toktogul uulu"]),
    ("Бакыт кызы", ["Айгерим Бакыт кызы", "Aigerim Bakyt kyzy", "Бакыт кызына", "А. Бакыт кызы"]),
])
def test_uulu_and_kyzy(patronymic, texts):
    first = texts[0].split()[0]
    ident = identity(first_names=first, patronymic=patronymic)
    for text in texts:
        assert found(ident, text), text


def test_every_latin_form_shown_is_found():
    ident = identity(family_name="Жээнбеков", first_names="Үсөн", patronymic="Щукинович")
    shown = ident.examples()
    by_text = {text: kind for kind, text in shown}
    assert by_text["Zheenbekov"].startswith("surname, ICAO 9303") and "Jeenbekov" in by_text
    for kind, text in shown:
        assert list(ident.find(text)), (kind, text)


def test_id_number_birth_date_and_street():
    ident = identity(family_name="Ли", id_document="ID 2345678", date_of_birth="2001-05-04",
                     address="Бишкек ш., Жаңы-Жер көчөсү, 12")
    for text in ("2345678", "23 45 678", "04.05.2001", "4.5.2001", "2001-05-04", "4 May 2001", "4 мая 2001 г.",
                 "2001-жылдын 4-майы", "ул. Жаңы-Жер", "Zhany-Zher street", "Jangy-Jer"):
        assert found(ident, text), text
    assert not found(ident, "12345678") and not found(ident, "Лидия")  # a short surname is not matched alone
    assert ident.redact("born 4 May 2001") == "born [withheld]"


# --------------------------------------------------------------------------- the whole bundle

def zip_texts(data: bytes):
    """(where, text) for everything in a ZIP: entry names, bytes as text, PDF text and properties, DOCX XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            body = zf.read(name)
            yield f"entry name {name}", name
            yield f"{name} bytes", body.decode("utf-8", "ignore")
            if name.endswith(".pdf") and body.startswith(b"%PDF-1.") and len(body) > 200:
                reader = PdfReader(io.BytesIO(body))
                yield f"{name} properties", " ".join(str(v) for v in (reader.metadata or {}).values())
                for n, page in enumerate(reader.pages, 1):
                    yield f"{name} page {n}", page.extract_text()
            if name.endswith(".docx"):
                with zipfile.ZipFile(io.BytesIO(body)) as docx:
                    for part in docx.namelist():
                        xml = docx.read(part).decode("utf-8", "ignore")
                        yield f"{name}: {part}", xml
                        yield f"{name}: {part} text", re.sub(r"<[^>]+>", "", xml)


def leaks(data: bytes) -> list[str]:
    out = []
    for where, text in zip_texts(data):
        flat = unicodedata.normalize("NFC", text).casefold()
        flat = re.sub(r"\s+", " ", flat)
        out += [f"{where}: {word}" for word in FORBIDDEN if word in flat or word in flat.replace(" ", "")]
    return out


@pytest.mark.parametrize("name, lang, variant", CASES)
def test_every_exporter_keeps_the_name_out(name, lang, variant, keys, tmp_path):
    exp = EXPORTERS[name]
    case, items = leaky_case(), leaky_items(keys)
    mode = anonymity.policy(exp, parse_case(case))
    if mode is None:  # this recipient may receive the name (the Committee, the Akyikatchy, the prosecutor)
        data = build_bundle(name, case, items, opts(lang, variant), keys, "x", pm=_PM, enabled=ALL,
                            allow_missing=True)
        assert verify_bundle(io.BytesIO(data)).intact
        return
    with pytest.raises(ExportRefused) as refused:  # a draft too: a draft can be sent
        build_bundle(name, case, items, opts(lang, variant), keys, "x", pm=_PM, enabled=ALL, allow_missing=True)
    problems = refused.value.problems
    where = " | ".join(p.message for p in problems)
    paths = {p.path for p in problems}
    assert "anonymity" in paths
    for path in ("facts.en", "facts.ru", "facts.ky", "arrest.place", "requests.concern",
                 "requests.omct_actions[0]", "acts[0].perpetrators[0].names", "attachments[0].title",
                 "source.organisation"):
        assert path in paths, (path, where)
    assert "facts (ru), paragraph 2" in where and "arrest place" in where and "«Жаңы-Жер» (home address)" in where
    assert "«AN1234567» (ID document)" in where and "«04.05.2001» (date of birth)" in where
    assert all(p.messages.get("ru") and p.messages.get("ky") for p in problems)

    data = build_bundle(name, case, items, opts(lang, variant, redact=True), keys, "x", pm=_PM, enabled=ALL,
                        allow_missing=True)
    assert leaks(data) == []
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "attachments/attachment-01-photo.jpg" in names and "attachments/attachment-03-statement.txt" in names
    report = verify_bundle(io.BytesIO(data))
    assert report.intact, report.to_text()
    assert report.withheld == ["item-photo", "item-auth", "item-note"]
    text = "\n".join(t for w, t in zip_texts(data) if w.endswith("page 1") or w.endswith("page 2"))
    assert "Victim A" in text  # the pseudonym stands where the name was


def test_the_record_and_file_names_are_named_places(keys):
    from vault.export.bundle import validate_export

    exp = EXPORTERS["omct"]
    problems = validate_export(_PM, ALL, exp, parse_case(leaky_case()), leaky_items(keys), opts("en"))
    texts = [p.message for p in problems]
    assert any(t.startswith("attachment name Токтогулов_Азамат_травмы.jpg: «Токтогулов_Азамат»") for t in texts)
    assert any(t.startswith("requests, concern: «Toktogulov A.» (surname with initials)") for t in texts)
    assert any("facts (en), paragraph 2: «Azamat Toktogulov» (full name)" in t for t in texts)
    redacted = validate_export(_PM, ALL, exp, parse_case(leaky_case()), leaky_items(keys), opts("en", redact=True))
    assert not [p for p in redacted if p.severity == "missing" and p.path != "form" and "identif" in p.message]
    assert any("will be replaced with «Victim A»" in p.message for p in redacted)


def test_consent_lets_the_name_through(keys):
    case = leaky_case()
    case["victim"]["consent_publish_name"] = True
    data = build_bundle("omct", case, leaky_items(keys), opts("en"), keys, "x", pm=_PM, enabled=ALL,
                        allow_missing=True)
    assert any("toktogulov" in w for w in leaks(data))
    # ...but the attachments of an OMCT appeal are neutral all the same, and the manifests travel whole
    assert "attachments/attachment-01-photo.jpg" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert verify_bundle(io.BytesIO(data)).withheld == []


def test_a_text_attachment_that_names_the_victim_refuses_even_redacted(keys):
    items = leaky_items(keys)[:1] + [make_item(keys, "item-note", "note.txt", "Токтогулов был избит".encode(),
                                               "statement", media_type="text/plain")]
    with pytest.raises(ExportRefused) as refused:
        build_bundle("omct", leaky_case(), items, opts("en", redact=True), keys, "x", pm=_PM, enabled=ALL,
                     allow_missing=True)
    assert any("attachment-02-statement.txt (contents)" in p.message for p in refused.value.problems)
