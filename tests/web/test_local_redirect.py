"""The language switcher's `next` (vault/web/views.py `_local`) stays on the vault.

The same hole as the sign-in page's open redirect: browsers read "\\" as "/"
and drop tabs and newlines, so "/\\evil.example" is "//evil.example" to them.
"""

import pytest

from vault.web.views import _local


@pytest.mark.parametrize("hostile", [
    "/\\evil.example/phish", "/\\/evil.example", "//evil.example", "https://evil.example/",
    "javascript:alert(1)", "/\t/evil.example", "/\n/evil.example", "\\\\evil.example", "evil.example",
])
def test_a_hostile_next_goes_home(hostile):
    assert _local(hostile) == "/"


@pytest.mark.parametrize("path", ["/", "/cases", "/cases/0123456789abcdef0123456789abcdef", "/account"])
def test_a_local_path_is_kept(path):
    assert _local(path) == path
