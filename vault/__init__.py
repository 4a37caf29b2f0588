"""The evidence vault.

``from vault import hookimpl`` is what a plugin needs to mark its hooks;
everything else a plugin may use is in vault.plugin_api (docs/plugin-api.md).
Kept light on purpose: importing ``vault`` loads pluggy and the hook
specifications, never Flask or SQLAlchemy, so the Python client and plugins
import it cheaply.
"""

from vault.hookspecs import hookimpl

__all__ = ["hookimpl"]
