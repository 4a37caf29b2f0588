"""Shared pieces of the browser tests (Debian chromium through Playwright, against real gunicorn workers).

Each browser test module gets one gunicorn server (`web`, module-scoped, its
own data folder); one chromium serves the session. Each test makes the people, case and
items it needs (function-scoped: `make_user`, `lawyer`, `case_id` and the
`web.upload_*` helpers), mostly through the Python client, so any test runs
alone with -k and one failure does not carry over to the next test.

Tests that put sealed plaintext on the server add it to `web.sealed`: when
the module's server has stopped, its whole data folder (database, blobs,
index, logs) is swept for every one of those strings and for every
password used (tests/conftest.py assert_nowhere).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import Env, Gunicorn, assert_nowhere, make_env

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = Path("/tmp/ui-shots")
MAX_EXPORT = 12 * 1024 * 1024  # the server's browser-export limit: below the journey's 20 MB video
CASE_RECORD_MEDIA = "application/vnd.vault.case-record+json"
FORENSIC_MEDIA = "application/vnd.vault.forensic-report+json"
ADMIN_PASSWORD = "admin-Pässwörd-web-1"

_names = itertools.count(1)


@dataclass
class User:
    """A person registered through the Python client; `session` is their signed-in ClientSession."""

    username: str
    password: str
    session: object
    home: Path


class Web:
    """One module's gunicorn server and chromium, and the helpers the browser tests share."""

    def __init__(self, env: Env, srv: Gunicorn, browser, tmp: Path):
        self.env, self.srv, self.browser, self.tmp = env, srv, browser, tmp
        self.url = srv.url
        self.sealed: list[bytes] = []  # swept for on the data folder once the server has stopped
        self._tokens: dict[str, str] = {}

    # ------------------------------------------------------------------ the browser

    def page(self, phone: bool = False, lang: str | None = None):
        """A page in a fresh browser context (its own cookies, sessionStorage and pinned keys)."""
        opts = {"accept_downloads": True}
        if phone:
            opts.update(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
        ctx = self.browser.new_context(**opts)
        if lang:
            ctx.add_cookies([{"name": "vault_lang", "value": lang, "url": self.url}])
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        return page

    @property
    def org_fingerprint(self) -> str:
        """The organisation's fingerprint as the paper kit prints it (computed from the kit's secret)."""
        from vault import crypto

        k = self.env.recovery_secret
        return crypto.org_fingerprint(crypto.box_public_from_secret(k),
                                      crypto.sign_public_from_seed(crypto.root_sign_seed(k)))

    def register(self, page, invitation: str, username: str, password: str, setup: bool = False,
                 expect_refusal: bool = False) -> str:
        """Register in the browser (the /setup page, or the /register#<code> link); returns the fingerprint it shows.

        With expect_refusal, returns the refusal's text instead (nothing registered).
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.sealed.append(password.encode())
        page.goto("about:blank")  # a new fragment alone would not load the page again
        page.goto(f"{self.url}/setup" if setup else f"{self.url}/register#{invitation}")
        if setup:
            page.fill("#invitation", invitation)
        page.fill("#username", username)
        page.fill("#password", password)
        page.fill("#password2", password)
        page.click("#register-button")
        if expect_refusal:
            page.wait_for_selector("#alert:not([hidden])")
            assert page.is_hidden("#register-done")
            return page.text_content("#alert")
        try:
            page.wait_for_selector("#register-done:not([hidden])")
        except PlaywrightTimeout as exc:
            raise AssertionError(f"registration did not finish: alert={page.text_content('#alert')!r} "
                                 f"invitation={page.input_value('#invitation')!r} errors={page.errors}") from exc
        assert "password" not in page.url and "?" not in page.url and "#" not in page.url
        fpr = page.text_content("#my-fingerprint").strip()
        assert len(fpr.split()) == 6
        assert page.text_content("#org-fingerprint").strip() == self.org_fingerprint
        return fpr

    def login(self, page, username: str, password: str, org_fingerprint: str | None = None,
              base: str | None = None) -> None:
        """Sign in through the form; a browser that has not pinned the organisation asks for its fingerprint."""
        page.goto(f"{base or self.url}/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("#login-button")
        self.pass_org_prompt(page, org_fingerprint)
        page.wait_for_url(lambda u: "/login" not in u)
        assert "password" not in page.url  # the form is never submitted natively

    def pass_org_prompt(self, page, org_fingerprint: str | None = None) -> None:
        """After the sign-in button: on a browser that has not pinned the organisation, type its fingerprint."""
        page.wait_for_function("() => !location.pathname.startsWith('/login') || "
                               "!document.querySelector('#org-prompt').hidden || "
                               "!document.querySelector('#alert').hidden")
        if "/login" in page.url and page.is_visible("#org-prompt"):
            page.fill("#org-digits", org_fingerprint or self.org_fingerprint)
            page.click("#org-button")

    def signed_in(self, user: User, phone: bool = False, lang: str | None = None):
        """A fresh page with `user` signed in through the login form (which unwraps their keys in the page)."""
        page = self.page(phone=phone, lang=lang)
        self.login(page, user.username, user.password)
        return page

    @staticmethod
    def shot(page, name: str) -> None:
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    @staticmethod
    def entry(page, list_path: str, n: int = 0):
        """The n-th entry of a repeatable list of the case record form."""
        return page.locator(f'[data-list="{list_path}"] > li').nth(n)

    @staticmethod
    def export_posts(page) -> list[str]:
        """The URLs of the export POSTs the page sends from now on."""
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/exports" in r.url else None)
        return posts

    @staticmethod
    def read_bundle(path: Path) -> dict:
        """An export bundle's member names, the text of its DOCX and PDF, and its custody annex."""
        import io
        import zipfile

        import docx
        from pypdf import PdfReader

        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            doc = next(n for n in names if n.endswith(".docx"))
            pdf = next(n for n in names if n.endswith(".pdf"))
            d = docx.Document(io.BytesIO(zf.read(doc)))
            docx_text = "\n".join([p.text for p in d.paragraphs]
                                  + [c.text for t in d.tables for r in t.rows for c in r.cells])
            pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(zf.read(pdf))).pages)
            annex = json.loads(zf.read("custody/annex.json"))
        return {"names": names, "docx": " ".join(docx_text.split()), "pdf": " ".join(pdf_text.split()),
                "annex": annex}

    # ------------------------------------------------------------------ the API, as `requests` sees it

    def auth(self, username: str, password: str) -> dict:
        """The login body: the auth key derived from the password, as every client derives it."""
        from vault import crypto

        pre = requests.post(f"{self.url}/api/v1/auth/prelogin", json={"username": username}, timeout=30).json()
        master = crypto.derive_master_key(password, base64.b64decode(pre["salt"]), pre["kdf"])
        return {"username": username, "auth_key": base64.b64encode(crypto.auth_key(master)).decode()}

    def token(self, username: str, password: str) -> str:
        """A bearer token of a session of its own (not the browser's), kept for the module."""
        if username not in self._tokens:
            self._tokens[username] = requests.post(f"{self.url}/api/v1/auth/login", json=self.auth(username, password),
                                                   timeout=30).json()["token"]
        return self._tokens[username]

    def forget_token(self, username: str) -> None:
        self._tokens.pop(username, None)

    def bearer(self, username: str, password: str) -> dict:
        return {"Authorization": f"Bearer {self.token(username, password)}"}

    # ------------------------------------------------------------------ people and evidence (Python client)

    def person(self, username: str, password: str, invitation: str) -> User:
        from tests.conftest import person

        home = self.tmp / "clients" / username
        home.mkdir(parents=True, exist_ok=True)
        self.sealed.append(password.encode())
        return User(username, password, person(self.url, home, username, password, invitation), home)

    def _file(self, name: str, data: bytes) -> Path:
        folder = self.tmp / "files" / str(next(_names))
        folder.mkdir(parents=True)
        path = folder / name
        path.write_bytes(data)
        return path

    def upload(self, user: User, case_id: str, name: str, data: bytes, title: str, evidence_type: str = "document",
               sealed: dict | None = None, **kw) -> str:
        """Encrypt, sign and upload `data` as the file `name` with the Python client; returns the item id."""
        from vault.client.transfer import upload_file

        out = upload_file(user.session, case_id, self._file(name, data),
                          {"title": title, "evidence_type": evidence_type}, sealed=sealed, **kw)
        return out["item_id"]

    def upload_photo(self, user: User, case_id: str, name: str, title: str, sealed: dict | None = None) -> str:
        """A 64 x 48 PNG photo."""
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (64, 48), (180, 40, 40)).save(buf, "PNG")
        return self.upload(user, case_id, name, buf.getvalue(), title, "photo", sealed)

    def upload_report(self, user: User, case_id: str, clinician: str, title: str = "Istanbul Protocol examination") -> str:
        """A forensic report as the phone's forensic form seals it (vault/static/js/pages/forensic.js)."""
        report = {
            "v": 1, "exam_date": "2026-10-02", "exam_place": "Жалал-Абад облустук ооруканасы", "informed_consent": True,
            "clinician_name": clinician, "clinician_qualifications": "Соттук-медициналык эксперт",
            "allegations": "Beaten on the back with batons", "overall_consistency": "highly_consistent",
            "conclusions": "Findings are highly consistent with the allegation.",
            "physical_exam": {"skin": "Linear bruises on the back, 3 x 12 cm"},
            "findings": [{"lesion": "Tramline bruising of the back", "alleged_method": "beating",
                          "consistency": "highly_consistent"}],
        }
        from vault.domain.caserecord import ForensicReport

        ForensicReport.model_validate(report)
        return self.upload(user, case_id, "forensic-report-2026-10-02.json", json.dumps(report).encode(), title,
                           "forensic_report", media_type=FORENSIC_MEDIA)

    def upload_record(self, user: User, case_id: str, record: dict, title: str = "Structured case record") -> str:
        """A case record, checked as the server's exporters will read it, sealed as the record page saves it."""
        from vault.domain.caserecord import parse_case

        parse_case(record)
        self.sealed += [v.encode() for v in (record.get("victim", {}).get("family_name"),
                                             record.get("applicant", {}).get("full_name")) if v]
        from vault.client.export import latest_record
        from vault.client.transfer import upload_file

        earlier = [i for i in user.session.http.get(f"/cases/{case_id}/items")["items"]
                   if i["evidence_type"] == "case_record"]
        meta = {"title": title, "evidence_type": "case_record"}
        if earlier:  # the page names the record it replaces
            meta["supersedes"] = latest_record(earlier)["id"]
        path = self._file("case-record.json", json.dumps(record, ensure_ascii=False).encode())
        return upload_file(user.session, case_id, path, meta, media_type=CASE_RECORD_MEDIA)["item_id"]

    def latest_record(self, cli, case_id: str, token: str) -> dict:
        """The latest case record of a case, downloaded and verified by the CLI."""
        from vault.domain.caserecord import parse_case

        items = requests.get(f"{self.url}/api/v1/cases/{case_id}/items", timeout=30,
                             headers={"Authorization": f"Bearer {token}"}).json()["items"]
        from vault.client.export import latest_record

        rec = latest_record([i for i in items if i["evidence_type"] == "case_record"])
        out = self.tmp / f"record-{rec['id']}.json"
        assert cli.json("download", rec["id"], "--out", str(out))["verified"] is True
        data = json.loads(out.read_text(encoding="utf-8"))
        return {"item": rec, "data": data, "record": parse_case(data)}

    @staticmethod
    def browser_record(photo_item: str, reference: str = "KG-2026-101") -> dict:
        """The case record the journey's lawyer fills in on the record page (test_journey.py), as the page seals it.

        It has no victim.nationality: the UN exporters list it as missing.
        """
        return {
            "reference": reference, "state": "KGZ",
            "victim": {"family_name": "Токтосунова-Үмөт", "first_names": "Айгерим", "sex": "female",
                       "date_of_birth": "1999-04-12", "occupation": "мугалим", "consent_to_submit": True,
                       "consent_publish_name": False},
            "arrest": {"date": "2026-10-01"},
            "detention": {"current_status": "released"},
            "acts": [{"date_from": "2026-10-01", "place": "Жалал-Абад ИВС, 3-бөлмө", "violation": "torture",
                      "methods": ["beating"], "injuries": "кабыргасы сынган",
                      "perpetrators": [{"type": "police", "institution": "Жалал-Абад шаардык ИИБ"}]}],
            "facts": {"ky": "2026-жылдын 1-октябрында ИВСте союл менен сабашты, күнөөсүн мойнуна алдырууну талап кылышты.",
                      "en": "On 1 October 2026 officers beat her with batons in the temporary detention facility."},
            "pending_in_court": False,
            "applicant": {"full_name": "Гүлнара Садыкова-Өмүрзак", "relationship_to_victim": "lawyer",
                          "address": "Жалал-Абад ш., Ленин көчөсү, 5", "phone": "+996 555 123 456"},
            "source": {"organisation": "Кыйноолорго каршы коалиция", "email": "coalition@example.org"},
            "attachments": [{"item_id": photo_item, "title": "Жаракаттардын сүрөтү", "category": "medical"}],
        }

    def stop(self) -> None:
        self.srv.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian chromium through Playwright, one for the session as pytest-playwright has it (each test opens
    its own contexts). Nothing in the suite runs an asyncio loop that Playwright's sync API could clash with."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is missing")
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    pw = sync_api.sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture(scope="module")
def web(tmp_path_factory, chromium) -> Iterator[Web]:
    """A fresh vault served by gunicorn (2 workers) for the module; its data folder is swept when it stops."""
    tmp = tmp_path_factory.mktemp("web")
    env = make_env(tmp)
    settings = tmp / "vault.toml"
    settings.write_text(f"[vault.extra]\nmax_export_bytes = {MAX_EXPORT}\n", encoding="utf-8")
    srv = Gunicorn(env, workers=2, extra_env={"VAULT_CONFIG": str(settings)})
    w = Web(env, srv, chromium, tmp)
    try:
        yield w
    finally:
        w.stop()
    if w.sealed:
        assert assert_nowhere(env.data_dir, w.sealed) > 5


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In a module of ordered steps (JOURNEY = True: test_journey.py), note how each step went, for the steps after it."""
    outcome = yield
    rep = outcome.get_result()
    if getattr(item.module, "JOURNEY", False) and (rep.when == "call" or rep.failed):
        item.module.__dict__.setdefault("STEP_OUTCOMES", {})[item.name] = rep.outcome


@pytest.fixture(autouse=True)
def _close_contexts(request) -> Iterator[None]:
    """Close after each test the browser contexts it opened, unless its module hands pages on from step to step (JOURNEY)."""
    if "web" not in request.fixturenames or getattr(request.module, "JOURNEY", False):
        yield
        return
    browser = request.getfixturevalue("web").browser
    before = set(browser.contexts)
    yield
    for ctx in set(browser.contexts) - before:
        ctx.close()


@pytest.fixture(scope="module")
def admin(web) -> User:
    """The first admin, registered with the root's invitation code and certified with the paper kit (Python client)."""
    from tests.conftest import certified_admin

    home = web.tmp / "clients" / "admin"
    home.mkdir(parents=True, exist_ok=True)
    web.sealed.append(ADMIN_PASSWORD.encode())
    return User("admin", ADMIN_PASSWORD, certified_admin(web.url, web.env, home, "admin", ADMIN_PASSWORD), home)


@pytest.fixture
def make_user(web, admin):
    """make_user(role, prefix, certified): a new person invited by the admin's client, registered through the
    Python client, and (unless certified=False) certified by the admin."""

    def make(role: str = "lawyer", prefix: str | None = None, certified: bool = True) -> User:
        n = next(_names)
        username = f"{prefix or role}-{n}"
        code = admin.session.invite(role)["code"]
        user = web.person(username, f"{username}-Pässwörd-{n}-web", code)
        if certified:
            assert admin.session.certify_pending(only=username) == [username]
        return user

    return make


@pytest.fixture
def lawyer(make_user) -> User:
    return make_user("lawyer", "aigul")


@pytest.fixture
def case_id(lawyer) -> str:
    """A case the lawyer opened (through the Python client): its key is sealed to the lawyer and the recovery key."""
    reference = f"KG-2026-{100 + next(_names)}"  # references are unique in a vault
    return lawyer.session.create_case(reference, "Beating in temporary detention, Jalal-Abad", "jalal_abad")["id"]
