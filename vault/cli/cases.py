"""`vault case create|list|show|add-member|remove-member`.

Case keys are made, sealed to members and rotated here, on the client.
"""

from __future__ import annotations

import click

from vault.cli.common import open_session, url_option
from vault.cli.output import emit, handle_errors, json_option


@click.group()
def case():
    """Open cases, list them, manage members."""


@case.command("create")
@url_option
@click.argument("reference")
@click.option("--title", required=True, help="Searchable: visible to the server. Never put names here.")
@click.option("--region", help="Region code (e.g. bishkek, osh, jalal_abad).")
@json_option
@handle_errors
def case_create(url, reference, title, region, as_json):
    """Open a case; its key is made here and sealed to you and the recovery key."""
    s = open_session(url, unlock=True)
    out = s.create_case(reference, title, region)
    emit(out, as_json, lambda o: click.echo(f"Case {o['reference']} created: {o['id']}"))


@case.command("list")
@url_option
@json_option
@handle_errors
def case_list(url, as_json):
    """The cases you are a member of."""
    cases = open_session(url).cases()

    def human(rows):
        if not rows:
            click.echo("You are not a member of any case yet.")
        for c in rows:
            click.echo(f"{c['id']}  {c['reference']:<20} {c['items']:>5} items  {c['title']}")

    emit(cases, as_json, human)


@case.command("show")
@url_option
@click.argument("case_id")
@json_option
@handle_errors
def case_show(url, case_id, as_json):
    """A case's members (with fingerprints) and items."""
    s = open_session(url)
    c = s.case(case_id)
    items = s.http.get(f"/cases/{case_id}/items")["items"]
    out = {**{k: c[k] for k in ("id", "reference", "title", "region", "key_version")},
           "members": [{k: m[k] for k in ("username", "role", "fingerprint")} for m in c["members"]],
           "items": items}

    def human(o):
        click.echo(f"{o['reference']}: {o['title']} (key version {o['key_version']})")
        for m in o["members"]:
            click.echo(f"  member {m['username']:<16} {m['role']:<7} {m['fingerprint']}")
        for i in o["items"]:
            click.echo(f"  item {i['id']}  {i['evidence_type']:<16} {i['metadata']['title']}")

    emit(out, as_json, human)


@case.command("add-member")
@url_option
@click.argument("case_id")
@click.argument("username")
@json_option
@handle_errors
def case_add_member(url, case_id, username, as_json):
    """Grant a colleague access: your client seals the case keys to their key."""
    s = open_session(url, unlock=True)
    out = s.add_member(case_id, username)
    emit(out, as_json, lambda o: click.echo(
        f"{username} added. Their fingerprint is {o['fingerprint']}: compare it with them in person."))


@case.command("remove-member")
@url_option
@click.argument("case_id")
@click.argument("username")
@json_option
@handle_errors
def case_remove_member(url, case_id, username, as_json):
    """Remove a member and rotate the case key for new items."""
    s = open_session(url, unlock=True)
    out = s.remove_member(case_id, username)
    emit(out, as_json, lambda o: click.echo(f"{username} removed; new items use key version {o['key_version']}."))


COMMANDS = [case]
