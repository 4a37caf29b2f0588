"""How every `vault` command prints: results, errors, progress.

Use `emit` for a result, `fail` for a refusal and `handle_errors` on every
command, so a script sees one JSON error shape whatever went wrong; the
API's, `{"error": {"code", "message", ...}}` (vault/services/errors.py).
The exit code says the kind of failure:

    1  refused (bad input, a service refusal, an export that cannot be made)
    2  the server refused the request (the API's status and code are given)
    3  the server cannot be reached
    4  a key, signature or hash did not verify
    5  the configuration cannot be used
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def emit(data, as_json: bool, human=None) -> None:
    """Print a command's result: JSON with --json (or when there is no human form), else `human(data)`."""
    if as_json or human is None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        human(data)


def fail(message: str, as_json: bool = False, exit_code: int = 1, code: str = "refused", **extra):
    """Stop the command: `{"error": {"code", "message", **extra}}` with --json, else "Error: ..." on stderr."""
    if as_json:
        click.echo(json.dumps({"error": {"code": code, "message": message, **extra}}, ensure_ascii=False,
                              default=str))
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(exit_code)


def handle_errors(fn):
    """Turn known failures into one clear line (or the JSON error) and the exit codes above."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = kwargs.get("as_json", False)
        from vault import crypto
        from vault.client.http import ApiFailure, Unreachable
        from vault.client.session import TrustError
        from vault.client.transfer import IntegrityFailure
        from vault.config import ConfigError
        from vault.services.errors import Refused

        try:
            return fn(*args, **kwargs)
        except ApiFailure as exc:
            fail(f"{exc.message} ({exc.status} {exc.code})", as_json, 2, code=exc.code, status=exc.status)
        except Unreachable as exc:
            fail(str(exc), as_json, 3, code="unreachable")
        except (TrustError, IntegrityFailure, crypto.CryptoError) as exc:
            fail(str(exc), as_json, 4, code=type(exc).__name__)
        except ConfigError as exc:
            fail(str(exc), as_json, 5, code="config_error")
        except Refused as exc:  # a service's refusal, from the server-side commands
            fail(exc.message, as_json, 1, code=exc.code, **exc.extra)

    return wrapper


class Progress:
    """A progress bar's callbacks: `step(n)` for work that reports each piece, `reached(total)` for a running total."""

    def __init__(self, bar):
        self.bar, self.done = bar, 0

    def step(self, n: int = 1) -> None:
        self.bar.update(n)
        self.done += n

    def reached(self, total: int) -> None:
        self.step(total - self.done)


@contextmanager
def progress_bar(length: int, label: str, *, hidden: bool = False) -> Iterator[Progress]:
    """A progress bar on stderr (stdout stays the result's); `hidden` for --json where a command hides it."""
    with click.progressbar(length=length, label=label, file=sys.stderr, hidden=hidden) as bar:
        yield Progress(bar)
