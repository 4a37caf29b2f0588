"""The browser export's multipart/form-data body, read part by part from the request stream, in memory only.

Never ``request.form`` or ``request.files``: werkzeug's form parser spools
file parts over 500 KB to temporary files, which would put plaintext on the
server's disk. FormParts drives werkzeug's sans-IO decoder
(werkzeug.sansio.multipart, the parser behind ``request.form``) on the raw
stream instead, and AttachmentFeed hands each attachment part to the bundle
as it arrives, so a file is held once, in the output ZIP.

Why not the streaming-form-data package: it cannot tell a body that lost its
closing boundary from a complete one (it has no end-of-input call, and a part
without a Content-Disposition or a name is dropped silently), it pushes data
into callbacks registered by part name before parsing starts (the item part
names are known only from the first part), and it brings smart-open and
aiofiles, whose targets write parts to files. werkzeug's decoder is already
a dependency and, with the checks below, refuses each of those bodies.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData, Preamble
from werkzeug.sansio.multipart import Field as FieldEvent

from vault.api.errors import ApiError
from vault.export.bundle import BundleError

READ = 64 * 1024
EXPORT_PART = "export"
ITEM_PART = "item:"


class Malformed(ApiError):
    def __init__(self, message: str):
        super().__init__(400, "malformed_multipart", message)


class FormParts:
    """A multipart/form-data body read part by part from ``stream``; ``too_many`` is the 413's message."""

    def __init__(self, stream: BinaryIO, boundary: bytes, max_parts: int, too_many: str):
        self._stream = stream
        self._decoder = MultipartDecoder(boundary, max_parts=max_parts)
        self._too_many = too_many
        self._in_part = False
        self.ended = False

    def _event(self):
        while True:
            try:
                event = self._decoder.next_event()
            except RequestEntityTooLarge:
                raise ApiError(413, "too_many_parts", self._too_many) from None
            except (ValueError, AttributeError, IndexError):
                raise Malformed("The multipart body could not be read (bad boundary or part headers).") from None
            if not isinstance(event, NeedData):
                return event
            chunk = self._stream.read(READ)
            self._decoder.receive_data(chunk if chunk else None)

    def next_part(self) -> str | None:
        """The name of the next part (skipping what is left of the current one), or None at the end."""
        for _ in self.data():
            pass
        while True:
            event = self._event()
            if isinstance(event, Preamble):
                continue
            if isinstance(event, FieldEvent | File):
                if not event.name:
                    # None means "the body ended": a part without a name must not pass for that.
                    raise Malformed("A part of the multipart body has no name.")
                self._in_part = True
                return event.name
            if isinstance(event, Epilogue):
                self.ended = True
                return None
            raise Malformed("The multipart body could not be read.")

    def data(self):
        """The current part's bytes, as they arrive."""
        while self._in_part:
            event = self._event()
            if not isinstance(event, Data):
                raise Malformed("The multipart body could not be read.")
            if not event.more_data:
                self._in_part = False
            if event.data:
                yield event.data

    def read_all(self, limit: int, what: str) -> bytes:
        """The whole current part, refused with a 413 past ``limit`` bytes."""
        buf = bytearray()
        for chunk in self.data():
            buf += chunk
            if len(buf) > limit:
                raise ApiError(413, "too_large", f"The {what} is larger than {limit} bytes.")
        return bytes(buf)


class _PartStream(io.RawIOBase):
    """One attachment part as a readable stream (read once, as it arrives)."""

    def __init__(self, parts: FormParts):
        self._chunks = parts.data()
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            out = self._buf + b"".join(self._chunks)
            self._buf = b""
            return out
        while len(self._buf) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buf += chunk
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class AttachmentFeed:
    """Hands each ExportItem its file part ``item:<item_id>``, in the order of ``items``.

    While rendering a part that a plugin reads is kept in memory so the
    bundle can read it again; once ``stream()`` was called (the bundle is
    being written), each part not read before streams from the request into
    the ZIP, once. Implements vault.services.exports.Attachments.
    """

    def __init__(self, parts: FormParts, item_ids: list[str]):
        self.parts, self.ids = parts, item_ids
        self.next = 0
        self.kept: dict[int, bytes] = {}
        self.keep = True

    def _advance(self, index: int) -> None:
        name = self.parts.next_part()
        want = ITEM_PART + self.ids[index]
        if name is None:
            raise Malformed(f"The body has no part {want!r}: send one file part per item, in the order of "
                            "'items'.")
        if name != want:
            raise Malformed(f"Expected the part {want!r} next: send one file part per item, named "
                            "'item:<item_id>', in the order of 'items'.")
        self.next = index + 1

    def open(self, index: int) -> BinaryIO:
        if index in self.kept:
            return io.BytesIO(self.kept[index])
        if index < self.next:
            raise BundleError(f"item {self.ids[index]}: its part was already read")
        while self.next < index:  # a plugin reads ahead: keep the parts in between
            n = self.next
            self._advance(n)
            self.kept[n] = b"".join(self.parts.data())
        self._advance(index)
        if self.keep:
            self.kept[index] = b"".join(self.parts.data())
            return io.BytesIO(self.kept[index])
        return io.BufferedReader(_PartStream(self.parts), READ)

    def opener(self, index: int):
        return lambda: self.open(index)

    def stream(self) -> None:
        self.keep = False

    def finish(self) -> None:
        """After the bundle is written: every part was used and nothing else was sent."""
        if self.next < len(self.ids):
            self._advance(self.next)  # raises: a part is missing or misnamed
        extra = self.parts.next_part()
        if extra is not None:
            raise Malformed("The body has more parts than 'items' lists.")
