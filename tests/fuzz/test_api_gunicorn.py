"""A short schemathesis run against real gunicorn workers, over HTTP (schemathesis's URL mode).

What the in-process test client cannot show: a worker that dies, times out
or logs a traceback outside Flask's error handler (gunicorn's own body
reading, vault/serving/body.py, the socket). Every operation gets a twentieth of
the profile's examples, as each role; afterwards the access log must hold no
5xx and gunicorn's logs no traceback, no worker timeout and no dead worker.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Gunicorn, make_env
from tests.fuzz import apifuzz
from tests.fuzz.conftest import populate

pytestmark = pytest.mark.slow

# What gunicorn writes when a worker fails (SIGTERM at the end is the test stopping it; the app's own
# 500s also show as 5xx in the access log).
WORKER_TROUBLE = re.compile(r"Traceback|WORKER TIMEOUT|was sent SIGKILL|exited with code|\[ERROR\]|unhandled ")
ACCESS_5XX = re.compile(r'" 5\d\d ')


def test_gunicorn_workers_survive_the_fuzzed_api(tmp_path):
    import schemathesis

    env = make_env(tmp_path)
    srv = Gunicorn(env, workers=2)
    try:
        tokens, known, _ = populate(srv.url, env, tmp_path)
        doc = apifuzz.with_vocabularies(__import__("requests").get(srv.url + "/api/v1/openapi.json").json())
        schema = schemathesis.openapi.from_dict(doc)
        budget = settings(settings.default, max_examples=max(3, settings.default.max_examples // 20))
        for result in schema.get_all_operations():
            op = result.ok()

            @budget
            @given(role=st.sampled_from(apifuzz.ROLES), case=apifuzz.cases(op, known))
            def run(role, case):
                headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
                if case.operation.definition.raw["operationId"] == "auth.logout_post":
                    headers = {}  # a real session would end: the in-process test covers logout with one
                resp = case.call(base_url=srv.url, headers=headers, timeout=60)
                assert resp.status_code < 500, f"{resp.status_code} for {case.as_curl_command(headers=headers)}"

            run()
        assert srv.proc.poll() is None, "gunicorn's arbiter died"
    finally:
        srv.stop()
    logs = env.data_dir / "logs"
    trouble = [line for name in ("error.log", "gunicorn-stdout.log") if (logs / name).exists()
               for line in (logs / name).read_text(errors="replace").splitlines() if WORKER_TROUBLE.search(line)]
    assert trouble == []
    access = (logs / "access.log").read_text(errors="replace").splitlines()
    assert len(access) > 50  # the requests did reach the workers
    assert [line for line in access if ACCESS_5XX.search(line)] == []
