"""JSON from outside, parsed only within a size and a nesting depth.

Why: ``json.loads`` takes any size, and nests until Python's recursion
limit, where it raises RecursionError from deep inside whatever called it
(a traceback in `vault verify`, a 500 from the API). Bundles, backups,
request bodies and decrypted records all arrive from someone else, so every
reader of such JSON calls ``loads`` (bytes in memory) or ``read`` (a stream,
of which at most ``max_bytes + 1`` bytes are ever read) here, and gets a
``TooLarge`` or ``TooDeep`` before the parser allocates anything.

Both errors are ValueErrors, so a caller that treats "not JSON" as
"malformed" already treats them so; a caller that answers differently
(413 for too large) catches them first. Standard library only: every layer
may import this module.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import IO, Any

DEPTH = 64  # far deeper than any vault format (a case record nests 5 levels)

# A JSON string, escapes included (unrolled: no backtracking on long strings).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONLimitError(ValueError):
    """The JSON was refused before parsing; the message says which limit and never quotes the content."""


class TooLarge(JSONLimitError):
    def __init__(self, limit: int):
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class TooDeep(JSONLimitError):
    def __init__(self, limit: int):
        super().__init__(f"nested more than {limit} levels deep")
        self.limit = limit


def deeper_than(text: str, limit: int) -> bool:
    """Whether ``text`` nests arrays and objects more than ``limit`` deep (brackets in strings do not count).

    Linear time, stopping at the first bracket past the limit. Exact for
    valid JSON; for anything else json.loads fails anyway.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return any(level > limit for level in accumulate(map(_STEP.__getitem__, brackets)))


def loads(data: bytes | bytearray | str, *, max_bytes: int, max_depth: int = DEPTH) -> Any:
    """``json.loads`` of at most ``max_bytes`` (bytes, or characters of a str) nested at most ``max_depth``.

    Raises TooLarge, TooDeep, or json.JSONDecodeError / UnicodeDecodeError
    (all ValueErrors) for JSON that is too big, too deep or not JSON.
    """
    if len(data) > max_bytes:
        raise TooLarge(max_bytes)
    if isinstance(data, bytes | bytearray):
        # The encodings json.loads itself accepts for bytes (UTF-8, -16, -32).
        data = bytes(data).decode(json.detect_encoding(data), "surrogatepass")
    if deeper_than(data, max_depth):
        raise TooDeep(max_depth)
    return json.loads(data)


def read(stream: IO[bytes], *, max_bytes: int) -> bytes:
    """The rest of ``stream``, reading at most ``max_bytes + 1`` bytes whatever a header declares."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(max_bytes)
    return data


def load(stream: IO[bytes], *, max_bytes: int, max_depth: int = DEPTH) -> Any:
    """``loads`` of a stream, of which at most ``max_bytes + 1`` bytes are read (a ZIP or tar member)."""
    return loads(read(stream, max_bytes=max_bytes), max_bytes=max_bytes, max_depth=max_depth)
