"""The public plugin surface: vault.plugin_api is all a bundled plugin imports, and all of it is documented.

Plugins importing vault internals would tie every refactoring of vault.export
or vault.domain to every plugin; the bundled ones show third parties the way,
so they are held to vault.plugin_api (and ``from vault import hookimpl``).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import vault
from vault import hookspecs, plugin_api
from vault.plugin_api import exporter_from_mapping, required_fields

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_FILES = sorted((ROOT / "plugins").glob("vault_plugin_*/**/*.py")) + sorted(
    (ROOT / "tests" / "plugins" / "thirdparty").glob("*/**/*.py"))
ALLOWED_MODULES = {"vault", "vault.plugin_api"}


def vault_imports_beyond_the_api(source: str) -> list[str]:
    """Every import of vault in ``source`` other than vault.plugin_api and ``from vault import <public name>``."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names
                    if a.name.split(".")[0] == "vault" and a.name not in ALLOWED_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "vault":  # `from vault import crypto` is a submodule: only vault.__all__ is public
                bad += [f"vault.{a.name}" for a in node.names if a.name not in vault.__all__]
            elif node.module.split(".")[0] == "vault" and node.module not in ALLOWED_MODULES:
                bad.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            target = node.args[0].value
            if (name in ("import_module", "__import__") and isinstance(target, str)
                    and target.split(".")[0] == "vault" and target not in ALLOWED_MODULES):
                bad.append(target)
    return bad


def test_the_import_check_catches_what_it_should():
    assert vault_imports_beyond_the_api(
        "import vault\nimport vault.plugin_api\nfrom vault import hookimpl\nfrom vault.plugin_api import Document\n"
        "from . import cat22\nimport json\n") == []
    assert vault_imports_beyond_the_api(
        "import vault.export.types\nfrom vault.domain.vocab import label\nfrom vault import crypto\n"
        "import importlib\nimportlib.import_module('vault.db')\n") == [
        "vault.export.types", "vault.domain.vocab", "vault.crypto", "vault.db"]


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_bundled_plugins_import_only_the_plugin_api(path):
    bad = vault_imports_beyond_the_api(path.read_text(encoding="utf-8"))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: import from vault.plugin_api (docs/plugin-api.md)"


def test_there_are_bundled_plugins_to_check():
    assert {p.parent.name for p in PLUGIN_FILES} >= {"vault_plugin_omct", "vault_plugin_un",
                                                     "vault_plugin_ombudsman"}


def test_all_lists_exactly_the_public_names():
    public = {name for name, value in vars(plugin_api).items()
              if not name.startswith("_") and name != "annotations" and not isinstance(value, type(sys))}
    assert public == set(plugin_api.__all__)
    assert len(plugin_api.__all__) == len(set(plugin_api.__all__))


@pytest.mark.parametrize("name", plugin_api.__all__)
def test_every_name_of_the_plugin_api_is_documented(name):
    docs = (ROOT / "docs" / "plugin-api.md").read_text(encoding="utf-8")
    assert re.search(rf"`{re.escape(name)}[`(]", docs), f"{name} is not documented in docs/plugin-api.md"


def test_plugin_api_is_linked_from_the_plugin_guide():
    assert "(plugin-api.md)" in (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")


def test_hookimpl_is_one_marker_under_each_name():
    assert vault.hookimpl is plugin_api.hookimpl is hookspecs.hookimpl


def test_importing_vault_and_the_plugin_api_loads_no_web_stack():
    code = ("import sys, vault, vault.plugin_api; from vault import hookimpl; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'werkzeug', 'sqlalchemy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_exporter_from_mapping_takes_the_form_from_the_mapping():
    mapping = {
        "form": {"version": "model form 2019", "verified": False},
        "requirements": [
            {"rule": "present", "field": "victim.sex", "message": {"en": "x"}},
            {"rule": "present", "fields": ["@display_name", "victim.pseudonym"], "message": {"en": "x"}},
            {"rule": "each", "list": "acts", "field": "place", "message": {"en": "x"}},
            {"rule": "present", "field": "medical", "severity": "warning", "message": {"en": "x"}},
        ],
    }
    exp = exporter_from_mapping(mapping, name="demo", label="Demo", target_body="Nobody", languages=("en",),
                                description="d")
    assert (exp.form_version, exp.form_verified) == ("model form 2019", False)
    assert exp.required_fields == required_fields(mapping) == ("victim.sex", "victim.pseudonym", "acts[].place")
    assert (exp.name, exp.label, exp.target_body, exp.languages, exp.description) == (
        "demo", "Demo", "Nobody", ("en",), "d")
