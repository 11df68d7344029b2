"""The messages tests' database: a freshly migrated one on each backend, opened as the dispatcher opens it."""

from __future__ import annotations

import pytest

from gridops.core.db import Database


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    yield database
    database.dispose()
