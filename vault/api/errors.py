"""JSON errors. Every failure a client can cause is a 4xx with a message that
says what to do; nothing else (no stack trace, no sealed data) is returned.

A database that cannot be used right now (refused or broken connections, no
pooled connection free in time, SQLite locked past its busy timeout) is not
a bug: it answers 503 `database_unavailable` with Retry-After, here in one
place, whichever route met it. The Python client waits and sends again
(vault/client/http.py).
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from vault.db.engine import database_unavailable
from vault.services.errors import Refused, not_found

__all__ = ["ApiError", "database_unavailable", "not_found", "register", "response"]

# Seconds a client should wait: a restarting or failing-over PostgreSQL, or
# another process's SQLite lock, is usually back within a few seconds.
DB_RETRY_AFTER_S = 3
DB_UNAVAILABLE_MESSAGE = "The server cannot use its database right now. Try again in a few seconds."


class ApiError(Refused):
    """A refusal raised by the HTTP layer itself (parsing, authentication)."""


def response(e: Refused):
    resp = jsonify(e.as_json())
    resp.status_code = e.status
    if e.status in (429, 503) and "retry_after" in e.extra:
        resp.headers["Retry-After"] = str(e.extra["retry_after"])
    return resp


def _wants_json() -> bool:
    # The rule of the web pages' own error handler (vault/web/views.py): scripts and API clients get JSON.
    html = any(mime in ("text/html", "application/xhtml+xml") for mime, _q in request.accept_mimetypes)
    return not html or request.path.startswith(("/api/", "/web/", "/i18n/"))


def _database_refused(app: Flask, e: BaseException):
    # The type names only: a driver's message can quote the query, its parameters or the server's address.
    orig = getattr(e, "orig", None)
    kind = type(e).__name__ + (f" ({type(orig).__module__}.{type(orig).__name__})" if orig is not None else "")
    app.logger.warning("database unavailable: %s on %s %s; answered 503", kind, request.method, request.path)
    refusal = ApiError(503, "database_unavailable", DB_UNAVAILABLE_MESSAGE, retry_after=DB_RETRY_AFTER_S)
    if _wants_json():
        return response(refusal)
    return gettext(DB_UNAVAILABLE_MESSAGE), 503, {"Retry-After": str(DB_RETRY_AFTER_S),
                                                  "Content-Type": "text/plain; charset=utf-8"}


def register(app: Flask) -> None:
    app.register_error_handler(Refused, response)

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if request.path.startswith("/api/"):
            messages = {
                404: "No such endpoint. See /api/v1/openapi.json.",
                405: "This method is not allowed here. See /api/v1/openapi.json.",
                413: "The request is too large. Send files in chunks (see the upload API).",
                400: "The request could not be read. Send valid JSON with Content-Type application/json.",
            }
            msg = messages.get(e.code or 500, e.description or "error")
            return response(ApiError(e.code or 500, (e.name or "error").lower().replace(" ", "_"), msg))
        return e

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if database_unavailable(e):
            return _database_refused(app, e)
        # Log the type only: exception text may quote request data.
        app.logger.error("unhandled %s on %s %s", type(e).__name__, request.method, request.path)
        if request.path.startswith("/api/"):
            return response(ApiError(500, "internal", "Internal error; nothing was saved. Try again."))
        return "Internal error; nothing was saved. Try again.", 500
