"""The whole API under schemathesis: every operation, with no session and as a lawyer, a medic, an admin.

Generated from the served OpenAPI document (vault/api/openapi.py, built from
the pydantic models of vault/api/schemas.py), both valid and invalid by it,
with made-up path values and with the real ids of the module's vault.
Property: no 5xx, no unhandled exception in the log, errors in the JSON shape.

Also: a stateful run over OpenAPI links (create case → get case, start an
upload → chunk → status → finish/cancel) as the lawyer, and the export
routes with bodies made from their own pydantic models. In process (Flask's
WSGI app); test_api_gunicorn.py runs a short budget against real workers.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import apifuzz
from tests.fuzz.strategies import model_bodies, wire

OPERATIONS = apifuzz.operation_ids()
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_vault):
    return apifuzz.load_schema(fuzz_vault.app.test_client())


def test_the_fuzzed_operations_are_the_served_ones(fuzz_schema):
    served = sorted(op.ok().definition.raw["operationId"] for op in fuzz_schema.get_all_operations())
    assert served == OPERATIONS


def test_the_document_declares_what_the_routes_read(fuzz_schema):
    """FINDING openapi-1, fixed in vault/api/openapi.py (doc(query=...)), uploads.py and plugins.py: the
    document left out the chunk's required ?offset and the plugin switch's body, so schemathesis — like
    any client made from the document — could never send a chunk or switch a plugin that the server takes."""
    chunk = fuzz_schema.find_operation_by_id("uploads.chunk_put").definition.raw
    assert {"name": "offset", "in": "query", "required": True,
            "schema": {"type": "integer", "minimum": 0}} in chunk["parameters"]
    toggle = fuzz_schema.find_operation_by_id("plugins.toggle_plugin_post").definition.raw
    assert "PluginToggle" in toggle["requestBody"]["content"]["application/json"]["schema"]["$ref"]


def send(fuzz_vault, case, role):
    headers = {}
    if role is not None:
        token = fuzz_vault.fresh_token(role) if case.operation.definition.raw["operationId"] == "auth.logout_post" \
            else fuzz_vault.tokens[role]
        headers["Authorization"] = f"Bearer {token}"
    fuzz_vault.log.take()
    resp = case.call(app=fuzz_vault.app, headers=headers)
    ctype = next((v[0] for k, v in resp.headers.items() if k.lower() == "content-type"), "")
    found = apifuzz.problems(resp.status_code, ctype, resp.content,
                             case.formatted_path, fuzz_vault.log.take())
    assert not found, f"{found} for {case.as_curl_command(headers=headers)}"


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operation(fuzz_vault, fuzz_schema, operation_id):
    op = fuzz_schema.find_operation_by_id(operation_id)

    @given(role=st.sampled_from(apifuzz.ROLES), case=apifuzz.cases(op, fuzz_vault.known))
    def run(role, case):
        send(fuzz_vault, case, role)

    run()


# ----------------------------------------------------------------- stateful: create case → get case; start → chunk → status → cancel


@pytest.fixture(scope="module")
def stateful_machine(fuzz_vault):
    import schemathesis

    doc = apifuzz.with_links(apifuzz.with_vocabularies(
        fuzz_vault.app.test_client().get("/api/v1/openapi.json").get_json()))
    schema = schemathesis.openapi.from_dict(doc).include(operation_id=apifuzz.STATEFUL_OPERATIONS)
    schema.app = fuzz_vault.app
    fv = fuzz_vault
    seen = Counter()

    class Machine(schema.as_state_machine()):
        """As the lawyer. A case body with an id gets a fresh id and reference and a key commitment the
        lawyer really signed, so cases get made (the rest of the body stays as generated) — and made again
        when Hypothesis replays a scenario against the same server."""

        def before_call(self, case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {fv.tokens['lawyer']}"}
            body = case.body
            if (case.operation.definition.raw["operationId"] == "cases.create_case_post" and isinstance(body, dict)
                    and isinstance(body.get("id"), str)):
                body["id"] = secrets.token_hex(16)
                if isinstance(body.get("reference"), str) and REFERENCE.fullmatch(body["reference"]):
                    body["reference"] = "FZ-" + secrets.token_hex(6)
                body["key"] = fv.case_key_commitment(body["id"])
            if (case.operation.definition.raw["operationId"] == "uploads.start_post" and isinstance(body, dict)
                    and isinstance(body.get("key_version"), int)):
                body["key_version"] = 1  # every case here is at its first key version

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            seen[(case.operation.definition.raw["operationId"], response.status_code)] += 1
            ctype = next((v[0] for k, v in response.headers.items() if k.lower() == "content-type"), "")
            found = apifuzz.problems(response.status_code, ctype, response.content, case.formatted_path,
                                     fv.log.take())
            assert not found, f"{found} for {case.as_curl_command()}"

    Machine.seen = seen
    return Machine


def test_stateful_links(stateful_machine):
    from hypothesis import settings

    # A scenario is up to 10 calls; a third as many scenarios as a plain test has examples.
    stateful_machine.run(settings=settings(settings.default, stateful_step_count=10,
                                           max_examples=max(10, settings.default.max_examples // 3)))
    print(sorted(stateful_machine.seen.items()))


# ----------------------------------------------------------------- the export routes
# Their bodies are not in the OpenAPI document (FINDING openapi-1), so schemathesis alone would send none:
# here they come from the routes' own pydantic models, with case records from the CaseRecord model.

BOUNDARY = "fuzzExportBoundary"


@st.composite
def export_specs(draw):
    from vault.api.exports import ExportIn
    from vault.domain.caserecord import CaseRecord

    spec = draw(model_bodies(ExportIn))
    if isinstance(spec, dict) and draw(st.booleans()):
        spec["exporter"] = draw(st.sampled_from(["omct", "un", "ombudsman"]))
        spec["case_record"] = draw(model_bodies(CaseRecord))
        spec["options"] = {"language": draw(st.sampled_from(["en", "ru", "ky", "fr"])), "draft": draw(st.booleans())}
    return spec


@st.composite
def export_requests(draw, case_id: str):
    """(path, content type, body) for one of the four export routes."""
    from vault.api.exports import RecordIn, SignIn

    route = draw(st.sampled_from(["validate", "render", "sign", "record"]))
    if route == "validate":
        return f"/api/v1/cases/{case_id}/exports/validate", "application/json", wire(draw(export_specs()))
    if route == "sign":
        return f"/api/v1/cases/{case_id}/exports/sign", "application/json", wire(draw(model_bodies(SignIn)))
    if route == "record":
        return f"/api/v1/cases/{case_id}/exports/record", "application/json", wire(draw(model_bodies(RecordIn)))
    spec = draw(export_specs())
    parts = [("export", wire(spec))]
    items = spec.get("items") if isinstance(spec, dict) else None
    for item in items if isinstance(items, list) else []:
        name = f"item:{item.get('item_id')}" if isinstance(item, dict) else "item:x"
        parts.append((name, draw(st.binary(max_size=200))))
    body = b"".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{n}"; filename="f"\r\n\r\n'.encode()
                    + d + b"\r\n" for n, d in parts) + f"--{BOUNDARY}--\r\n".encode()
    return f"/api/v1/cases/{case_id}/exports", f"multipart/form-data; boundary={BOUNDARY}", body


def test_export_routes(fuzz_vault):
    client = fuzz_vault.app.test_client()
    admin = {"Authorization": f"Bearer {fuzz_vault.tokens['admin']}"}
    for name in ("omct", "un", "ombudsman"):  # the fuzzed admin routes may have turned them off
        client.post(f"/api/v1/admin/plugins/{name}", json={"enabled": True}, headers=admin)
    case_id = fuzz_vault.known["case_id"][0]

    @given(role=st.sampled_from(["lawyer", "medic"]), req=export_requests(case_id))
    def run(role, req):
        path, ctype, body = req
        fuzz_vault.log.take()
        resp = client.post(path, data=body, content_type=ctype,
                           headers={"Authorization": f"Bearer {fuzz_vault.tokens[role]}"})
        found = apifuzz.problems(resp.status_code, resp.content_type or "", resp.data, path, fuzz_vault.log.take())
        assert not found, f"{found} for POST {path} {body[:2000]!r}: {resp.data[:500]!r}"

    run()
