"""create_app reads configuration when called, so one process can hold several apps."""

from __future__ import annotations

import pytest

from gridops.core.config import load_config
from gridops.core.errors import ConfigError
from gridops.web.app import create_app


def test_each_app_has_its_own_database(tmp_path):
    a = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"})
    b = create_app({"DATABASE_URL": "postgresql://postgres@127.0.0.1/x"})
    assert a.extensions["gridops.db"].backend == "spatialite"
    assert b.extensions["gridops.db"].backend == "postgis"
    assert str(b.extensions["gridops.db"].url).startswith("postgresql+psycopg://")


def test_the_environment_is_read_at_creation_not_at_import(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    monkeypatch.setenv("GRIDOPS_API_PAGE_SIZE", "25")
    app = create_app()
    assert app.config["DATABASE_URL"].endswith("env.sqlite")
    assert app.config["API_PAGE_SIZE"] == 25


def test_unset_database_url_is_spatialite_under_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load_config({"INSTANCE_PATH": str(tmp_path)})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'gridops.sqlite'}"


def test_a_malformed_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GRIDOPS_API_PAGE_SIZE", "lots")
    with pytest.raises(ConfigError, match="GRIDOPS_API_PAGE_SIZE"):
        load_config()


def test_a_nul_character_in_any_field_is_a_clear_400_on_both_backends(admin_client):
    """PostgreSQL cannot store \\0 in text: refused up front, naming the field, never a 500."""
    res = admin_client.get("/api/v1/layers/misfit?a=grid%00&b=police")
    assert res.status_code == 400 and res.json["field"] == "a" and "NUL" in res.json["detail"]
    res = admin_client.get("/api/v1/areas?layer=gr%00id")
    assert res.status_code == 400 and res.json["field"] == "layer"
    res = admin_client.post("/api/v1/incidents",
                            json={"category": "dispute.neighbour", "description": "a\u0000b", "lon": 104.1, "lat": 30.62})
    assert res.status_code == 400 and res.json["field"] == "body"
