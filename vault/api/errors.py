"""JSON errors. Every failure a client can cause is a 4xx with a message that
says what to do; nothing else (no stack trace, no sealed data) is returned."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from vault.services.errors import Refused, not_found

__all__ = ["ApiError", "not_found", "register", "response"]


class ApiError(Refused):
    """A refusal raised by the HTTP layer itself (parsing, authentication)."""


def response(e: Refused):
    resp = jsonify(e.as_json())
    resp.status_code = e.status
    if e.status in (429, 503) and "retry_after" in e.extra:
        resp.headers["Retry-After"] = str(e.extra["retry_after"])
    return resp


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
        # Log the type only: exception text may quote request data.
        app.logger.error("unhandled %s on %s %s", type(e).__name__, request.method, request.path)
        if request.path.startswith("/api/"):
            return response(ApiError(500, "internal", "Internal error; nothing was saved. Try again."))
        return "Internal error; nothing was saved. Try again.", 500
