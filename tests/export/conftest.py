"""Fixtures for the export tests: an organisation, certified keys, signed items, every bundled plugin.

``keys`` are the lawyer aigul's, certified by the organisation's admin
(``kit``); ``items`` are signed by them and carry that chain.
"""

from __future__ import annotations

import pytest

from tests.export.export_samples import Kit, make_kit, sample_items
from vault import crypto, plugins


@pytest.fixture(scope="session")
def keys() -> crypto.UserKeys:
    return crypto.UserKeys.generate()


@pytest.fixture(scope="session")
def kit() -> Kit:
    return make_kit()


@pytest.fixture(scope="session")
def chain(kit, keys) -> list:
    """aigul's certificate chain: her certificate, then the admin's (signed by the root)."""
    return kit.certify(keys, "aigul")


@pytest.fixture
def items(keys, chain):
    return sample_items(keys, chain)


@pytest.fixture(scope="session")
def pm():
    return plugins.make_plugin_manager()
