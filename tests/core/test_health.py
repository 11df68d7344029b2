"""/healthz and the landing page: what a deployer and a first-time visitor see."""

from __future__ import annotations

from gridops.core.db import Database
from gridops.core.schema import upgrade
from tests.conftest import make_app


def test_healthz_names_the_backend_and_spatial_library(client, admin_client, backend):
    res = admin_client.get("/healthz")
    assert res.status_code == 200
    body = res.json
    assert body["status"] == "ok" and body["backend"] == backend.name
    assert body["spatial_library"] == {"spatialite": "SpatiaLite", "postgis": "PostGIS"}[backend.name]
    assert body["spatial_version"][0].isdigit()
    assert body["database"]["round_trip_ms"] >= 0 and body["database"]["url"] and body["database"]["server_version"]
    assert body["schema"]["current"] is True
    anonymous = client.get("/healthz").json  # a load balancer's probe: working or not, and nothing to aim at
    assert anonymous["status"] == "ok" and anonymous["schema"]["current"] is True
    assert set(anonymous["database"]) == {"round_trip_ms"} and "spatial_version" not in anonymous


def test_healthz_fails_loudly_when_the_schema_is_behind(empty_url, tmp_path):
    db = Database(empty_url)
    upgrade(db, "0001")
    db.dispose()
    app = make_app(empty_url, tmp_path)
    res = app.test_client().get("/healthz")
    assert res.status_code == 503
    assert res.mimetype == "application/problem+json"
    assert "gridops db upgrade" in res.json["detail"]
    app.extensions["gridops.db"].dispose()


def test_healthz_fails_loudly_when_the_database_is_unreachable(tmp_path):
    app = make_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", tmp_path)
    res = app.test_client().get("/healthz")
    assert res.status_code == 503
    assert res.json["type"] == "/problems/database-unavailable"
    detail = res.json["detail"]  # the kind of failure and its fix, not where the database lives
    assert "Cannot reach PostgreSQL" in detail and "DATABASE_URL" in detail
    assert "127.0.0.1" not in detail and ":1" not in detail and "nowhere" not in detail


def test_the_operator_still_hears_where_the_database_is(tmp_path, caplog):
    from gridops.core.errors import DatabaseUnavailable

    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    try:
        with db.connect():
            pass
    except DatabaseUnavailable as err:  # what `gridops db check` and the log print
        assert "Cannot reach PostgreSQL at 127.0.0.1:1" in err.message
    else:
        raise AssertionError("connected to nowhere")
    app = make_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", tmp_path)
    with caplog.at_level("ERROR"):
        app.test_client().get("/healthz")
    assert "127.0.0.1:1" in caplog.text


def test_healthz_fails_loudly_when_spatialite_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIALITE_LIBRARY_PATH", "/nonexistent/mod_spatialite")
    app = make_app(f"sqlite:///{tmp_path / 'x.sqlite'}", tmp_path)
    res = app.test_client().get("/healthz")
    assert res.status_code == 503
    assert "SpatiaLite" in res.json["detail"] and "install-system-deps" in res.json["detail"]
    app.extensions["gridops.db"].dispose()


def test_landing_page_links_to_what_exists_and_counts_what_is_loaded(client, admin_client):
    res = client.get("/")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    for href in ("/healthz", "/api/v1/areas?level=grid", "/api/v1/boundaries"):
        assert f'href="{href}' in html
        assert admin_client.get(href).status_code == 200
    assert client.get("/api/v1/boundaries").status_code == 401  # the versions are for staff
    assert "网格" in html and ">64<" in html and "26089" in html


def test_landing_page_explains_an_unreachable_database(tmp_path):
    app = make_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", tmp_path)
    res = app.test_client().get("/")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert "Cannot reach PostgreSQL" in html and "127.0.0.1:1" not in html
