"""Shared by the API fuzz tests and bench/fuzz/run.py: the operations, the case strategy, the checks.

A generated request is sent as one of the roles (or with no session); the
property is the same for every operation: no 5xx, nothing logged at ERROR
(the 500 handler logs each unhandled exception), and an /api/ error is the
JSON error shape with a code.
"""

from __future__ import annotations

import schemathesis
from flask import Flask
from hypothesis import strategies as st
from schemathesis import GenerationMode

from vault.api.openapi import build
from vault.api.routes import register_api

ROLES = (None, "lawyer", "medic", "admin")


def operation_ids() -> list[str]:
    """Every operation of the API document, from the routes alone (collection time, no data folder)."""
    app = Flask("openapi-only")
    register_api(app)
    return sorted(op["operationId"] for item in build(app)["paths"].values() for op in item.values())


def load_schema(client) -> schemathesis.BaseSchema:
    """The document the server serves, as schemathesis reads it."""
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    return schemathesis.openapi.from_dict(with_vocabularies(resp.get_json()))


def cases(op, known: dict[str, list[str]]):
    """Requests for one operation: valid and invalid by the schema, with made-up or real path values."""
    names = [p.name for p in op.path_parameters]
    real = st.fixed_dictionaries({n: st.sampled_from(known[n]) for n in names if n in known})
    options = [op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)]
    if any(n in known for n in names):
        options.append(real.flatmap(lambda p: op.as_strategy(GenerationMode.POSITIVE, path_parameters=p)))
        options.append(real.flatmap(lambda p: op.as_strategy(GenerationMode.NEGATIVE, path_parameters=p)))
    return st.one_of(options)


def problems(status: int, content_type: str, body: bytes, path: str, logged: list[str]) -> list[str]:
    """What is wrong with one answer (empty when it is fine)."""
    out = []
    if status >= 500:
        out.append(f"server error {status}")
    if logged:
        out.append(f"logged at ERROR: {logged}")
    if b"Traceback (most recent call last)" in body:
        out.append("a traceback in the response")
    if path.startswith("/api/") and status >= 400 and status != 405:
        if not content_type.startswith("application/json"):
            out.append(f"error answered as {content_type!r}, not JSON")
    return out


def _link(op_id: str, **params: str) -> dict:
    return {"operationId": op_id, "parameters": params}


# Where one answer feeds the next request (OpenAPI links, which schemathesis follows in its state machine).
CASE = {"case_id": "$response.body#/id"}
UPLOAD = {"upload_id": "$response.body#/upload_id"}
UPLOAD_AGAIN = {"upload_id": "$request.path.upload_id"}
LINKS = {
    ("cases.create_case_post", "201"): {
        "GetCase": _link("cases.get_case_get", **CASE), "StartUpload": _link("uploads.start_post", **CASE)},
    ("uploads.start_post", "201"): {
        "Status": _link("uploads.status_get", **UPLOAD), "Cancel": _link("uploads.cancel_delete", **UPLOAD),
        "Chunk": _link("uploads.chunk_put", **UPLOAD, **{"query.offset": "$response.body#/received"}),
        "Finish": _link("uploads.finish_post", **UPLOAD)},
    ("uploads.status_get", "200"): {
        "Chunk": _link("uploads.chunk_put", **UPLOAD_AGAIN, **{"query.offset": "$response.body#/received"}),
        "Cancel": _link("uploads.cancel_delete", **UPLOAD_AGAIN)},
    ("uploads.chunk_put", "200"): {
        "Status": _link("uploads.status_get", **UPLOAD_AGAIN),
        "Chunk": _link("uploads.chunk_put", **UPLOAD_AGAIN, **{"query.offset": "$response.body#/received"}),
        "Finish": _link("uploads.finish_post", **UPLOAD_AGAIN), "Cancel": _link("uploads.cancel_delete", **UPLOAD_AGAIN)},
}
STATEFUL_OPERATIONS = sorted({op for op, _ in LINKS} | {link["operationId"] for links in LINKS.values()
                                                        for link in links.values()})


def with_links(doc: dict) -> dict:
    """The served document plus LINKS (the server itself declares none)."""
    by_id = {op["operationId"]: op for item in doc["paths"].values() for op in item.values()}
    for (op_id, status), links in LINKS.items():
        by_id[op_id]["responses"].setdefault(status, {"description": "OK"})["links"] = links
    return doc


def with_vocabularies(doc: dict) -> dict:
    """The document with the controlled vocabularies the server checks (FINDING openapi-2: the served one
    says "any string" for them, as schemas.py checks them in validators), so valid uploads get generated."""
    from vault.domain import vocab

    schemas = doc["components"]["schemas"]
    meta = schemas["Metadata"]["properties"]
    meta["evidence_type"] = {"type": "string", "enum": list(vocab.EVIDENCE_TYPES)}
    for name, words in (("region", vocab.REGIONS), ("detention_place_type", vocab.DETENTION_PLACE_TYPES)):
        meta[name] = {"anyOf": [{"type": "string", "enum": list(words)}, {"type": "null"}]}
    for name, words in (("violations", vocab.VIOLATIONS), ("methods", vocab.METHODS)):
        meta[name] = {"type": "array", "maxItems": 20, "items": {"type": "string", "enum": list(words)}}
    schemas["CaseIn"]["properties"]["region"] = {"anyOf": [{"type": "string", "enum": list(vocab.REGIONS)},
                                                           {"type": "null"}]}
    return doc
