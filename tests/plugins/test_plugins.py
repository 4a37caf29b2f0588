"""The plugin manager: discovery, enabled/disabled plugins, hook calls and their failures."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest

from vault import plugins
from vault.domain.caserecord import CaseRecord
from vault.domain.exports import EvidenceNotice, Exporter, ExportOptions
from vault.hookspecs import hookimpl

ROOT = Path(__file__).resolve().parents[2]
ALL = {"omct", "un", "ombudsman"}
OPTS = ExportOptions(language="en")


class Recorder:
    """An in-test notification plugin."""

    def __init__(self):
        self.events = []

    @hookimpl
    def vault_evidence_added(self, item):
        self.events.append(("added", item.item_id, item.case_id))

    @hookimpl
    def vault_plugin_state_changed(self, name, enabled, actor):
        self.events.append(("state", name, enabled, actor))


class Broken:
    @hookimpl
    def vault_exporters(self):
        raise RuntimeError("victim Өмүрбеков")  # a plugin error that quotes sealed content

    @hookimpl
    def vault_evidence_added(self, item):
        raise RuntimeError("boom")


def test_bundled_and_core_plugins_are_registered(pm):
    names = {info.name for info in plugins.installed_plugins(pm)}
    assert {"core-checks", "omct", "un", "ombudsman"} <= names
    core = next(i for i in plugins.installed_plugins(pm) if i.name == "core-checks")
    assert core.always_on and core.hooks == ("vault_validate",)


def test_hook_vault_exporters(pm):
    offered = plugins.exporters(pm, ALL)
    assert set(offered) == {"omct", "un-srt", "un-hrc", "ombudsman"}
    assert {e.plugin for e in offered.values()} == {"omct", "un", "ombudsman"}
    for exp in offered.values():
        assert exp.form_version and exp.required_fields and exp.output_formats == ("docx", "pdf")
        assert exp.form_verified is False  # EXPORTS.md: none of the forms could be checked
    assert offered["omct"].languages == ("en",)
    assert offered["un-srt"].languages == offered["un-hrc"].languages == ("en", "ru")
    assert offered["ombudsman"].languages == ("ru", "ky")
    assert "victim.consent_transmit_name_to_government" in offered["un-srt"].required_fields


def test_only_enabled_plugins_offer_exporters(pm):
    assert set(plugins.exporters(pm, {"un"})) == {"un-srt", "un-hrc"}
    assert plugins.exporters(pm, set()) == {}
    assert set(plugins.exporters(pm, {"omct", "not-installed"})) == {"omct"}


def test_disabled_plugin_cannot_validate_or_export(pm):
    case = CaseRecord()
    with pytest.raises(plugins.UnknownExporter):
        plugins.export(pm, {"un"}, "omct", case, [], OPTS)
    with pytest.raises(plugins.UnknownExporter):
        plugins.validate(pm, {"un"}, "omct", case, [], OPTS)


def test_language_not_offered_is_a_problem(pm):
    problems = plugins.validate(pm, ALL, "omct", CaseRecord(), [], ExportOptions(language="ky"))
    assert [(p.path, p.severity) for p in problems] == [("options.language", "missing")]


def test_cat22_variant_not_offered_by_default_for_kyrgyzstan(pm):
    hrc = plugins.exporters(pm, ALL)["un-hrc"]
    assert [v.name for v in hrc.variants] == ["cat22"]
    assert hrc.variants_for("KGZ") == ()
    assert [v.name for v in hrc.variants_for("KAZ")] == ["cat22"]


def test_broken_plugin_is_skipped_and_logged_without_its_message(pm, caplog):
    pm.register(Broken(), name="broken")
    with caplog.at_level(logging.ERROR, logger="vault.plugins"):
        offered = plugins.exporters(pm, ALL | {"broken"})
    assert set(offered) == {"omct", "un-srt", "un-hrc", "ombudsman"}
    assert "broken" in caplog.text and "RuntimeError" in caplog.text
    assert "Өмүрбеков" not in caplog.text


def test_duplicate_exporter_name_keeps_one_and_logs(pm, caplog):
    class Impostor:
        @hookimpl
        def vault_exporters(self):
            return [Exporter(name="omct", label="fake", target_body="x", languages=("en",),
                             form_version="x", form_verified=True)]

    pm.register(Impostor(), name="zz-impostor")
    with caplog.at_level(logging.ERROR, logger="vault.plugins"):
        offered = plugins.exporters(pm, ALL | {"zz-impostor"})
    assert offered["omct"].plugin == "omct"
    assert "zz-impostor" in caplog.text


def test_plugin_failure_in_export_does_not_chain_the_plaintext(pm):
    class Failing:
        @hookimpl
        def vault_exporters(self):
            return [Exporter(name="failing", label="f", target_body="x", languages=("en",),
                             form_version="x", form_verified=True)]

        @hookimpl
        def vault_export(self, exporter, case, items, options):
            raise ValueError("secret victim name")

    pm.register(Failing(), name="failing")
    with pytest.raises(plugins.PluginFailed) as info:
        plugins.export(pm, {"failing"}, "failing", CaseRecord(), [], OPTS)
    assert "secret" not in str(info.value)
    assert info.value.__suppress_context__ and info.value.__cause__ is None


def test_hook_vault_evidence_added(pm, caplog):
    rec = Recorder()
    pm.register(rec, name="recorder")
    pm.register(Broken(), name="broken")
    notice = EvidenceNotice(item_id="i1", case_id="c1", uploader="aigul", uploaded_at="2025-03-17T12:00:00Z",
                            evidence_type="photo", size=123)
    plugins.notify_evidence_added(pm, {"recorder", "broken"}, notice)
    assert rec.events == [("added", "i1", "c1")]  # the broken notifier did not stop it
    plugins.notify_evidence_added(pm, set(), notice)  # disabled: not called
    assert rec.events == [("added", "i1", "c1")]


def test_hook_vault_plugin_state_changed(pm):
    rec = Recorder()
    pm.register(rec, name="recorder")
    plugins.notify_plugin_state_changed(pm, {"recorder", "omct"}, "omct", True, "admin")
    plugins.notify_plugin_state_changed(pm, {"un"}, "recorder", False, "admin")  # recorder now disabled
    assert rec.events == [("state", "omct", True, "admin")]


def test_process_wide_manager_is_built_once():
    assert plugins.get_plugin_manager() is plugins.get_plugin_manager()


def test_pyproject_registers_the_bundled_plugins_as_entry_points():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    group = project.get("entry-points", {}).get("evidence_vault", {})
    assert group == plugins.BUNDLED_PLUGINS, (
        "add the bundled plugins to [project.entry-points.\"evidence_vault\"] in pyproject.toml "
        "(see docs/plugins.md)")
