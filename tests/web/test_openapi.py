"""The API is described by an OpenAPI document generated from its own schemas; answers match it."""

from __future__ import annotations

import itertools
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from gridops.access.policy import ROLE_CODES
from tests.conftest import TEST_GRID, make_app


def test_the_document_is_valid_openapi_and_covers_every_route(api_app):
    spec = api_app.test_client().get("/api/v1/openapi.json").json
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "a user token: `gridops users add NAME --role ROLE`"}
    assert {"bearer": []} in spec["security"]  # Swagger UI's Authorize sends it with "Try it out"
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in api_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint not in ("api-docs.openapi_json",):
            path = re.sub(r"<(?:[^<>]*:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in documented, (path, method)


def test_the_docs_page_loads_only_from_the_service(api_app):
    client = api_app.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
    assert refs and all(ref.startswith("/") for ref in refs)
    for ref in refs:
        assert client.get(ref).status_code == 200, ref


# (role or None for anonymous, examples per operation and generation mode). The admin may call every
# route, so its examples reach the most code; a role with less right is mostly refused early, and a few
# examples each show that its refusals and its narrower answers are documented too.
CALLERS: list[tuple[str | None, int]] = [
    ("admin", 10), (None, 3), ("resident", 3), ("grid_worker", 3), ("grid_leader", 3),
    ("community_admin", 3), ("department", 3), ("command_centre", 3), ("planner", 3),
]
assert {r for r, _ in CALLERS if r} == set(ROLE_CODES)
# what the fuzzer checks on every answer (schemathesis' own checks, all but one): no 5xx; status, content type,
# headers and body as documented; invalid requests refused. Not checked: that every schema-valid request is
# accepted — layers, levels and codes are data the document cannot enumerate, so some are rightly refused (400/404).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


def _ground_kwargs(app, role: str) -> dict:
    """The demo city's own people for the roles that stand on ground (so they see work, tasks and registers)."""
    from sqlalchemy import select

    from gridops.core.models import Assignment, Worker

    if role == "department":
        return {"department": "fire"}
    if role == "community_admin":
        return {"areas": [TEST_GRID[:12]]}
    duty = {"grid_worker": "primary", "grid_leader": "leader"}.get(role)
    if duty is None:
        return {}
    with app.extensions["gridops.db"].session() as s:
        code = s.scalar(select(Worker.code).join(Assignment, Assignment.worker_id == Worker.id)
                        .where(Assignment.area_code == TEST_GRID, Assignment.duty == duty))
    return {"worker_code": code}


def _first_chunks_of_event_streams(app, chunks: int = 2):
    """The live feed never ends; the fuzzer reads what a page reads first (its opening and the first
    answer to `after`), then hangs up, as a browser that moves on does."""

    def middleware(environ, start_response):
        kind = {}

        def start(status, headers, exc_info=None):
            kind["stream"] = any(k.lower() == "content-type" and v.startswith("text/event-stream") for k, v in headers)
            return start_response(status, headers, exc_info)

        body = app(environ, start)
        if not kind.get("stream"):
            return body
        try:
            return list(itertools.islice(body, chunks))
        finally:
            getattr(body, "close", lambda: None)()

    return middleware


@pytest.fixture(scope="module")
def api_app(backend, demo_template_url, tmp_path_factory):
    """A private copy of the demo city with a user of every role: the fuzzer publishes, edits and closes."""
    from gridops.access.users import add_user

    app = make_app(backend.clone(demo_template_url), tmp_path_factory.mktemp("fuzz"), STREAM_HEARTBEAT_SECONDS=0.01)
    tokens = {}
    with app.extensions["gridops.db"].session() as s:
        for code in ROLE_CODES:
            _, tokens[code] = add_user(s, f"fuzz {code}", code, **_ground_kwargs(app, code))
    app.config["FUZZ_TOKENS"] = tokens
    yield app
    app.extensions["gridops.db"].dispose()


@pytest.fixture(scope="module")
def fuzz_schema(api_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _first_chunks_of_event_streams(api_app))


def _reproduction(case, role: str | None) -> str:
    curl = case.as_curl_command(base_url="http://127.0.0.1:5000")
    if role is None:
        return curl
    return (f'TOKEN=$(gridops users add fuzz --role {role} | tail -1)  # or a {role} from instance/demo-users.txt\n'
            f'{curl} -H "Authorization: Bearer $TOKEN"')


def _as(operation, role: str | None, token: str | None, examples: int, sent: dict[str, int]):
    """One operation's property test as one caller, valid and invalid requests (made here so it holds
    this operation, not the loop's last)."""
    from hypothesis import strategies as st

    # identity: Schemathesis' WSGI transport does not undo gzip, as an HTTP client does (tests/web/test_compress.py)
    headers = {"Accept-Encoding": "identity", **({"Authorization": f"Bearer {token}"} if token else {})}
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None, phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def answers_as_documented(case):
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Exception, FailureGroup) as exc:  # a FailureGroup is a BaseExceptionGroup
            who = role or "anonymous"
            raise AssertionError(f"as {who}: {case.method.upper()} {case.formatted_path}\n{exc}\n\n"
                                 f"Reproduce ({who}):\n{_reproduction(case, role)}") from None
        sent[operation.label] = sent.get(operation.label, 0) + 1

    return answers_as_documented


@pytest.mark.parametrize(("role", "examples"), CALLERS, ids=[r or "anonymous" for r, _ in CALLERS])
def test_every_operation_answers_every_role_as_documented_and_never_fails(api_app, fuzz_schema, role, examples):
    """Generated requests, valid and not, for every operation with this role's token: no 5xx, and every
    answer (refusals included) is one the document declares."""
    token = api_app.config["FUZZ_TOKENS"][role] if role else None
    sent: dict[str, int] = {}
    failures = []
    for result in fuzz_schema.get_all_operations():
        try:
            _as(result.ok(), role, token, examples, sent)()
        except AssertionError as exc:  # every operation is tried: one run names every class of failure
            failures.append(str(exc))
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
    # every operation really was exercised (one without inputs has one request to make)
    operations = len(list(fuzz_schema.get_all_operations()))
    assert len(sent) == operations and sum(sent.values()) >= 0.8 * operations * min(examples, 3), sent
