"""Hypothesis strategies and inputs shared by the fuzz tests."""

from __future__ import annotations

import json

from hypothesis import strategies as st

# JSON values of every shape, small: what a hostile client or file can put where a field is expected.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def deep(depth: int, opener: str = "[") -> str:
    """JSON nested `depth` levels deep: arrays, or objects {"a": {"a": ... 1}}."""
    if opener == "{":
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth + "]" * depth


def _model_doc(*models) -> dict:
    """A one-operation-per-model OpenAPI document, so schemathesis generates bodies from the models' schemas."""
    paths, schemas = {}, {}
    for m in models:
        s = m.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(s.pop("$defs", {}))
        schemas[m.__name__] = s
        paths[f"/{m.__name__}"] = {"post": {"operationId": m.__name__, "responses": {"200": {"description": "ok"}},
                                            "requestBody": {"required": True, "content": {"application/json": {
                                                "schema": {"$ref": f"#/components/schemas/{m.__name__}"}}}}}}
    return {"openapi": "3.1.0", "info": {"title": "models", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas}}


def model_bodies(model):
    """JSON bodies for a pydantic model: valid and invalid by its JSON schema (schemathesis), or any JSON."""
    import schemathesis
    from schemathesis import GenerationMode

    op = schemathesis.openapi.from_dict(_model_doc(model)).find_operation_by_id(model.__name__)
    return st.one_of(op.as_strategy(GenerationMode.POSITIVE).map(lambda c: c.body),
                     op.as_strategy(GenerationMode.NEGATIVE).map(lambda c: c.body),
                     json_values)


def wire(body) -> bytes:
    """A generated body as sent: JSON, or the raw bytes schemathesis makes for some invalid bodies."""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    # Raw bytes nested in JSON (a case record inside an export description) travel as Latin-1 text.
    return json.dumps(body, default=lambda b: bytes(b).decode("latin-1")).encode()
