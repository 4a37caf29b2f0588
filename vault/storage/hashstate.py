"""SHA-256 whose state survives between requests.

Why: an upload arrives as many requests, possibly on different gunicorn
workers. Hashing each chunk as it is written, and keeping the hash state
with the upload's row, spares `finish` from reading the whole file again
(for 1 GiB that was most of a second during which nothing else happened).
hashlib cannot export its state, so this uses OpenSSL's SHA256_CTX through
ctypes, the same library hashlib itself uses.

The exported state is only ever trusted after `restore` checks that its
byte count equals the acknowledged length; anything else (another
library's layout, a truncated value, OpenSSL built without these
functions) gives None, and the caller re-hashes the file instead. So this
is an optimisation that can only fall back, never a second source of truth.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct

STATE_TAG = b"ossl-sha256-ctx-v1"
_CTX_SIZE = 112  # SHA256_CTX: h[8], Nl, Nh, data[16], num, md_len (32-bit words)


def _load():
    name = ctypes.util.find_library("crypto")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        for fn in (lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final):
            fn.restype = ctypes.c_int
        lib.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return lib


_LIB = _load()


def available() -> bool:
    return _LIB is not None


class ResumableSha256:
    """Incremental SHA-256 over the bytes of one upload, exportable between requests."""

    def __init__(self, ctx: ctypes.Array):
        self._ctx = ctx

    @classmethod
    def new(cls) -> ResumableSha256 | None:
        if _LIB is None:
            return None
        ctx = ctypes.create_string_buffer(_CTX_SIZE)
        if _LIB.SHA256_Init(ctx) != 1:
            return None
        return cls(ctx)

    @classmethod
    def restore(cls, state: bytes | None, length: int) -> ResumableSha256 | None:
        """The hasher saved after `length` bytes, or None if `state` is not exactly that."""
        if _LIB is None or not state or not state.startswith(STATE_TAG):
            return None
        raw = state[len(STATE_TAG):]
        if len(raw) != _CTX_SIZE:
            return None
        nl, nh = struct.unpack_from("=II", raw, 32)
        num, md_len = struct.unpack_from("=II", raw, 104)
        if (nh << 32 | nl) != length * 8 or md_len != 32 or num != length % 64:
            return None
        return cls(ctypes.create_string_buffer(raw, _CTX_SIZE))

    def update(self, data) -> None:
        view = memoryview(data)
        if not view.nbytes:
            return
        if view.readonly:  # bytes: ctypes passes a pointer to them as they are
            buf = data if isinstance(data, bytes) else bytes(view)
        else:
            buf = (ctypes.c_char * view.nbytes).from_buffer(view)
        _LIB.SHA256_Update(self._ctx, buf, view.nbytes)

    def export(self) -> bytes:
        return STATE_TAG + self._ctx.raw

    def hexdigest(self) -> str:
        copy = ctypes.create_string_buffer(self._ctx.raw, _CTX_SIZE)
        out = ctypes.create_string_buffer(32)
        _LIB.SHA256_Final(out, copy)
        return out.raw.hex()
