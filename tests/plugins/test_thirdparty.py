"""A third-party plugin installed with pip is found through the entry-point group and runs."""

from __future__ import annotations

import io
import zipfile

import docx
from pypdf import PdfReader

from vault import crypto, plugins
from vault.domain.caserecord import CaseRecord
from vault.domain.exports import ExportOptions
from vault.export.bundle import build_bundle
from vault.export.verify import verify_bundle


def test_pip_installed_plugin_is_discovered_and_exports(thirdparty_site):
    pm = plugins.make_plugin_manager()
    info = {i.name: i for i in plugins.installed_plugins(pm)}
    assert info["thirdparty-demo"].distribution == "vault-thirdparty-demo"
    assert info["thirdparty-demo"].version == "0.1.0"
    assert "vault_export" in info["thirdparty-demo"].hooks

    assert "demo-letter" not in plugins.exporters(pm, {"omct"})  # installed is not enabled
    offered = plugins.exporters(pm, {"thirdparty-demo"})
    assert set(offered) == {"demo-letter"} and offered["demo-letter"].plugin == "thirdparty-demo"

    case = CaseRecord.model_validate({"victim": {"family_name": "Өмүрбеков"}})
    opts = ExportOptions(language="ru")
    assert plugins.validate(pm, {"thirdparty-demo"}, "demo-letter", case, [], opts) == []
    rendered = plugins.export(pm, {"thirdparty-demo"}, "demo-letter", case, [], opts)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(rendered.docx)).paragraphs)
    assert "Case of Өмүрбеков" in text
    assert "Өмүрбеков" in PdfReader(io.BytesIO(rendered.pdf)).pages[0].extract_text()


def test_pip_installed_plugin_bundle_verifies(thirdparty_site, tmp_path):
    pm = plugins.make_plugin_manager()
    keys = crypto.UserKeys.generate()
    case = {"victim": {"family_name": "Жаңыбаев"}}
    data = build_bundle("demo-letter", case, [], ExportOptions(language="en"), keys, "tester",
                        pm=pm, enabled={"thirdparty-demo"})
    path = tmp_path / "demo.zip"
    path.write_bytes(data)
    assert set(zipfile.ZipFile(path).namelist()) == {
        "demo-letter.docx", "demo-letter.pdf", "custody/annex.html", "custody/annex.json",
        "custody/annex.sig"}
    assert verify_bundle(path).ok

