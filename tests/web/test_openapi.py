"""The API is described by an OpenAPI document generated from its own schemas; answers match it."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import positive_data_acceptance

from tests.conftest import make_app


@pytest.fixture(scope="module")
def api_app(backend, demo_template_url, tmp_path_factory):
    """A private copy of the demo city: the fuzzer may post boundary files."""
    app = make_app(backend.clone(demo_template_url), tmp_path_factory.mktemp("openapi"))
    yield app
    app.extensions["gridops.db"].dispose()


@pytest.fixture(scope="module")
def api_schema(api_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)


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


def _answers_as_documented(operation, sent: dict[str, int]):
    """One operation's property test (made here so it holds this operation, not the loop's last)."""

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(case=operation.as_strategy())
    def answers_as_documented(case):
        # Not checked: that every schema-valid request is accepted. Layers, levels and
        # codes are data the document cannot enumerate, so some are rightly refused (400/404).
        case.call_and_validate(excluded_checks=[positive_data_acceptance])
        sent[operation.label] = sent.get(operation.label, 0) + 1

    return answers_as_documented


def test_every_operation_answers_as_documented_and_never_fails(api_schema):
    """Generated requests, valid and not, for every operation: no 500, and every answer matches the document."""
    sent: dict[str, int] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        try:
            _answers_as_documented(operation, sent)()
        except Exception as exc:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc
    # every operation really was exercised (one without inputs has one request to make)
    assert len(sent) >= 10 and min(sent.values()) >= 1 and sum(sent.values()) >= 150, sent
