"""`vault exporters` and `vault export` (client commands).

An export is decrypted, rendered and signed on this machine
(vault/client/export.py); the server only records that it was made.
The exporters come from plugins the server has enabled (`vault plugins`).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from vault.cli.common import open_session, url_option
from vault.cli.output import emit, fail, handle_errors, json_option, progress_bar


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
@click.option("--attach", "attach", multiple=True, metavar="ITEM",
              help="An item id to attach; repeat for each (default: those the case record lists).")
@click.option("--no-attachments", is_flag=True, help="Attach nothing: the documents alone.")
@click.option("--all-items", is_flag=True, help="Attach every item of the case (except case records).")
@click.option("--redact", is_flag=True,
              help="Accept the proposed redaction: where the victim's name must not appear, replace every "
                   "occurrence (and the ID number, date of birth, home address) with the pseudonym or "
                   "\"the victim\".")
@click.option("--date", "document_date", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date printed on the document and used for time limits (default: today).")
@click.option("--draft", is_flag=True, help="Build even if something the recipient needs is missing.")
@json_option
@handle_errors
def export(url, case_id, exporter, out, language, variant, item_list, attach, no_attachments, all_items, redact,
           document_date, draft, as_json):
    """Export a case for a recipient (OMCT, UN, Akyikatchy…): decrypted, rendered and signed on this machine.

    You choose what each recipient gets (--attach ITEM..., --no-attachments): an attachment the case
    record lists but you leave out is a warning, never a refusal.
    """
    from vault.client.export import ExportFailed, prepare_export
    from vault.export.bundle import BundleError, ExportRefused
    from vault.plugins import PluginFailed

    if sum(map(bool, (item_list or attach, all_items, no_attachments))) > 1:
        fail("give one of --items/--attach, --all-items, --no-attachments", as_json)
    item_ids = [x.strip() for x in item_list.split(",") if x.strip()] if item_list else None
    if attach:
        item_ids = (item_ids or []) + [x.strip() for x in attach if x.strip()]
    if no_attachments:
        item_ids = []
    if out.exists() and not out.is_file():
        fail(f"{out} exists and is not a file", as_json)
    when = document_date.date() if isinstance(document_date, dt.datetime) else None
    lang = "en"
    try:
        sess = open_session(url, unlock=True)
        lang = sess.me.get("language") or "en"
        with prepare_export(sess, case_id, exporter, out, language=language, variant=variant, item_ids=item_ids,
                            all_items=all_items, document_date=when, redact=redact) as plan:
            leak = any(p.path == "anonymity" and p.severity == "missing" for p in plan.problems)
            if leak or (plan.missing and not draft):
                if as_json:
                    fail(f"{plan.exporter.target_body} needs more", True, 1, code="missing", exporter=exporter,
                         problems=[p.to_dict() for p in plan.problems])
                click.echo(f"Cannot export for {plan.exporter.target_body} yet: "
                           f"{len(plan.missing)} thing(s) missing.", err=True)
                for line in _problem_lines(plan.missing, lang):
                    click.echo(line, err=True)
                if leak:
                    click.echo("The victim's name must not appear in this export. Edit the case record and upload "
                               "it again, or accept the redaction with --redact.", err=True)
                else:
                    click.echo("Complete the case record and upload it again, or build a draft with --draft.",
                               err=True)
                sys.exit(1)
            with progress_bar(max(plan.total_bytes, 1), "Decrypting and checking attachments",
                              hidden=as_json) as bar:
                result = plan.write(draft=draft, progress=bar.step)
    except ExportFailed as exc:
        fail(exc.message, as_json, 1, code=exc.code)
    except ExportRefused as exc:  # the finished bundle still named the victim: nothing was written
        if as_json:
            fail("the bundle would name the victim", True, 1, code="missing", exporter=exporter,
                 problems=[p.to_dict() for p in exc.problems])
        click.echo("Refused: the finished bundle would still name the victim; nothing was written.", err=True)
        for line in _problem_lines(exc.problems, lang):
            click.echo(line, err=True)
        sys.exit(1)
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
def exporters(url, as_json):
    """The exporters enabled on the server: names for `vault export --format`."""
    from vault.client.export import server_exporters

    rows = server_exporters(open_session(url))

    def human(rs):
        if not rs:
            click.echo("No exporter is enabled on this vault.")
        for e in rs:
            variants = f"  variants: {', '.join(v['name'] for v in e['variants'])}" if e["variants"] else ""
            click.echo(f"{e['name']:<12} {e['label']}  →  {e['target_body']}  [{', '.join(e['languages'])}]"
                       f"{variants}")

    emit(rows, as_json, human)


COMMANDS = [export, exporters]
