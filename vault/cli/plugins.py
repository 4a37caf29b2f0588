"""`vault plugins list|enable|disable` (on the server) and `vault export` (a client command).

`vault plugins` works on the data folder directly, like `vault server ...`:
each change is a row in the database (every worker sees it on its next
request) and an audit entry with the actor "server-cli".
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from functools import wraps
from pathlib import Path

import click

from vault.cli import emit, handle_errors, json_option
from vault.cli.client import _session, url_option
from vault.cli.server import _vault, data_option

ACTOR = "server-cli"


def fail(message: str, as_json: bool = False, exit_code: int = 1, **extra):
    """vault.cli.fail, but the JSON error may carry a "code" (vault.cli.fail's own `code` is the exit code)."""
    if as_json:
        click.echo(json.dumps({"ok": False, "error": {"message": message, **extra}}, ensure_ascii=False))
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(exit_code)


def client_errors(fn):
    """Known client failures as one line (or JSON with a "code") and the exit codes of vault.cli.handle_errors.

    Caught here because vault.cli.handle_errors passes the error code to
    vault.cli.fail() as `code`, which is fail's exit-code parameter (TypeError).
    """

    @wraps(fn)
    def wrapper(*args, **kwargs):
        from vault import crypto
        from vault.client.http import ApiFailure
        from vault.client.session import TrustError
        from vault.client.transfer import IntegrityFailure

        as_json = kwargs.get("as_json", False)
        try:
            return fn(*args, **kwargs)
        except ApiFailure as exc:
            fail(f"{exc.message} ({exc.status} {exc.code})", as_json, 2, status=exc.status, code=exc.code)
        except (TrustError, IntegrityFailure, crypto.CryptoError) as exc:
            fail(str(exc), as_json, 4, code=type(exc).__name__)

    return wrapper


@click.group("plugins")
def plugins_group():
    """List, enable and disable installed plugins (on the server, against its data folder)."""


def _show(rows: list[dict]) -> None:
    if not rows:
        click.echo("No plugins are installed.")
    for p in rows:
        state = "always on" if p["always_on"] else ("ENABLED" if p["enabled"] else "disabled")
        if not p["installed"]:
            state += " (not installed)"
        version = p["version"] or "-"
        changed = (f"changed {p['changed_at']} by {p['changed_by']}" if p["changed_at"]
                   else f"default ({'enabled' if p['default_enabled'] else 'disabled'})")
        click.echo(f"{p['name']:<20} {version:<10} {state:<10} {changed}")
        for e in p["exporters"]:
            click.echo(f"    exporter {e['name']:<14} {e['label']}  →  {e['target_body']}")


@plugins_group.command("list")
@data_option
@json_option
@handle_errors
def plugins_list(data_dir: Path, as_json: bool):
    """Installed plugins, whether each is enabled, and the exporters they offer."""
    from vault.api.plugins import plugin_listing

    v = _vault(data_dir)
    with v.db.session() as s:
        rows = plugin_listing(s)
    emit(rows, as_json, _show)


def _toggle(data_dir: Path, name: str, enabled: bool, as_json: bool) -> None:
    from vault.api.plugins import notify_state_changed, set_plugin_enabled
    from vault.services.errors import Refused

    v = _vault(data_dir)
    try:
        with v.db.session() as s:
            out, changed = set_plugin_enabled(v, s, name, enabled, ACTOR)
    except Refused as exc:
        fail(exc.message, as_json, 1, code=exc.code)
    if changed:
        notify_state_changed(v, name, enabled, ACTOR)
    out = {**out, "changed": changed}

    def human(o):
        word = "enabled" if o["enabled"] else "disabled"
        click.echo(f"{o['name']} is {word}" + ("" if o["changed"] else " (it already was)") + ".")
        if o["changed"]:
            click.echo("Every server worker applies this from its next request; no restart is needed.")

    emit(out, as_json, human)


@plugins_group.command("enable")
@click.argument("name")
@data_option
@json_option
@handle_errors
def plugins_enable(name: str, data_dir: Path, as_json: bool):
    """Enable an installed plugin (audited as server-cli)."""
    _toggle(data_dir, name, True, as_json)


@plugins_group.command("disable")
@click.argument("name")
@data_option
@json_option
@handle_errors
def plugins_disable(name: str, data_dir: Path, as_json: bool):
    """Disable a plugin (audited as server-cli)."""
    _toggle(data_dir, name, False, as_json)


def _problem_lines(problems, lang: str) -> list[str]:
    return [f"  - {p.path}: {p.text(lang)}" for p in problems]


@click.command("export")
@url_option
@click.argument("case_id")
@click.option("--format", "exporter", required=True, help="Exporter name (see `vault exporters`).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The bundle to write (.zip).")
@click.option("--language", help="Document language (default: the exporter's first).")
@click.option("--variant", help="A variant of the document, e.g. cat22 for un-hrc.")
@click.option("--items", "item_list", help="Comma-separated item ids to attach (default: those the case record lists).")
@click.option("--all-items", is_flag=True, help="Attach every item of the case (except case records).")
@click.option("--date", "document_date", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date printed on the document and used for time limits (default: today).")
@click.option("--draft", is_flag=True, help="Build even if something the recipient needs is missing.")
@json_option
@handle_errors
@client_errors
def export(url, case_id, exporter, out, language, variant, item_list, all_items, document_date, draft, as_json):
    """Export a case for a recipient (OMCT, UN, Akyikatchy…): decrypted, rendered and signed on this machine."""
    from vault.client.export import ExportFailed, prepare_export
    from vault.export.bundle import BundleError
    from vault.plugins import PluginFailed

    if item_list and all_items:
        fail("give --items or --all-items, not both", as_json)
    item_ids = [x.strip() for x in item_list.split(",") if x.strip()] if item_list else None
    if out.exists() and not out.is_file():
        fail(f"{out} exists and is not a file", as_json)
    when = document_date.date() if isinstance(document_date, dt.datetime) else None
    lang = "en"
    try:
        sess = _session(url, unlock=True)
        lang = sess.me.get("language") or "en"
        with prepare_export(sess, case_id, exporter, out, language=language, variant=variant, item_ids=item_ids,
                            all_items=all_items, document_date=when) as plan:
            if plan.missing and not draft:
                problems = [p.to_dict() for p in plan.problems]
                if as_json:
                    emit({"ok": False, "exporter": exporter, "error": {"code": "missing", "message":
                          f"{plan.exporter.target_body} needs more"}, "problems": problems}, True)
                else:
                    click.echo(f"Cannot export for {plan.exporter.target_body} yet: "
                               f"{len(plan.missing)} thing(s) missing.", err=True)
                    for line in _problem_lines(plan.missing, lang):
                        click.echo(line, err=True)
                    click.echo("Complete the case record and upload it again, or build a draft with --draft.",
                               err=True)
                sys.exit(1)
            with click.progressbar(length=max(plan.total_bytes, 1), label="Decrypting and checking attachments",
                                   file=sys.stderr, hidden=as_json) as bar:
                result = plan.write(draft=draft, progress=lambda n: bar.update(n))
    except ExportFailed as exc:
        fail(exc.message, as_json, 1, code=exc.code)
    except (PluginFailed, BundleError) as exc:  # messages carry exception types and item ids only
        fail(str(exc), as_json, 1, code=type(exc).__name__)
    except OSError as exc:
        fail(f"cannot write the bundle next to {out}: {exc.strerror or type(exc).__name__}", as_json, 1,
             code="os_error")

    def human(o):
        click.echo(f"Exported {o['exporter']} ({o['language']}) for {o['target_body']}"
                   f"{' — DRAFT' if o['draft'] else ''}: {o['path']}")
        click.echo(f"  {len(o['items'])} attachment(s), {o['size']} bytes, sha256 {o['bundle_sha256']}")
        if o["problems"]:
            click.echo("Check before sending:")
            for p in o["problems"]:
                click.echo(f"  - [{p['severity']}] {p['path']}: {p['messages'].get(lang) or p['message']}")
        click.echo(f"The recipient checks the bundle with `vault verify {Path(o['path']).name}`.")

    emit({"ok": True, **result}, as_json, human)


@click.command("exporters")
@url_option
@json_option
@handle_errors
@client_errors
def exporters(url, as_json):
    """The exporters enabled on the server: names for `vault export --format`."""
    from vault.client.export import server_exporters

    rows = server_exporters(_session(url))

    def human(rs):
        if not rs:
            click.echo("No exporter is enabled on this vault.")
        for e in rs:
            variants = f"  variants: {', '.join(v['name'] for v in e['variants'])}" if e["variants"] else ""
            click.echo(f"{e['name']:<12} {e['label']}  →  {e['target_body']}  [{', '.join(e['languages'])}]"
                       f"{variants}")

    emit(rows, as_json, human)


COMMANDS = [plugins_group, export, exporters]
