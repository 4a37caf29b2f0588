"""A request body read straight from gunicorn's socket, when it is safe to.

Why: gunicorn passes a body to the app through two BytesIO buffers
(Unreader, Body) and werkzeug's LimitedStream; for a chunk of evidence that
is five or six copies of every byte, more CPU than hashing it. When the
request came through gunicorn with a Content-Length body that nobody has
read yet, we take the bytes gunicorn read ahead with the headers and then
`recv_into` our own buffer: one copy, from the kernel.

Anything that does not look exactly like that (another server, the test
client, chunked transfer encoding, a body already touched) gets werkzeug's
stream, so this can only make a request faster, never change what it reads.

While bytes arrive, the worker tells gunicorn it is alive (vault/heartbeat.py).
"""

from __future__ import annotations

import socket

from flask import request

from vault.serving import heartbeat


class _SocketBody:
    def __init__(self, sock: socket.socket, head: bytes, length: int, reader):
        self._sock = sock
        self._head = memoryview(head)
        self._left = length
        self._reader = reader

    def readinto(self, buf) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buf)[: self._left]
        if self._head.nbytes:
            n = min(view.nbytes, self._head.nbytes)
            view[:n] = self._head[:n]
            self._head = self._head[n:]
        else:
            n = self._sock.recv_into(view)
            # Bytes arriving prove the request alive: on a 2G link a chunk can take
            # longer than gunicorn's timeout, which would otherwise kill the worker
            # mid-chunk. A link that stalls sends nothing, and is still cut off.
            heartbeat.beat()
        self._left -= n
        self._reader.length -= n  # gunicorn's own count stays true
        return n


def _gunicorn_parts(environ: dict, length: int):
    body = environ.get("wsgi.input")
    sock = environ.get("gunicorn.socket")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if not (isinstance(sock, socket.socket) and type(body).__module__ == "gunicorn.http.body"
            and type(reader).__name__ == "LengthReader" and type(unreader).__name__ == "SocketUnreader"):
        return None
    if getattr(unreader, "sock", None) is not sock or getattr(reader, "length", None) != length:
        return None
    buf = getattr(body, "buf", None)
    if buf is None or buf.getbuffer().nbytes or not hasattr(unreader, "take_buffered"):
        return None
    return sock, reader, unreader


def request_body(length: int):
    """Something with `readinto` that yields exactly the request's `length` body bytes."""
    parts = _gunicorn_parts(request.environ, length)
    if parts is None:
        return request.stream
    sock, reader, unreader = parts
    head = unreader.take_buffered()
    if len(head) > length:  # a pipelined next request: give it back
        unreader.unread(head[length:])
        head = head[:length]
    return _SocketBody(sock, head, length, reader)
