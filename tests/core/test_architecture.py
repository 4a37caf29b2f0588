"""The house's shape: small modules, and the boundaries CI claims really hold.

`scripts/test` runs import-linter and ruff's banned-API rule over the whole
tree; these tests make sure those gates would catch a breach, so a rule that
silently stops matching (a renamed package, a typo in a contract) fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The crypto twins are cohesive on purpose: one file a reviewer reads to know
# everything the vault does with keys, in Python and in the browser.
LONG_ALLOWED = {"vault/crypto.py", "vault/static/js/crypto.js"}
MAX_LINES = 500


def _sources():
    for pattern in ("vault/**/*.py", "vault/static/js/**/*.js", "plugins/**/*.py"):
        for p in ROOT.glob(pattern):
            if "vendor" not in p.parts and "versions" not in p.parts:
                yield p


def test_no_module_is_a_grab_bag():
    long = {str(p.relative_to(ROOT)): n for p in _sources()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert set(long) <= LONG_ALLOWED, f"split these by concern: {long}"


def test_every_package_folder_is_a_package():
    # import-linter and setuptools see only real packages; a folder without
    # __init__.py silently drops out of every contract.
    for d in (ROOT / "vault").iterdir():
        if d.is_dir() and any(d.glob("*.py")):
            assert (d / "__init__.py").is_file(), d


def test_ruff_refuses_nacl_outside_crypto(tmp_path):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed in this environment")
    probe = ROOT / "vault" / "web" / "_probe_banned_api.py"
    probe.write_text("import nacl.hash\n\nDIGEST = nacl.hash.blake2b\n")
    try:
        out = subprocess.run([ruff, "check", "--no-cache", "--select", "TID251", str(probe)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink()
    assert out.returncode != 0 and "TID251" in out.stdout, out.stdout + out.stderr


def test_import_linter_refuses_an_interface_import_from_below(tmp_path):
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed in this environment")
    # A services module that reaches up into the API: the layers contract must break.
    probe = ROOT / "vault" / "services" / "_probe_layers.py"
    probe.write_text(textwrap.dedent("""\
        from vault.api import errors

        ERRORS = errors
    """))
    try:
        out = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        probe.unlink()
    assert out.returncode != 0, out.stdout
    assert "vault.services._probe_layers -> vault.api.errors" in out.stdout, out.stdout


def test_eslint_refuses_libsodium_outside_crypto_js():
    if shutil.which("node") is None or not (ROOT / "node_modules" / ".bin" / "eslint").exists():
        pytest.skip("ESLint is not installed (scripts/build-assets installs it)")
    probe = 'import s from "../vendor/libsodium-wrappers-sumo.mjs";\nexport const x = s;\n'
    out = subprocess.run(["bash", "scripts/lint-js", "--stdin", "--stdin-filename", "vault/static/js/pages/_probe.js"],
                         cwd=ROOT, input=probe, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "libsodium" in (out.stdout + out.stderr), out.stdout + out.stderr
