"""Reading request bodies: content type, size, UTF-8, schema — or a clear 4xx."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from vault.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> M:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as JSON with Content-Type application/json.")
    limit = current_app.config["VAULT"].max_json_bytes
    length = request.content_length
    if length is None:
        raise ApiError(411, "length_required", "Send a Content-Length header.")
    if length > limit:
        raise ApiError(413, "too_large", f"The JSON body is larger than {limit} bytes.")
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise ApiError(413, "too_large", f"The JSON body is larger than {limit} bytes.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_utf8", "The body is not valid UTF-8.") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc.msg} at position {exc.pos}.") from exc
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", "The body is not valid JSON (or nested too deeply).") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise ApiError(422, "invalid_fields", "Some fields are missing or invalid; see 'fields'.",
                       fields=problems) from exc


def b64decode(value: str, field: str, size: int | None = None, max_size: int = 1024 * 1024) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ApiError(422, "invalid_fields", f"{field} is not valid base64.") from exc
    if size is not None and len(raw) != size:
        raise ApiError(422, "invalid_fields", f"{field} must decode to {size} bytes.")
    if len(raw) > max_size:
        raise ApiError(413, "too_large", f"{field} is too large.")
    return raw


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
