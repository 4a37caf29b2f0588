"""The `vault` command: server administration and the end-to-end client.

Every client command takes --json for scripts, and reads VAULT_URL,
VAULT_USER and VAULT_PASSWORD so it can run without prompts.
"""

from __future__ import annotations

import json
import sys
from functools import wraps

import click

from vault.client.http import ApiFailure, Unreachable


def emit(data, as_json: bool, human=None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif human is not None:
        human(data)
    else:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(message: str, as_json: bool = False, exit_code: int = 1, **extra):
    if as_json:
        click.echo(json.dumps({"error": {"message": message, **extra}}, ensure_ascii=False))
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(exit_code)


def handle_errors(fn):
    """Turn known failures into one clear line (or JSON) and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = kwargs.get("as_json", False)
        from vault import crypto
        from vault.client.session import TrustError
        from vault.client.transfer import IntegrityFailure
        from vault.config import ConfigError

        try:
            return fn(*args, **kwargs)
        except ApiFailure as exc:
            fail(f"{exc.message} ({exc.status} {exc.code})", as_json, 2, status=exc.status, code=exc.code)
        except Unreachable as exc:
            fail(str(exc), as_json, 3)
        except (TrustError, IntegrityFailure, crypto.CryptoError) as exc:
            fail(str(exc), as_json, 4, code=type(exc).__name__)
        except ConfigError as exc:
            fail(str(exc), as_json, 5)

    return wrapper


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evidence-vault")
def main():
    """Evidence vault: end-to-end encrypted evidence with a chain of custody."""


def _register():
    from vault.cli import client, server

    main.add_command(server.server)
    for cmd in client.COMMANDS:
        main.add_command(cmd)
    try:
        from vault.cli import plugins as plugin_cmds

        for cmd in plugin_cmds.COMMANDS:
            main.add_command(cmd)
    except ImportError:
        pass
    try:
        from vault.cli import search as search_cmds

        for cmd in search_cmds.COMMANDS:
            main.add_command(cmd)
        for cmd in search_cmds.SERVER_COMMANDS:
            server.server.add_command(cmd)
    except ImportError:
        pass


_register()
