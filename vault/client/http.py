"""A thin JSON-over-HTTP client for /api/v1 with clear errors.

A request the server answers 503 `database_unavailable` (its database is
restarting, failing over or locked by another process) is sent again after
the Retry-After it names, for up to DB_RETRY_FOR_S. Sending again is safe:
such a request did not commit. In the one exception, a commit whose answer
was lost with the connection, the repeat is refused as done already: a
chunk's offset has moved (409 wrong_offset, which the upload resumes
from), a finished upload is gone (404; the item exists).
"""

from __future__ import annotations

import time

import requests

DB_RETRY_FOR_S = 60.0  # longer than a PostgreSQL restart; then the user is told to try again


class ApiFailure(Exception):
    """The server refused a request; `message` says what to do."""

    def __init__(self, status: int, code: str, message: str, body: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body or {}


class Unreachable(Exception):
    """The server could not be reached (network down, wrong URL)."""


class Http:
    def __init__(self, url: str, token: str | None = None, timeout: float = 60, db_retry_for: float = DB_RETRY_FOR_S):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.db_retry_for = db_retry_for
        self.session = requests.Session()

    def _headers(self, extra: dict | None = None) -> dict:
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def call(self, method: str, path: str, json: dict | None = None, data=None, params=None,
             headers: dict | None = None, stream: bool = False, expect=(200, 201, 206)):
        waited = 0.0
        while True:
            try:
                return self._call_once(method, path, json, data, params, headers, stream, expect)
            except ApiFailure as exc:
                if exc.status != 503 or exc.code != "database_unavailable" or not _repeatable(data):
                    raise
                try:
                    delay = min(max(float(exc.body.get("retry_after", 1)), 0.5), 15)
                except (TypeError, ValueError):
                    delay = 1.0
                if waited + delay > self.db_retry_for:
                    raise
                time.sleep(delay)
                waited += delay

    def _call_once(self, method, path, json, data, params, headers, stream, expect):
        try:
            resp = self.session.request(method, self.url + "/api/v1" + path, json=json, data=data, params=params,
                                        headers=self._headers(headers), timeout=self.timeout, stream=stream)
        except requests.ConnectionError as exc:
            raise Unreachable(f"cannot reach {self.url}: is the server running and the address right?") from exc
        except requests.Timeout as exc:
            raise Unreachable(f"{self.url} did not answer in {self.timeout} s") from exc
        if resp.status_code not in expect:
            try:
                body = resp.json()
                err = body.get("error", {})
                raise ApiFailure(resp.status_code, err.get("code", "error"), err.get("message", resp.reason), err)
            except ValueError:
                raise ApiFailure(resp.status_code, "error", f"{resp.status_code} {resp.reason}") from None
        if stream:
            return resp
        if resp.headers.get("Content-Type", "").startswith("application/json"):
            return resp.json()
        return resp.content

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json=json if json is not None else {}, **kw)


def _repeatable(data) -> bool:
    """A body that can be sent again as it was: none, bytes, or an iterable that starts over (RequestBody)."""
    if data is None or isinstance(data, (bytes, bytearray, str, dict)):
        return True
    return not hasattr(data, "read") and iter(data) is not data
