"""What a page's map draws under its data: the settings every map page hands to /static/basemap.js.

One home for the base map: which tiles (the city's own streets and buildings, a tile archive the
service serves, or an intranet XYZ server), in which datum the tiles are drawn (WGS-84, or GCJ-02 /
BD-09 for Chinese tile servers: overlays are shifted to match), and the attribution a deployment
shows. Pages embed `basemap_config()` as JSON (`<script type="application/json" id="gridops-basemap">`)
and create their maps with `gridopsBasemap.map(element, options)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

TILE_CRS = ("WGS84", "GCJ02", "BD09")


def page_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The base map a page draws, from the service's settings (no secrets: this goes into the page)."""
    crs = (cfg.get("TILE_CRS") or "WGS84").upper().replace("-", "")
    return {"tiles": cfg.get("TILE_URL") or "", "crs": crs if crs in TILE_CRS else "WGS84",
            "attribution": cfg.get("TILE_ATTRIBUTION") or ""}


def basemap_config() -> dict[str, Any]:
    return page_config(current_app.config)


def install(app: Flask) -> None:
    app.jinja_env.globals["basemap_config"] = basemap_config
