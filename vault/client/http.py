"""A thin JSON-over-HTTP client for /api/v1 with clear errors."""

from __future__ import annotations

import requests


class ApiFailure(Exception):
    """The server refused a request; `message` says what to do."""

    def __init__(self, status: int, code: str, message: str, body: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body or {}


class Unreachable(Exception):
    """The server could not be reached (network down, wrong URL)."""


class Http:
    def __init__(self, url: str, token: str | None = None, timeout: float = 60):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()

    def _headers(self, extra: dict | None = None) -> dict:
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def call(self, method: str, path: str, json: dict | None = None, data=None, params=None,
             headers: dict | None = None, stream: bool = False, expect=(200, 201, 206)):
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
