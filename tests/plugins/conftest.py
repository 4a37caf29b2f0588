"""Fixtures for the plugin tests: a fresh plugin manager, and a pip-installed third-party plugin."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vault import plugins

THIRDPARTY_SRC = Path(__file__).parent / "thirdparty"


def pip_install_target(src: Path, target: Path) -> None:
    """``pip install`` ``src`` into the folder ``target`` with the running interpreter.

    Offline first (--no-build-isolation: uses the venv's setuptools, which
    needs setuptools>=70.1 or the wheel package); if the venv cannot build
    wheels that way, again with pip's isolated build (fetches setuptools from
    the configured index). Installing into a folder rather than site-packages
    leaves the shared venv untouched even if the test run is killed. The
    source is copied first, because setuptools builds in the source tree.
    """
    copy = target.parent / f"{src.name}-src"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    src = copy
    base = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--disable-pip-version-check",
            "--target", str(target)]
    first = subprocess.run([*base, "--no-build-isolation", str(src)], capture_output=True, text=True,
                           timeout=120, check=False)
    if first.returncode == 0:
        return
    second = subprocess.run([*base, str(src)], capture_output=True, text=True, timeout=300, check=False)
    if second.returncode != 0:
        raise RuntimeError(f"pip could not install {src}:\n{first.stderr[-2000:]}\n{second.stderr[-2000:]}")


@pytest.fixture(scope="module")
def thirdparty_installed(tmp_path_factory) -> Path:
    """The demo plugin pip-installed once per module into a folder of its own."""
    site = tmp_path_factory.mktemp("thirdparty") / "site"
    pip_install_target(THIRDPARTY_SRC, site)
    return site


@pytest.fixture
def thirdparty_site(thirdparty_installed: Path):
    """The installed demo plugin on sys.path for one test (as if in site-packages), then gone."""
    site = thirdparty_installed
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.startswith("vault_thirdparty_demo")]:
            del sys.modules[name]
        importlib.invalidate_caches()


@pytest.fixture
def pm():
    return plugins.make_plugin_manager()
