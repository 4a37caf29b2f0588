"""Plugin routes: the admin's list and switch, and the exporters of the enabled plugins.

The state itself (which plugins are enabled, audited changes, the exporter a
request may use) is vault/services/plugins.py. Importing this module lets an
app carry its own plugin manager (extensions["vault_plugins"]), which the
service then uses for that app's requests.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from pydantic import StrictBool

from vault.api.openapi import doc
from vault.api.schemas import Strict
from vault.api.security import access
from vault.api.validation import json_body
from vault.services import plugins as plugin_state

bp = Blueprint("plugins", __name__, url_prefix="/api/v1")


class PluginToggle(Strict):
    """Body of POST /admin/plugins/<name>. Strict: "no", "0" or 0 is refused, not read as false."""

    enabled: StrictBool


def _app_plugin_manager():
    # Tests may give an app its own plugin manager in extensions["vault_plugins"];
    # outside an app context (the server CLI) there is none.
    try:
        return current_app.extensions.get("vault_plugins")
    except RuntimeError:
        return None


plugin_state.set_manager_lookup(_app_plugin_manager)


def _vault():
    return current_app.extensions["vault"]


@bp.get("/admin/plugins")
@access("admin")
@doc("Installed plugins: name, version, exporters offered, enabled, last change (changed_at, changed_by).")
def list_plugins():
    with _vault().db.session() as s:
        return jsonify({"plugins": plugin_state.plugin_listing(s)})


@bp.post("/admin/plugins/<name>")
@access("admin")
@doc("Enable or disable an installed plugin. Body (JSON): {\"enabled\": true|false}. Audited; takes effect "
     "in every worker at once.", body=PluginToggle)
def toggle_plugin(name: str):
    body = json_body(PluginToggle)
    return jsonify(plugin_state.change_plugin_state(_vault(), name, body.enabled, g.user.username))


@bp.get("/exporters")
@access("member")
@doc("The exporters of enabled plugins, for the export dialog: label, target body, languages, formats, "
     "variants, required fields, form version; and the size limit of a browser export.")
def list_exporters():
    v = _vault()
    with v.db.session() as s:
        return jsonify(plugin_state.exporter_listing(s, v.config))
