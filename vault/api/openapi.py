"""The OpenAPI document, built from the routes themselves.

Each view carries @doc(summary, body=Model); the request schemas come from
the same pydantic models that validate requests, so the document cannot
drift from what the server accepts. A test checks every /api/v1 route is in it.
"""

from __future__ import annotations

import re

from flask import Flask
from pydantic import BaseModel

_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


def doc(summary: str, body: type[BaseModel] | None = None, binary: bool = False, responses: dict | None = None,
        status: int = 200, query: dict[str, dict] | None = None):
    """Describe a view. `query` names its required query parameters, each with its JSON schema."""

    def mark(view):
        view.vault_doc = {"summary": summary, "body": body, "binary": binary, "responses": responses or {},
                          "status": status, "query": query or {}}
        return view

    return mark


def build(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        info = getattr(view, "vault_doc", None) or {"summary": rule.endpoint, "body": None, "binary": False, "responses": {}}
        path = _PARAM.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict = {
                "operationId": f"{rule.endpoint}_{method.lower()}",
                "summary": info["summary"],
                "x-access": getattr(view, "vault_access", "none"),
                "parameters": [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                    for p in _PARAM.findall(rule.rule)
                ] + [
                    # Documented so that clients and the API fuzzer (tests/fuzz) send them.
                    {"name": name, "in": "query", "required": True, "schema": schema}
                    for name, schema in info.get("query", {}).items()
                ],
                "responses": {
                    str(info.get("status", 200)): {"description": "Created" if info.get("status") == 201 else "OK"},
                    "4XX": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    **info["responses"],
                },
            }
            if getattr(view, "vault_access", "public") != "public":
                op["security"] = [{"bearer": []}]
            if info["body"] is not None:
                model = info["body"]
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    schemas[name] = sub
                schemas[model.__name__] = schema
                op["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
            elif info["binary"]:
                op["requestBody"] = {"required": True, "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
            paths.setdefault(path, {})[method.lower()] = op
    schemas["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Evidence vault API", "version": "1",
                 "description": "Sealed content is encrypted by the client; the server sees ciphertext and searchable metadata only."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
