"""Evidence files: `vault upload`, `download`, `verify`.

They encrypt, sign and verify on this machine; the server holds ciphertext.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vault.cli.common import open_session, url_option
from vault.cli.output import emit, fail, handle_errors, json_option, progress_bar


def _latest_record_id(s, case_id: str) -> str | None:
    """The case record a new one replaces, named in its metadata as the browser's record page does."""
    from vault.client.export import latest_record

    records = [i for i in s.http.get(f"/cases/{case_id}/items")["items"] if i["evidence_type"] == "case_record"]
    return latest_record(records)["id"] if records else None


def _metadata(title, evidence_type, region, place, date_from, date_to, violations, methods, tags, language,
              detention_place_type):
    meta = {"title": title, "evidence_type": evidence_type}
    for k, v in (("region", region), ("place", place), ("incident_date_from", date_from),
                 ("incident_date_to", date_to), ("language", language), ("detention_place_type", detention_place_type)):
        if v:
            meta[k] = v
    for k, v in (("violations", violations), ("methods", methods), ("tags", tags)):
        if v:
            meta[k] = [x.strip() for x in v.split(",") if x.strip()]
    return meta


# Structured evidence: the JSON file is checked against its model before it
# is sealed, so a recipient never receives a malformed report.
STRUCTURED = {
    "forensic_report": ("ForensicReport", "application/vnd.vault.forensic-report+json"),
    "case_record": ("CaseRecord", "application/vnd.vault.case-record+json"),
}


def _check_structured(evidence_type: str, path: Path, as_json: bool) -> None:
    from pydantic import ValidationError

    from vault.domain import caserecord

    model = getattr(caserecord, STRUCTURED[evidence_type][0])
    try:
        model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, UnicodeDecodeError) as exc:
        # Field paths only: the values are sealed content and stay off the screen log.
        if isinstance(exc, ValidationError):
            where = ", ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in exc.errors(include_input=False))
        else:
            where = "not valid UTF-8 JSON"
        fail(f"{path.name} is not a valid {evidence_type.replace('_', ' ')}: {where}", as_json)


@click.command()
@url_option
@click.argument("case_id")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", help="Searchable title (visible to the server; no names). Default: 'Evidence'.")
@click.option("--type", "evidence_type", default="document", show_default=True, help="Evidence type code.")
@click.option("--region")
@click.option("--place", help="Facility or unit (searchable).")
@click.option("--from", "date_from", help="Incident date from (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Incident date to (YYYY-MM-DD).")
@click.option("--violations", help="Comma-separated violation codes.")
@click.option("--methods", help="Comma-separated method codes.")
@click.option("--tags", help="Comma-separated tags.")
@click.option("--language", type=click.Choice(["ky", "ru", "en"]))
@click.option("--detention-place-type")
@click.option("--sealed", "sealed_json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file of sealed fields (victim, statement, description…): encrypted, never visible to the server.")
@click.option("--attach-to", help="Item id this file belongs to (e.g. a photo of a forensic report).")
@click.option("--restart", is_flag=True,
              help="Start over even if an earlier, stopped upload of the same file could be continued.")
@json_option
@handle_errors
def upload(url, case_id, files, title, evidence_type, region, place, date_from, date_to, violations, methods, tags,
           language, detention_place_type, sealed_json, attach_to, restart, as_json):
    """Encrypt and upload files to a case.

    A dropped connection is resumed by itself; an upload stopped by a crash,
    a closed laptop or Ctrl-C goes on where it stopped when the same command
    is run again for the same, unchanged file (its title and fields stay
    those given the first time).
    """
    from vault.client.transfer import upload_file

    sealed = json.loads(sealed_json.read_text(encoding="utf-8")) if sealed_json else None
    if sealed is not None and not isinstance(sealed, dict):
        fail("--sealed must be a JSON object", as_json)
    media_type = None
    if evidence_type in STRUCTURED:
        media_type = STRUCTURED[evidence_type][1]
        for f in files:
            _check_structured(evidence_type, f, as_json)
    s = open_session(url, unlock=True)
    results = []
    for f in files:
        meta = _metadata(title or "Evidence", evidence_type, region, place, date_from, date_to, violations,
                         methods, tags, language, detention_place_type)
        if evidence_type == "case_record":
            meta["supersedes"] = _latest_record_id(s, case_id)
        size = f.stat().st_size
        with progress_bar(size, f"Encrypting and sending {f.name}", hidden=as_json) as bar:
            out = upload_file(s, case_id, f, meta, sealed, attach_to, progress=bar.step, media_type=media_type,
                              restart=restart)
        results.append(out)

    def show(rs):
        for r in rs:
            again = f"; continued an earlier upload, {r['resumed_from']} bytes were already stored" \
                if r.get("resumed_from") else ""
            click.echo(f"Stored {r['item_id']} (ciphertext sha256 {r['blob_sha256']}{again})")

    emit(results, as_json, show)


@click.command()
@url_option
@click.argument("item_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: original name).")
@click.option("--dir", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Folder to write into.")
@json_option
@handle_errors
def download(url, item_id, out, out_dir, as_json):
    """Download, verify and decrypt an item (nothing is written unless every check passes)."""
    from vault.client.transfer import download_item

    s = open_session(url, unlock=True)
    size = s.http.get(f"/items/{item_id}")["blob_size"]
    with progress_bar(size, "Downloading and decrypting", hidden=as_json) as bar:
        path, manifest = download_item(s, item_id, out, out_dir, progress=bar.step)
    out = {"path": str(path), "sha256": manifest["sha256"], "size": manifest["size"], "uploader": manifest["uploader"],
           "verified": True, **({"capture": manifest["capture"]} if "capture" in manifest else {})}
    emit(out, as_json, lambda o: click.echo(
        f"Verified and saved {o['path']} ({o['size']} bytes, uploaded by {o['uploader']})" + capture_line(o)))


def capture_line(out: dict) -> str:
    """What the field app's signed capture statement says (vault/domain/capture.py), or nothing without one."""
    c = out.get("capture")
    if not c:
        return ""
    if not c["verified"]:
        return f"\nWARNING: its capture statement does not check out ({c['reason']}): do not rely on its time or place"
    where = f", at {c['location']['lat']}, {c['location']['lon']} (± {c['location']['accuracy_m']} m)" if c["location"] else ""
    return f"\nCaptured in the field at {c['device_time']} by the device's clock{where}; signed on the device"


@click.command()
@url_option
@click.argument("target")
@json_option
@handle_errors
def verify(url, target, as_json):
    """Verify an export bundle offline (a .zip path), or one item online (an item id)."""
    if Path(target).exists():
        try:
            from vault.export.verify import verify_command
        except ImportError:
            fail("bundle verification is not installed", as_json)
        sys.exit(verify_command(Path(target), as_json))
    from vault.client.transfer import download_item, fetch_item

    s = open_session(url, unlock=True)
    item, manifest, _, _, _ = fetch_item(s, target)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        download_item(s, target, Path(d) / "check")
    out = {"item_id": item["id"], "verified": True, "sha256": manifest["sha256"], "size": manifest["size"],
           "uploader": manifest["uploader"], "uploaded_at": item["created_at"],
           "uploader_sign_public": item["uploader"]["sign_public"], **({"capture": item["capture"]} if "capture" in item else {})}
    emit(out, as_json, lambda o: click.echo(
        f"OK: item {o['item_id']} is unaltered: sha256 {o['sha256']}, {o['size']} bytes, "
        f"signed by {o['uploader']}, stored {o['uploaded_at']}" + capture_line(o)))


COMMANDS = [upload, download, verify]
