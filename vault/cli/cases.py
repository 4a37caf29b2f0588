"""`vault case create|list|show|add-member|remove-member|adopt`.

Case keys are made, sealed to members and rotated here, on the client.
"""

from __future__ import annotations

import sys

import click

from vault.cli.common import confirm_fingerprint, open_session, url_option
from vault.cli.output import emit, fail, handle_errors, json_option


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
    """A case's members as its verified chain names them (fingerprints computed here) and its items."""
    from vault import crypto

    s = open_session(url)
    c = s.case(case_id)
    st = s.case_state(c)
    listed = {m["id"]: m for m in c["members"]}
    members = []
    for uid, m in sorted(st.members.items(), key=lambda kv: kv[1]["username"]):
        current = listed.get(uid, {})
        keys = current if current.get("box_public") else m
        certified = s.trust.certified(current) if current else None
        members.append({"username": m["username"], "role": certified.role if certified else current.get("role"),
                        "fingerprint": crypto.fingerprint(crypto.b64d(keys["box_public"]),
                                                          crypto.b64d(keys["sign_public"])),
                        "certified": certified is not None})
    items = s.http.get(f"/cases/{case_id}/items")["items"]
    out = {**{k: c[k] for k in ("id", "reference", "title", "region")}, "key_version": st.key_version,
           "chain_entries": st.seq, "members": members, "items": items}

    def human(o):
        click.echo(f"{o['reference']}: {o['title']} (key version {o['key_version']}, "
                   f"membership chain verified to entry {o['chain_entries']})")
        for m in o["members"]:
            mark = "" if m["certified"] else "  NOT CERTIFIED"
            click.echo(f"  member {m['username']:<16} {m['role'] or '?':<7} {m['fingerprint']}{mark}")
        for i in o["items"]:
            click.echo(f"  item {i['id']}  {i['evidence_type']:<16} {i['metadata']['title']}")

    emit(out, as_json, human)


@case.command("add-member")
@url_option
@click.argument("case_id")
@click.argument("username")
@click.option("--fingerprint", help="For a colleague not yet certified: their fingerprint, compared in person.")
@json_option
@handle_errors
def case_add_member(url, case_id, username, fingerprint, as_json):
    """Grant a colleague access: your client seals the case keys to their verified key."""
    from vault import crypto

    s = open_session(url, unlock=True)
    user = s.http.get(f"/users/{username}")
    if s.trust.certified(user) is None and fingerprint is None:
        fpr = crypto.fingerprint(crypto.b64d(user["box_public"]), crypto.b64d(user["sign_public"]))
        confirm_fingerprint(username, fpr, None, as_json)  # not certified: only an in-person comparison will do
        fingerprint = fpr
    out = s.add_member(case_id, username, expect_fingerprint=fingerprint)
    emit(out, as_json, lambda o: click.echo(
        f"{username} added (keys verified by {o['verified_by']}; fingerprint {o['fingerprint']})."))


@case.command("adopt")
@url_option
@click.argument("case_id")
@click.option("--yes", is_flag=True, help="The members listed are right (you checked them).")
@json_option
@handle_errors
def case_adopt(url, case_id, yes, as_json):
    """Start the membership chain of a case made before chains (once, by one member)."""
    from vault import crypto

    s = open_session(url, unlock=True)
    c = s.case(case_id)
    if not yes:
        if as_json or not sys.stdin.isatty():
            fail("check the members with `vault case show` first, then repeat with --yes", as_json)
        for m in c["members"]:
            click.echo(f"  {m['username']:<16} {crypto.fingerprint(crypto.b64d(m['box_public']), crypto.b64d(m['sign_public']))}")
        click.confirm("Are these exactly the case's members?", abort=True)
    out = s.adopt_case(case_id)
    emit(out, as_json, lambda o: click.echo(f"Membership chain started for {c['reference']}."))


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
