"""Every hook is documented and tested; the specs have the shape the docs promise.

Like datasette's test_plugin_hooks_are_documented / _have_tests: adding a
hook to vault/hookspecs.py without a section in docs/plugins.md and a test
named ``test_hook_<name>`` fails here.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from vault import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name, fn in vars(hookspecs).items()
               if name.startswith("vault_") and inspect.isfunction(fn))


def _test_names() -> set[str]:
    names = set()
    for folder in ("tests/plugins", "tests/export"):
        for path in (ROOT / folder).rglob("test_*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    return names


def test_there_are_hooks():
    assert HOOKS == ["vault_evidence_added", "vault_export", "vault_exporters",
                     "vault_plugin_state_changed", "vault_validate"]


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_are_documented(hook):
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert re.search(rf"^#+ .*{hook}\(", docs, re.MULTILINE), f"{hook} has no section in docs/plugins.md"


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_have_tests(hook):
    assert f"test_hook_{hook}" in _test_names(), f"no test named test_hook_{hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspecs_have_docstrings_saying_when_and_what(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert "Called" in doc and ("Return" in doc or "return" in doc)


def test_only_vault_export_is_firstresult():
    first = {h for h in HOOKS if getattr(hookspecs, h).evidence_vault_spec.get("firstresult")}
    assert first == {"vault_export"}
