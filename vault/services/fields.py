"""Base64 fields that a service decodes itself, after its own checks.

The interfaces decode most fields while parsing a request. Some (the sealed
case keys of a grant, a key commitment's signature) are decoded only once
the service has checked the request against the database, so that a request
that is wrong in both ways gets the same refusal as before: the refusal is
word for word the one the API's parser gives.
"""

from __future__ import annotations

from vault import crypto
from vault.services.errors import Refused

MAX_FIELD_BYTES = 1024 * 1024


def b64_field(value: str, field: str, size: int | None = None, max_size: int = MAX_FIELD_BYTES) -> bytes:
    """The bytes of a base64 field, or a 422/413 that names the field."""
    try:
        raw = crypto.b64d(value)
    except (ValueError, TypeError) as exc:
        raise Refused(422, "invalid_fields", f"{field} is not valid base64.") from exc
    if size is not None and len(raw) != size:
        raise Refused(422, "invalid_fields", f"{field} must decode to {size} bytes.")
    if len(raw) > max_size:
        raise Refused(413, "too_large", f"{field} is too large.")
    return raw
