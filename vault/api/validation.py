"""Reading request bodies: content type, size, UTF-8, schema — or a clear 4xx."""

from __future__ import annotations

import json
from typing import TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from vault.api.errors import ApiError
from vault.services.fields import b64_field

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


# Base64 fields: the API's parser and the services refuse them in the same words.
b64decode = b64_field
