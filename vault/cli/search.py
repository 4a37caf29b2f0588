"""`vault search` (client) and `vault server reindex` (server).

Both are here, with the search index they use; `vault server reindex` is
added to the `vault server` group by vault/cli/__init__.py.
"""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import open_session, open_vault_at, row_progress, url_option
from vault.cli.output import emit, handle_errors, json_option


@click.command()
@url_option
@click.argument("query", required=False, default="")
@click.option("--case", "case_id", help="Only this case (id).")
@click.option("--region", multiple=True, help="Region code; repeat for several.")
@click.option("--type", "evidence_type", multiple=True, help="Evidence type code; repeat for several.")
@click.option("--violation", "violations", multiple=True, help="Violation code; repeat for several.")
@click.option("--method", "methods", multiple=True, help="Method code; repeat for several.")
@click.option("--place-type", "detention_place_type", multiple=True, help="Place-of-detention type code.")
@click.option("--role", "uploader_role", type=click.Choice(["lawyer", "medic"]))
@click.option("--language", type=click.Choice(["ky", "ru", "en"]))
@click.option("--from", "date_from", help="Incidents on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Incidents on or before (YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--per-page", type=int, default=20, show_default=True)
@json_option
@handle_errors
def search(url, query, case_id, region, evidence_type, violations, methods, detention_place_type, uploader_role,
           language, date_from, date_to, sort, page, per_page, as_json):
    """Search the metadata of your cases, in Kyrgyz, Russian or English."""
    filters = {k: v for k, v in {
        "case_id": case_id, "region": list(region), "evidence_type": list(evidence_type),
        "violations": list(violations), "methods": list(methods),
        "detention_place_type": list(detention_place_type), "uploader_role": uploader_role,
        "language": language, "date_from": date_from, "date_to": date_to}.items() if v}
    out = open_session(url).http.post("/search", {"q": query, "filters": filters, "sort": sort, "page": page,
                                             "per_page": per_page})

    def human(o):
        click.echo(f"{o['total']} found (page {o['page']} of {max(1, o.get('pages', 1))})")
        for h in o["hits"]:
            dates = " – ".join(x for x in (h.get("incident_date_from"), h.get("incident_date_to")) if x)
            click.echo(f"{h['item_id']}  {h['case_reference']:<16} {h['evidence_type']:<15} {dates:<23} {h['title']}")

    emit(out, as_json, human)


@click.command()
@click.option("--data", "data_dir", envvar="VAULT_DATA", type=click.Path(path_type=Path), required=True)
@json_option
@handle_errors
def reindex(data_dir, as_json):
    """Rebuild the search index from the database (the index is derived data)."""
    from vault.db.models import Item
    from vault.services import indexing

    v = open_vault_at(data_dir)
    with row_progress(v, Item, "Rebuilding the search index", hidden=as_json) as bar:
        count = indexing.reindex(v.db, v.config.index_dir, bar.reached)
    emit({"indexed": count}, as_json, lambda o: click.echo(f"Indexed {o['indexed']} items."))


COMMANDS = [search]
SERVER_COMMANDS = [reindex]
