"""Refusals the services raise, and the one shape every interface shows them in.

A service says *why* it refuses (`status` is the HTTP-like kind, `code` a
stable machine name, `message` a sentence that tells the user what to do);
the API turns it into `{"error": {"code", "message", ...}}` with that
status, the web pages into a flash, the CLI into the same JSON or a line on
stderr. No interface invents its own shape.
"""

from __future__ import annotations


class Refused(Exception):
    """A request the vault will not carry out, with what the user can do about it."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


NOT_FOUND_MESSAGE = "Not found, or you are not a member of its case."


def not_found(what: str = "resource") -> Refused:
    # One answer, word for word, for "absent" and "not yours" whatever was
    # asked for, so ids cannot be probed. `what` is for readers of the code.
    del what
    return Refused(404, "not_found", NOT_FOUND_MESSAGE)
