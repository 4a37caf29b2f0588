"""The field app's routes (vault/web/field.py) and the sign-out's wipe, over HTTP against gunicorn.

The shell is kept by the service worker for use offline, so it must be the
same bytes for a stranger and for a signed-in lawyer: no user, no token, no cookie.
"""

from __future__ import annotations

import io
import json
import re

import requests
from PIL import Image

from vault.web.field import SHELL_URLS


def _signed_in(web, user) -> tuple[requests.Session, str]:
    """A requests session holding the lawyer's web session cookie, and its CSRF token."""
    s = requests.Session()
    token = web.token(user.username, user.password)
    web.forget_token(user.username)  # the cookie session takes over this token
    r = s.post(f"{web.url}/web/session", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200
    return s, r.json()["csrf_token"]


def test_the_shell_is_the_same_for_a_stranger_and_a_signed_in_lawyer(web, lawyer):
    stranger = requests.get(f"{web.url}/field/ky", timeout=30)
    s, csrf = _signed_in(web, lawyer)
    own = s.get(f"{web.url}/field/ky", timeout=30)
    assert stranger.status_code == own.status_code == 200
    assert stranger.content == own.content
    for r in (stranger, own):
        assert "Set-Cookie" not in r.headers
        assert r.headers["Cache-Control"] == "no-store"
    html = own.text
    assert lawyer.username not in html and csrf not in html
    assert '<meta name="csrf-token" content="">' in html
    assert '<html lang="ky">' in html and "Жеринде жазып алуу" in html  # Kyrgyz, whatever the account's language


def test_field_goes_to_the_shell_in_the_visitors_language(web):
    r = requests.get(f"{web.url}/field", cookies={"vault_lang": "ru"}, allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"].endswith("/field/ru")
    r = requests.get(f"{web.url}/field/xx", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"].endswith("/field")


def test_the_manifest_makes_the_field_app_installable(web):
    r = requests.get(f"{web.url}/manifest.webmanifest", headers={"Accept-Language": "ru"}, timeout=30)
    assert r.headers["Content-Type"].startswith("application/manifest+json")
    m = r.json()
    assert m["start_url"] == "/field" and m["display"] == "standalone" and m["scope"] == "/"
    sizes: dict[str, set] = {}
    for icon in m["icons"]:
        got = requests.get(web.url + icon["src"], timeout=30)
        assert got.status_code == 200 and got.headers["Content-Type"] == "image/png"
        width, height = Image.open(io.BytesIO(got.content)).size
        assert icon["sizes"] == f"{width}x{height}"
        sizes.setdefault(icon.get("purpose", "any"), set()).add((width, height))
    assert sizes["any"] == {(192, 192), (512, 512)} and sizes["maskable"] == {(512, 512)}


def test_the_service_worker_keeps_the_whole_shell_and_each_part_answers_without_a_cookie(web):
    sw = requests.get(f"{web.url}/sw.js", timeout=30).text
    precache = json.loads(re.match(r"const PRECACHE = (\{.*?\});\n", sw).group(1))
    assert precache["shell"] == list(SHELL_URLS)
    assert {"/field/en", "/field/ru", "/field/ky", "/i18n/ky.json", "/manifest.webmanifest"} <= set(precache["shell"])
    for path in precache["shell"]:
        r = requests.get(web.url + path, timeout=30)
        assert r.status_code == 200, path
        assert "Set-Cookie" not in r.headers, path


def test_the_csrf_route_answers_only_a_cookie_session(web, lawyer):
    assert requests.get(f"{web.url}/web/session/csrf", timeout=30).status_code == 401
    r = requests.get(f"{web.url}/web/session/csrf", headers=web.bearer(lawyer.username, lawyer.password), timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == "no_cookie_session"
    s, csrf = _signed_in(web, lawyer)
    got = s.get(f"{web.url}/web/session/csrf", timeout=30).json()
    assert got["csrf_token"] == csrf and got["username"] == lawyer.username and "Access-Control-Allow-Origin" not in r.headers
    # The token it gives is the session's: a state-changing call with it goes through, without it does not.
    assert s.patch(f"{web.url}/api/v1/me", json={"language": "ky"}, timeout=30).status_code == 403
    assert s.patch(f"{web.url}/api/v1/me", json={"language": "ky"}, headers={"X-CSRF-Token": got["csrf_token"]},
                   timeout=30).status_code == 200


def test_sign_out_keeps_the_browsers_storage_and_the_wipe_clears_it(web, lawyer):
    s, csrf = _signed_in(web, lawyer)
    r = s.post(f"{web.url}/web/logout", data={"csrf_token": csrf, "reason": "", "wipe": ""}, allow_redirects=False,
               timeout=30)
    assert r.status_code == 302 and "Clear-Site-Data" not in r.headers  # the outbox of unsent evidence stays
    s, csrf = _signed_in(web, lawyer)
    r = s.post(f"{web.url}/web/logout", data={"csrf_token": csrf, "reason": "", "wipe": "1"}, allow_redirects=False,
               timeout=30)
    assert r.status_code == 200
    assert {v.strip() for v in r.headers["Clear-Site-Data"].split(",")} == {'"cache"', '"cookies"', '"storage"'}
    assert "<script" not in r.text  # the wiped page registers nothing again
    assert s.get(f"{web.url}/api/v1/me", timeout=30).status_code == 401  # and the session is over
