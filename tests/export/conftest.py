"""Fixtures for the export tests: keys, signed items, a plugin manager with every bundled plugin."""

from __future__ import annotations

import pytest

from tests.export.export_samples import sample_items
from vault import crypto, plugins


@pytest.fixture(scope="session")
def keys() -> crypto.UserKeys:
    return crypto.UserKeys.generate()


@pytest.fixture
def items(keys):
    return sample_items(keys)


@pytest.fixture(scope="session")
def pm():
    return plugins.make_plugin_manager()
