"""The base-map settings as a Jinja global: a map page embeds `basemap_config()` as JSON
(`<script type="application/json" id="gridops-basemap">`) and creates its map with `gridopsBasemap.map`
(/static/basemap.js). The settings' one home is gridops.basemap.settings."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from gridops.basemap.archive import open_archive
from gridops.basemap.settings import page_config


def basemap_config() -> dict[str, Any]:
    return page_config(current_app.config)


def install(app: Flask) -> None:
    if app.config.get("TILES"):
        open_archive(str(app.config["TILES"]))  # an unusable archive stops the start, saying why
    app.jinja_env.globals["basemap_config"] = basemap_config
