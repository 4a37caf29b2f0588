"""A dishonest server for tests: a real HTTP proxy in front of real gunicorn that rewrites its answers.

This is what an attacker who controls the server, or sits in front of it
with its TLS key, can do: answer any request with JSON of their choosing.
`rewrite(method, path, status, body)` sees every JSON answer (path without
the query string) and returns a replacement body, or None to pass it on.
Everything else (pages, scripts, uploads, cookies) goes through unchanged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

Rewrite = Callable[[str, str, int, object], object | None]
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host",
        "proxy-connection", "te", "trailer", "upgrade"}


class RewritingProxy:
    def __init__(self, upstream_url: str, rewrite: Rewrite):
        self.upstream = upstream_url.rstrip("/")
        self.rewrite = rewrite
        self.seen: list[tuple[str, str]] = []  # (method, path) of every request, for assertions
        self.rewritten: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: the test output is the place for failures
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Accept-Encoding"] = "identity"
                path = self.path.split("?", 1)[0]
                proxy.seen.append((self.command, path))
                up = requests.request(self.command, proxy.upstream + self.path, headers=headers, data=body,
                                      allow_redirects=False, timeout=120)
                content = up.content
                if "application/json" in up.headers.get("Content-Type", ""):
                    try:
                        parsed = json.loads(content)
                    except ValueError:
                        parsed = None
                    if parsed is not None:
                        new = proxy.rewrite(self.command, path, up.status_code, parsed)
                        if new is not None:
                            proxy.rewritten.append((self.command, path))
                            content = json.dumps(new).encode()
                self.send_response(up.status_code)
                for k, v in up.raw.headers.items():
                    if k.lower() not in _HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
