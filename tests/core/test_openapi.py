"""The OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

import re

import pytest

from vault.api.schemas import FinishIn, UploadIn

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def doc(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.is_json
    return resp.get_json()


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]


def oa_path(rule) -> str:
    return _PARAM.sub(r"{\1}", rule.rule)


def refs(node):
    """Every $ref string anywhere in a JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def test_document_shape(doc):
    assert doc["openapi"].startswith("3.1")
    assert isinstance(doc["info"]["title"], str) and doc["info"]["version"]
    assert isinstance(doc["paths"], dict) and doc["paths"]
    assert isinstance(doc["components"]["schemas"], dict)
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/api/v1/"), path
        assert "<" not in path and ">" not in path
        for method, op in item.items():
            assert method in HTTP_METHODS, (path, method)
            assert op["summary"] and isinstance(op["responses"], dict) and op["responses"]
            for code in op["responses"]:
                assert re.fullmatch(r"[1-5](\d\d|XX)|default", code), (path, method, code)
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == set(re.findall(r"\{([^}]+)\}", path)), (path, method)
            for p in op.get("parameters", []):
                assert p["required"] is True and "schema" in p
            operation_ids.append(op["operationId"])
    assert len(operation_ids) == len(set(operation_ids))


def test_every_route_and_method_is_documented(app, doc):
    missing = []
    for rule in api_rules(app):
        path = oa_path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in doc["paths"].get(path, {}):
                missing.append(f"{method} {rule.rule}")
    assert missing == []
    # … and nothing is documented that the app does not serve.
    served = {(oa_path(r), m.lower()) for r in api_rules(app) for m in (r.methods or set())}
    documented = {(p, m) for p, item in doc["paths"].items() for m in item}
    assert documented - served == set()


def test_request_bodies_reference_existing_schemas(app, doc):
    schemas = doc["components"]["schemas"]
    bodies = 0
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        info = getattr(view, "vault_doc", None) or {}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = doc["paths"][oa_path(rule)][method.lower()]
            if info.get("body") is not None:
                content = op["requestBody"]["content"]
                ref = content["application/json"]["schema"]["$ref"]
                assert ref == f"#/components/schemas/{info['body'].__name__}"
                bodies += 1
            elif info.get("binary"):
                assert "application/octet-stream" in op["requestBody"]["content"]
            else:
                assert "requestBody" not in op, (method, rule.rule)
    assert bodies >= 10
    # Every $ref in the whole document resolves.
    dangling = [r for r in refs(doc) if not (r.startswith("#/components/schemas/")
                                             and r.rsplit("/", 1)[1] in schemas)]
    assert dangling == []
    # The published schemas are the ones that validate requests (unknown fields refused).
    for model in (UploadIn, FinishIn):
        s = schemas[model.__name__]
        assert s["additionalProperties"] is False
        assert set(s["required"]) == {n for n, f in model.model_fields.items() if f.is_required()}
    assert schemas["Metadata"]["additionalProperties"] is False


def test_x_access_matches_the_views(app, doc):
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = doc["paths"][oa_path(rule)][method.lower()]
            assert op["x-access"] == view.vault_access, (method, rule.rule)
            if view.vault_access == "public":
                assert "security" not in op
            else:
                assert op["security"] == [{"bearer": []}], (method, rule.rule)


def test_document_is_public_and_stable(client, doc):
    again = client.get("/api/v1/openapi.json").get_json()
    assert again == doc
    assert client.get("/api/v1/openapi.json", headers={"Authorization": "Bearer nonsense"}).status_code == 200
