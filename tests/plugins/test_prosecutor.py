"""The fifth exporter: the crime report on torture to the prosecutor's office, built on vault.plugin_api only.

Found through the entry-point group as any third-party plugin is; the golden
case rendered in Russian and Kyrgyz, both variants, read back from PDF and
DOCX; every requirement of the report in the checklist below, each with its
source (the "sources" of plugins/vault_plugin_prosecutor/mapping.json, and
docs/exports.md); the PDF pages rasterised and none near-blank; and the
import contract that holds the plugin to the public API, shown to bite.
"""

from __future__ import annotations

import copy
import importlib.metadata
import io
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import docx
import pytest
from PIL import Image
from pypdf import PdfReader

from tests.export.export_samples import ENABLED, full_case, options, sample_items
from vault import crypto, plugins
from vault.domain.caserecord import CaseRecord, parse_case
from vault.export.bundle import ExportRefused, render_checked
from vault.plugin_api import load_mapping

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "vault_plugin_prosecutor"
NAME = "prosecutor"
ON = set(ENABLED) | {NAME}
MAPPING = load_mapping(PACKAGE)
SHOTS = Path("/tmp/prosecutor-pages")


@pytest.fixture(scope="module")
def pm():
    return plugins.make_plugin_manager()


@pytest.fixture(scope="module")
def items():
    return sample_items(crypto.UserKeys.generate())


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- discovery


def test_found_through_the_entry_point_group_like_a_third_party_plugin(pm):
    # Every distribution's entry points, as pluggy reads them (entry_points() keeps one per name,
    # and a stale *.egg-info in the source tree may come first).
    points = {(ep.name, ep.value) for dist in importlib.metadata.distributions()
              for ep in dist.entry_points if ep.group == plugins.ENTRY_POINT_GROUP}
    assert (NAME, PACKAGE) in points
    info = {i.name: i for i in plugins.installed_plugins(pm)}[NAME]
    # A distribution is known only for a plugin loaded from an entry point (not from the fallback list).
    assert (info.module, info.distribution) == (PACKAGE, "evidence-vault")
    assert {"vault_exporters", "vault_validate", "vault_export"} <= set(info.hooks)
    offered = plugins.exporters(pm, {NAME})
    assert set(offered) == {NAME}
    exp = offered[NAME]
    assert exp.plugin == NAME and exp.languages == ("ru", "ky") and exp.form_verified is False
    assert exp.translations["ru"]["label"].startswith("Прокуратура") and "кыйноо" in exp.translations["ky"]["label"]
    assert [v.name for v in exp.variants_for("KGZ")] == ["regional", "general"]
    assert exp.variants_for("KAZ") == ()
    assert {"applicant.full_name", "applicant.address", "victim.consent_to_submit",
            "acts[].date_from", "acts[].place"} <= set(exp.required_fields)


def test_the_plugin_imports_only_the_public_api():
    for path in (ROOT / "plugins" / PACKAGE).glob("*.py"):
        source = path.read_text(encoding="utf-8")
        vault_lines = [line for line in source.splitlines()
                       if line.startswith(("import vault", "from vault"))]
        assert vault_lines == ["from vault.plugin_api import ("], (path, vault_lines)


def _lint(config: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed in this environment")
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": f"{pythonpath}:{ROOT}"}
    return subprocess.run([lint, "--no-cache", "--config", str(config)], cwd=pythonpath, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_import_contract_covers_the_plugin_and_bites(tmp_path):
    linter = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert PACKAGE in linter["root_packages"]
    contract = next(c for c in linter["contracts"] if c["name"] == "Bundled plugins use only the public plugin API")
    assert PACKAGE in contract["source_modules"] and "vault.export" in contract["forbidden_modules"]

    # The same contract on a copy of the plugin: kept as it is, broken by one import from behind the API.
    probe = tmp_path / "probe_prosecutor"
    shutil.copytree(ROOT / "plugins" / PACKAGE, probe, ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp_path / "importlinter.toml"
    config.write_text(textwrap.dedent(f"""\
        [tool.importlinter]
        include_external_packages = true
        root_packages = ["vault", "probe_prosecutor"]

        [[tool.importlinter.contracts]]
        name = "probe"
        type = "forbidden"
        source_modules = ["probe_prosecutor"]
        forbidden_modules = {contract["forbidden_modules"]!r}
        allow_indirect_imports = true
        """).replace("'", '"'))
    kept = _lint(config, tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    (probe / "reach_around.py").write_text("from vault.export.mapping import build_sections\n\nB = build_sections\n")
    broken = _lint(config, tmp_path)
    assert broken.returncode != 0 and "probe_prosecutor.reach_around -> vault.export.mapping" in broken.stdout, \
        broken.stdout + broken.stderr


# --------------------------------------------------------------------------- the golden case

EXPECTED = {
    "ru": ["ЗАЯВЛЕНИЕ О ПРЕСТУПЛЕНИИ", "Заявитель: Айгүл Жээнбекова", "адвокат, представитель потерпевшего",
           "письменная доверенность потерпевшего, 20 марта 2025 г. (Өмүрбеков Н.Т.)",
           "Өмүрбеков Нурсултан Төлөнбекович", "Бишкек ш., Жаңы-Жер көчөсү, 12", "СИЗО-1, г. Бишкек",
           "Согласие на подачу заявления", "надевали на голову полиэтиленовый пакет",
           "Свердловский РОВД, кабинет 14", "кровоподтёки на стопах, ссадины на запястьях",
           "Милиция (МВД), Свердловский РОВД, уголовный розыск",
           "Дж. Сулайманова, судебно-медицинский эксперт", "в высокой степени соответствует",
           "Отказ в возбуждении уголовного дела",
           "статьёй 137 «Пытки» Уголовного кодекса Кыргызской Республики от 28 октября 2021 года № 127",
           "(пытки, отказ в доступе к адвокату)", "статья 377 Уголовного кодекса",
           "статьёй 7 Международного пакта", "На основании изложенного прошу:",
           "зарегистрировать настоящее заявление в Едином реестре преступлений (статья 146 "
           "Уголовно-процессуального кодекса Кыргызской Республики)",
           "возбудить уголовное дело по признакам преступления, предусмотренного статьёй 137",
           "быстрое, беспристрастное и эффективное расследование (статья 12 Конвенции против пыток)",
           "незамедлительно, пока следы телесных повреждений не исчезли, назначить судебно-медицинскую экспертизу",
           "записей видеонаблюдения",
           "в том числе в месте содержания под стражей (СИЗО-1, г. Бишкек)",
           "защите их от давления, угроз и мести", "(статья 13 Конвенции против пыток; Стамбульский протокол, п. 195)",
           "уведомить меня в письменной форме по указанному адресу в срок, установленный "
           "Уголовно-процессуальным кодексом",
           "Доверенность", "Об уголовной ответственности за заведомо ложный донос предупреждён(а).",
           "Подпись", "20 ноября 2025 г."],
    "ky": ["КЫЛМЫШ ЖӨНҮНДӨ АРЫЗ", "Арыз берүүчү: Айгүл Жээнбекова", "адвокат, жабырлануучунун өкүлү",
           "жабырлануучунун жазуу жүзүндөгү ишеним каты, 2025-жылдын 20-марты (Өмүрбеков Н.Т.)",
           "Өмүрбеков Нурсултан Төлөнбекович", "Арыз берүүгө макулдугу",
           "башыма бир нече жолу полиэтилен пакет", "жогорку даражада дал келет",
           "2021-жылдын 28-октябрындагы № 127 Кылмыш-жаза кодексинин 137-беренесинде («Кыйноо»)",
           "(кыйноо, адвокат менен жолугушууга жол бербөө)", "Кылмыш-жаза кодексинин 377-беренеси",
           "Жогоруда баяндалгандардын негизинде төмөнкүлөрдү суранам:",
           "Кылмыштардын бирдиктүү реестрине каттоону (Кыргыз Республикасынын Кылмыш-жаза процессуалдык "
           "кодексинин 146-беренеси)",
           "кылмыш ишин козгоону", "Кыйноолорго каршы конвенциянын 12-беренеси",
           "Стамбул протоколуна ылайык дароо соттук-медициналык экспертиза дайындоону",
           "анын ичинде кармоо жайында (СИЗО-1, г. Бишкек)", "өч алуудан коргоо",
           "Кыйноолорго каршы конвенциянын 13-беренеси; Стамбул протоколу, 195-пункт",
           "жазуу жүзүндө кабарлоону", "жалган донос", "2025-жылдын 20-ноябры"],
}
ADDRESSEE = {("ru", None): "Прокурору города Бишкек", ("ru", "general"): "Генеральному прокурору Кыргызской Республики",
             ("ky", None): "Бишкек шаарынын прокуроруна", ("ky", "general"): "Кыргыз Республикасынын Башкы прокуроруна"}


def _ink(png: Path) -> float:
    """The share of dark pixels on a page above its footer."""
    image = Image.open(png).convert("L")
    body = image.crop((0, 0, image.width, int(image.height * 0.92)))
    return sum(body.histogram()[:200]) / (body.width * body.height)


@pytest.mark.parametrize(("lang", "variant"), sorted(ADDRESSEE, key=str))
def test_golden_case_renders_to_pdf_and_docx(pm, items, tmp_path, lang, variant):
    case = parse_case(full_case())
    problems = plugins.validate(pm, ON, NAME, case, items, options(lang, variant))
    assert {(p.path, p.severity) for p in problems} == {("form", "warning"), ("domestic_remedies", "warning")}
    old = next(p for p in problems if p.path == "domestic_remedies")
    assert "143" in old.text(lang) and "137" in old.text(lang)  # the record cites the 2017 code's article

    rendered = plugins.export(pm, ON, NAME, case, items, options(lang, variant))
    assert rendered.language == lang and "Өмүрбеков" not in rendered.basename
    texts = {"pdf": flat(pdf_text(rendered.pdf)), "docx": flat(docx_text(rendered.docx))}
    for kind, text in texts.items():
        for expected in [ADDRESSEE[lang, variant], *EXPECTED[lang]]:
            assert flat(expected) in text, f"{kind} ({lang}, {variant}) lacks {expected!r}"
        other = ADDRESSEE[lang, "general" if variant is None else None]
        assert other not in text
        if lang == "ky":
            assert {"ң", "ө", "ү"} <= set(text)
    # The six requests of the mapping, numbered, after the request's opening words.
    opening = "На основании изложенного прошу:" if lang == "ru" else "төмөнкүлөрдү суранам:"
    requests = texts["pdf"].split(opening, 1)[1]
    assert all(f"{n}." in requests for n in range(1, 7))

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(rendered.pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(io.BytesIO(rendered.pdf)).pages) >= 3
    for page in pages:
        assert _ink(page) > 0.01, f"{page.name} is near-blank"
    SHOTS.mkdir(exist_ok=True)
    for page in pages:
        shutil.copy(page, SHOTS / f"{lang}-{variant or 'regional'}-{page.name}")


def test_without_a_medical_examination_the_report_asks_for_one(pm, items):
    data = full_case()
    data["medical"]["examinations"] = []
    case = parse_case(data)
    problems = plugins.validate(pm, ON, NAME, case, items, options("ru"))
    assert ("medical.examinations", "warning") in {(p.path, p.severity) for p in problems}
    text = flat(pdf_text(plugins.export(pm, ON, NAME, case, items, options("ru")).pdf))
    assert "Медицинское освидетельствование потерпевшего не проводилось" in text
    assert "Освидетельствование 1" not in text


def test_a_forensic_report_item_is_said_attached_or_not(pm, items):
    data = full_case()
    data["medical"]["examinations"][0]["report_item"] = "item-photo"
    text = flat(docx_text(plugins.export(pm, ON, NAME, parse_case(data), items, options("ru")).docx))
    assert "заключение прилагается (Фото стоп, 17.03.2025)" in text
    text = flat(docx_text(plugins.export(pm, ON, NAME, parse_case(data), items[1:], options("ky")).docx))
    assert "корутунду арызга тиркелген жок" in text


def test_no_region_leaves_the_addressee_to_fill_in(pm, items):
    data = full_case()
    data["arrest"].pop("region")
    for act in data["acts"]:
        act.pop("region", None)
    case = parse_case(data)
    assert ("acts", "warning") in {(p.path, p.severity)
                                   for p in plugins.validate(pm, ON, NAME, case, items, options("ru"))}
    assert "acts" not in {p.path for p in plugins.validate(pm, ON, NAME, case, items, options("ru", "general"))}
    assert "Прокурору ____________________ (района, города, области)" in \
        flat(pdf_text(plugins.export(pm, ON, NAME, case, items, options("ru")).pdf))


# --------------------------------------------------------------------------- the checklist

def _set(path: str, value):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DROP:
            target.pop(last, None)
        else:
            target[last] = value
    return change


_DROP = object()

# (what the prosecutor's office needs, its source in mapping.json "sources", how the record lacks it,
#  the problem's path, its severity)
CHECKLIST = [
    ("a Kyrgyz case", "cc2021", _set("state", "KAZ"), "state", "missing"),
    ("the applicant's full name", "who_may_file", _set("applicant.full_name", _DROP), "applicant.full_name", "missing"),
    ("an address for the written decision", "cpc_time_limit", _set("applicant.address", _DROP),
     "applicant.address", "missing"),
    ("who files", "who_may_file", _set("applicant.relationship_to_victim", _DROP),
     "applicant.relationship_to_victim", "missing"),
    ("the victim's consent when a third party files", "consent", _set("victim.consent_to_submit", False),
     "victim.consent_to_submit", "missing"),
    ("the victim's consent asked, not assumed", "consent", _set("victim.consent_to_submit", None),
     "victim.consent_to_submit", "missing"),
    ("the name not refused to the authorities", "consent", _set("victim.consent_transmit_name_to_government", False),
     "victim.consent_transmit_name_to_government", "missing"),
    ("a representative's written authorisation", "consent", _set("authorisation.given", None),
     "authorisation.given", "missing"),
    ("the victim's name", "cc137", lambda d: d["victim"].update(family_name=None, first_names=None),
     "victim.family_name", "missing"),
    ("the statement of facts", "who_may_file", _set("facts", {}), "facts", "missing"),
    ("an act of torture or ill-treatment", "cc137", lambda d: d.update(acts=d["acts"][1:]), "acts", "missing"),
    ("the date of each act", "cc137", _set("acts.0.date_from", _DROP), "acts[0].date_from", "missing"),
    ("the place of each act", "cc137", _set("acts.0.place", _DROP), "acts[0].place", "missing"),
    ("who did it, if known", "cat12_13", _set("acts.0.perpetrators", []), "acts[0].perpetrators", "warning"),
    ("a medical examination, or the request for one", "ip2022", _set("medical.examinations", []),
     "medical.examinations", "warning"),
    ("the region, for the addressee", "cpc146",
     lambda d: [x.pop("region", None) for x in (d["arrest"], *d["acts"])], "acts", "warning"),
    ("no article of the repealed code", "cc137", None, "domestic_remedies", "warning"),
]


def test_every_rule_of_the_mapping_is_in_the_checklist_and_cites_a_source():
    sources = MAPPING["sources"]
    for rule in MAPPING["requirements"]:
        assert rule["source"] in sources, rule
        assert all(lang in rule["message"] for lang in ("en", "ru", "ky"))
        if rule.get("severity", "missing") == "missing":  # said in the prosecutor's terms
            assert any(w in rule["message"]["ru"].lower() for w in ("прокуратур", "заявлени")), rule["message"]
    assert {row[1] for row in CHECKLIST} <= set(sources)
    rule_paths = {rule.get("path") or (f"{rule['list']}[0].{rule['field']}" if rule["rule"] == "each"
                                       else (rule.get("fields") or [rule["field"]])[0])
                  for rule in MAPPING["requirements"]}
    assert rule_paths - {row[3] for row in CHECKLIST} == {"attachments"}  # the authorisation attached: below


@pytest.mark.parametrize(("need", "source", "change", "path", "severity"), CHECKLIST, ids=[r[0] for r in CHECKLIST])
def test_checklist(pm, items, need, source, change, path, severity):
    data = full_case()
    if change is not None:
        change(data)
    problems = plugins.validate(pm, ON, NAME, parse_case(data), items, options("ky"))
    found = [p for p in problems if p.path == path and p.severity == severity]
    assert found, f"{need} ({source}): no {severity} at {path} in {[p.path for p in problems]}"
    rule_cites = [r["cite"] for r in MAPPING["requirements"] if r["source"] == source and "cite" in r]
    for problem in found:
        assert problem.messages["ru"] and problem.messages["ky"] and problem.text("ky") != problem.message
        assert not rule_cites or any(cite["ky"] in problem.text("ky") for cite in rule_cites)  # the rule is named
    if severity == "missing":
        with pytest.raises(ExportRefused) as refused:
            render_checked(NAME, data, items, options("ru"), pm=pm, enabled=ON)
        assert path in {p.path for p in refused.value.problems}


def test_an_incomplete_record_is_refused_in_the_prosecutors_terms(pm):
    case = CaseRecord.model_validate({"applicant": {"relationship_to_victim": "organisation"},
                                      "acts": [{"violation": "arbitrary_detention"}]})
    with pytest.raises(ExportRefused) as refused:
        render_checked(NAME, case, [], options("ru"), pm=pm, enabled=ON)
    by_path = {p.path: p for p in refused.value.problems}
    assert {"applicant.full_name", "applicant.address", "victim.consent_to_submit", "authorisation.given",
            "victim.family_name", "facts", "acts", "acts[0].date_from", "acts[0].place"} <= set(by_path)
    assert "Прокуратуре необходимо полное имя заявителя" in by_path["applicant.full_name"].text("ru")
    assert "Прокуратурага арыз берүүчүнүн толук аты-жөнү керек" in by_path["applicant.full_name"].text("ky")
    assert "статье 137" in by_path["acts"].text("ru") and "137-беренеси" in by_path["acts"].text("ky")
    assert "согласия потерпевшего" in by_path["victim.consent_to_submit"].text("ru")


@pytest.mark.parametrize("who", ["self", "family"])
def test_no_authorisation_needed_from_the_victim_or_family(pm, items, who):
    data = copy.deepcopy(full_case())
    data["applicant"]["relationship_to_victim"] = who
    data["authorisation"] = {}
    if who == "self":
        data["victim"]["consent_to_submit"] = None  # the victim files: nothing to consent to
    paths = {p.path for p in plugins.validate(pm, ON, NAME, parse_case(data), items, options("ru"))}
    assert "authorisation.given" not in paths and "attachments" not in paths
    assert ("victim.consent_to_submit" in paths) is False


def test_the_authorisation_unattached_is_a_warning(pm, items):
    without = [item for item in items if item.item_id != "item-auth"]
    problems = plugins.validate(pm, ON, NAME, parse_case(full_case()), without, options("ru"))
    assert ("attachments", "warning") in {(p.path, p.severity) for p in problems}


def test_an_unknown_variant_is_refused(pm, items):
    problems = plugins.validate(pm, ON, NAME, parse_case(full_case()), items, options("ru", "court"))
    assert ("options.variant", "missing") in {(p.path, p.severity) for p in problems}
