"""JSON errors. Every failure a client can cause is a 4xx with a message that
says what to do; nothing else (no stack trace, no sealed data) is returned."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self):
        body = {"error": {"code": self.code, "message": self.message, **self.extra}}
        resp = jsonify(body)
        resp.status_code = self.status
        if self.status in (429, 503) and "retry_after" in self.extra:
            resp.headers["Retry-After"] = str(self.extra["retry_after"])
        return resp


def not_found(what: str = "resource") -> ApiError:
    # One answer, word for word, for "absent" and "not yours" whatever was
    # asked for, so ids cannot be probed. `what` is for readers of the code.
    del what
    return ApiError(404, "not_found", "Not found, or you are not a member of its case.")


def register(app: Flask) -> None:
    app.register_error_handler(ApiError, lambda e: e.response())

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
            return ApiError(e.code or 500, (e.name or "error").lower().replace(" ", "_"), msg).response()
        return e

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        # Log the type only: exception text may quote request data.
        app.logger.error("unhandled %s on %s %s", type(e).__name__, request.method, request.path)
        if request.path.startswith("/api/"):
            return ApiError(500, "internal", "Internal error; nothing was saved. Try again.").response()
        return "Internal error; nothing was saved. Try again.", 500
