"""Exports made by the Python client, on the user's machine: nothing crosses the server in the clear.

``prepare_export`` gathers what an export needs and checks it before any
large file is downloaded:

1. asks the server which exporters are enabled (``GET /exporters``) and
   refuses any other: an admin's decision holds for the client too. The
   set of enabled *plugins* on the server is also the set used here, so the
   same checks run as in the browser path;
2. takes the case record: the latest item of evidence type ``case_record``
   (a JSON CaseRecord uploaded with ``vault upload CASE record.json --type
   case_record``), decrypted and verified against its uploader's signature;
3. fetches and verifies the chosen attachments' signed manifests (no
   content yet) and runs the recipient's ``validate``.

``ExportPlan.write`` then decrypts and verifies each attachment into a
private temporary folder next to the output file (mode 0700, removed
afterwards), renders, signs the custody annex with the user's Ed25519 key,
writes the ZIP to a temporary name, fsyncs it, records the export in the
server's audit log (``POST /cases/<id>/exports/record``) and only then
renames it into place. A bundle the server has no record of is never left
behind.

The annex carries the organisation this client pinned at registration, the
user's own certificate chain and each uploader's, as the server lists them:
the recipient's `vault verify` checks the chains against that organisation,
so nothing the server adds or leaves out can make it name the wrong person.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pluggy
from pydantic import ValidationError

from vault import jsonlimits, plugins
from vault.client import state
from vault.client.session import ClientSession
from vault.client.transfer import download_item, fetch_item
from vault.crypto import b64d, sha256_stream
from vault.domain.caserecord import RECORD_MAX, CaseRecord, parse_case_json
from vault.domain.exports import Exporter, ExportItem, ExportOptions, Problem
from vault.domain.trust import Organisation
from vault.export.bundle import build_bundle_into, validate_export

CASE_RECORD_TYPE = "case_record"


class ExportFailed(Exception):
    """The export cannot be made; ``code`` says why, ``problems`` what is missing (for ``missing``)."""

    def __init__(self, code: str, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.code, self.message, self.problems = code, message, problems or []


@dataclass
class _Chosen:
    item: dict  # the server's item record
    export_item: ExportItem
    path: Path | None = None


@dataclass
class ExportPlan:
    """What one export needs, checked. Use as a context manager: it removes its private folder."""

    sess: ClientSession
    case_id: str
    exporter: Exporter
    enabled: set[str]
    record: CaseRecord
    record_item_id: str
    options: ExportOptions
    chosen: list[_Chosen]
    problems: list[Problem]
    workdir: Path
    pm: pluggy.PluginManager
    out: Path
    organisation: Organisation | None = None  # the one this client pinned: the annex names it
    written: dict = field(default_factory=dict)

    @property
    def missing(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "missing"]

    @property
    def total_bytes(self) -> int:
        """Ciphertext bytes to download for the attachments (for a progress bar)."""
        return sum(int(c.item["blob_size"]) for c in self.chosen)

    @property
    def item_ids(self) -> list[str]:
        return [c.export_item.item_id for c in self.chosen]

    def __enter__(self) -> ExportPlan:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def write(self, *, draft: bool = False, progress: Callable[[int], None] | None = None,
              now: dt.datetime | None = None) -> dict:
        """Decrypt, render, sign, record, and put the bundle at ``out``; returns a summary."""
        if self.missing and not draft:
            raise ExportFailed("missing", f"{self.exporter.target_body} needs more: see the list", self.missing)
        keys = self.sess._require_keys()
        for n, c in enumerate(self.chosen):
            c.path = self.workdir / f"attachment-{n}"
            _, manifest = download_item(self.sess, c.export_item.item_id, out=c.path, progress=progress)
            if manifest["sha256"] != c.export_item.manifest["sha256"]:
                raise ExportFailed("changed", f"item {c.export_item.item_id} changed while exporting; try again")
            c.export_item.open = (lambda p=c.path: open(p, "rb"))  # noqa: SIM115 - closed by the bundle writer
        part = self.workdir / "bundle.zip"
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            checked = build_bundle_into(
                f, self.exporter.name, self.record, [c.export_item for c in self.chosen], self.options, keys,
                self.sess.username, pm=self.pm, enabled=self.enabled, allow_missing=draft, now=now,
                organisation=self.organisation, certificates=_chain(self.sess.me.get("certificates")))
            f.flush()
            os.fsync(f.fileno())
        digest, size = _sha256_file(part)
        rec = self.sess.http.post(f"/cases/{self.case_id}/exports/record", {
            "exporter": self.exporter.name, "bundle_sha256": digest, "items": self.item_ids,
            "case_record_item": self.record_item_id, "language": self.options.language,
            "variant": self.options.variant, "draft": draft})
        os.replace(part, self.out)
        _fsync_dir(self.out.parent)
        self.written = {
            "path": str(self.out), "exporter": self.exporter.name, "target_body": self.exporter.target_body,
            "language": self.options.language, "variant": self.options.variant, "draft": draft,
            "bundle_sha256": digest, "size": size, "items": self.item_ids, "case_record_item": self.record_item_id,
            "audit_seq": rec.get("audit_seq"), "problems": [p.to_dict() for p in checked.problems],
        }
        return self.written


def pinned_organisation(sess: ClientSession) -> Organisation | None:
    """The organisation this client pinned, for the annex.

    Raises TrustError (saying how to pin it) on a computer that has not: a
    bundle that names no organisation cannot tell its recipient who signed,
    so that is better learnt before the export than by the recipient.
    Through getattr: a session without trust (before docs/trust.md) gives None.
    """
    organisation = getattr(sess, "organisation", None)
    return organisation() if callable(organisation) else None


def _chain(certificates: object) -> list:
    return certificates if isinstance(certificates, list) else []


def _sha256_file(path: Path) -> tuple[str, int]:
    with open(path, "rb") as f:
        return sha256_stream(f)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def server_exporters(sess: ClientSession) -> list[dict]:
    """The exporters enabled on the server (GET /exporters)."""
    return sess.http.get("/exporters")["exporters"]


def _local_exporter(pm: pluggy.PluginManager, enabled: set[str], name: str, offered: list[dict]) -> Exporter:
    by_name = {e["name"]: e for e in offered}
    if name not in by_name:
        raise ExportFailed("exporter_disabled",
                           f"the exporter {name!r} is not enabled on this vault (enabled: "
                           f"{', '.join(sorted(by_name)) or 'none'}); an admin enables plugins with "
                           "`vault plugins enable NAME`")
    local = plugins.exporters(pm, enabled).get(name)
    if local is None:
        raise ExportFailed("not_installed_here",
                           f"the exporter {name!r} (plugin {by_name[name]['plugin']!r}) is enabled on the server but "
                           "not installed on this machine: install that plugin here with pip")
    return local


def _uploader_chain(sess: ClientSession, up: dict, chains: dict[str, dict]) -> list:
    """The certificate chain of the key that signed an item, as the server lists its uploader.

    From the item's "uploader" when the server puts it there, else from the
    uploader's account (fetched once per uploader into ``chains``), and only while that
    account still has the key the item was signed with: after a re-key its
    chain certifies another key, and the recipient is told the signer is
    not tied to the root either way. The server is trusted for none of it:
    `vault verify` checks the chain against the organisation.
    """
    if isinstance(up.get("certificates"), list):
        return up["certificates"]
    name = up.get("username")
    if not isinstance(name, str):
        return []
    if name not in chains:
        user = sess.http.get(f"/users/{name}")
        chains[name] = user if isinstance(user, dict) else {}
    user = chains[name]
    return _chain(user.get("certificates")) if user.get("sign_public") == up.get("sign_public") else []


def _export_item(sess: ClientSession, item_id: str, chains: dict[str, dict]) -> tuple[dict, ExportItem]:
    """An item's verified manifest, as an ExportItem whose content is not fetched yet."""
    item, manifest, body, sig, _ = fetch_item(sess, item_id)
    up = item["uploader"]
    pinned = state.pinned(sess.url, up["username"], base=sess.home)
    box = b64d(pinned["box_public"]) if pinned and pinned["sign_public"] == up["sign_public"] else None

    def not_yet():
        raise RuntimeError("the attachment is not downloaded yet")

    return item, ExportItem(
        item_id=item["id"], manifest=manifest, manifest_bytes=body, manifest_signature=sig,
        uploader_sign_public=b64d(up["sign_public"]), uploader=up["username"], uploaded_at=item["created_at"],
        open=not_yet, uploader_box_public=box, uploader_certificates=_uploader_chain(sess, up, chains))


WORKDIR_PREFIX = ".vault-export-"
OWNER_FILE = "owner.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep_interrupted(folder: Path) -> list[Path]:
    """Remove work folders that a killed export left behind; returns them.

    They hold decrypted attachments, and a SIGKILL or a power cut gives the
    export no chance to delete them itself. A folder whose owner process is
    still running is another export in progress and stays.
    """
    removed = []
    for d in folder.glob(WORKDIR_PREFIX + "*"):
        if not d.is_dir() or d.is_symlink() or d.stat().st_uid != os.getuid():
            continue
        try:
            pid = int((d / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            pid = 0
        if pid and _alive(pid):
            continue
        if not pid and time.time() - d.stat().st_mtime < 60:
            continue  # just made by an export that has not written its owner yet
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


def latest_record(records: list[dict]) -> dict:
    """The case's record among its case-record items: the newest (upload time, then id) that no other
    one replaces (``metadata.supersedes``), as the browser and the search index decide."""
    replaced = {(r.get("metadata") or {}).get("supersedes") for r in records}
    current = [r for r in records if r["id"] not in replaced] or records
    return max(current, key=lambda r: (r["created_at"], r["id"]))


def _case_record(sess: ClientSession, items: list[dict], workdir: Path) -> tuple[str, CaseRecord]:
    records = [i for i in items if i["evidence_type"] == CASE_RECORD_TYPE]
    if not records:
        raise ExportFailed("no_case_record", "this case has no case record yet: write one (a JSON CaseRecord) and "
                           "upload it with `vault upload CASE record.json --type case_record`")
    latest = latest_record(records)
    path = workdir / "case-record.json"
    try:
        download_item(sess, latest["id"], out=path)
        with open(path, "rb") as f:
            raw = f.read(RECORD_MAX + 1)  # parse_case_json refuses more than RECORD_MAX
    finally:
        path.unlink(missing_ok=True)
    try:
        return latest["id"], parse_case_json(raw)
    except ValidationError as exc:
        # Field paths only: the values are sealed content.
        where = "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in exc.errors(include_input=False))
        raise ExportFailed("bad_case_record", f"the case record {latest['id']} is not valid: {where}") from None
    except jsonlimits.JSONLimitError as exc:
        raise ExportFailed("bad_case_record", f"the case record {latest['id']} is {exc}, more than any case "
                           "record: upload a corrected one with `vault upload CASE record.json --type "
                           "case_record`") from None
    except ValueError:  # not JSON, or not UTF-8
        raise ExportFailed("bad_case_record", f"the case record {latest['id']} is not JSON") from None


def prepare_export(sess: ClientSession, case_id: str, exporter: str, out: Path, *, language: str | None = None,
                   variant: str | None = None, item_ids: list[str] | None = None, all_items: bool = False,
                   document_date: dt.date | None = None, pm: pluggy.PluginManager | None = None,
                   redact: bool = False) -> ExportPlan:
    """Everything an export needs, checked, before any attachment is downloaded.

    Attachments: ``item_ids`` if given; every item except case records if
    ``all_items``; otherwise the items the case record lists under
    ``attachments``; ``[]`` for none. ``redact``: the user accepted the proposed redaction of the
    victim's name (vault/export/anonymity.py).
    """
    sess._require_keys()
    org = pinned_organisation(sess)
    out = Path(out).absolute()
    if not out.parent.is_dir():
        raise ExportFailed("bad_output", f"the folder {out.parent} does not exist")
    if out.is_dir():
        raise ExportFailed("bad_output", f"{out} is a folder: give a file name for the bundle")
    pm = pm or plugins.get_plugin_manager()
    offered = server_exporters(sess)
    enabled = {e["plugin"] for e in offered}
    exp = _local_exporter(pm, enabled, exporter, offered)
    language = language or exp.languages[0]
    if language not in exp.languages:
        raise ExportFailed("bad_language", f"{exp.label} is written in: {', '.join(exp.languages)}")
    if variant is not None and variant not in {v.name for v in exp.variants}:
        raise ExportFailed("bad_variant", f"{exp.label} has no variant {variant!r} (variants: "
                           f"{', '.join(v.name for v in exp.variants) or 'none'})")
    items = sess.http.get(f"/cases/{case_id}/items")["items"]
    sweep_interrupted(out.parent)
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=out.parent))  # 0700
    (workdir / OWNER_FILE).write_text(str(os.getpid()))
    try:
        record_id, record = _case_record(sess, items, workdir)
        if item_ids is None:
            if all_items:
                item_ids = [i["id"] for i in items if i["evidence_type"] != CASE_RECORD_TYPE]
            else:
                item_ids = [ref.item_id for ref in record.attachments]
        known = {i["id"] for i in items}
        unknown = [i for i in item_ids if i not in known]
        if unknown:
            raise ExportFailed("unknown_item", f"not items of this case: {', '.join(unknown)}")
        chosen = []
        chains: dict = {}
        for item_id in dict.fromkeys(item_ids):
            item, export_item = _export_item(sess, item_id, chains)
            chosen.append(_Chosen(item, export_item))
        options = ExportOptions(language=language, variant=variant, document_date=document_date, redact=redact)
        problems = validate_export(pm, enabled, exp, record, [c.export_item for c in chosen], options)
        return ExportPlan(sess, case_id, exp, enabled, record, record_id, options, chosen, problems, workdir,
                          pm, out, org)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
