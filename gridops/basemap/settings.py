"""What a page's map draws under its data: one home for the base-map settings every map page hands to
/static/basemap.js (`gridopsBasemap.map`), Jinja pages and Folium maps alike.

The base layer is the city's own streets and buildings from the database (always there, nothing to set up) and,
when TILE_URL names an intranet XYZ server, its tiles beneath them. Chinese tile servers draw in GCJ-02 (AMap,
Tencent) or BD-09 (Baidu): TILE_CRS says so, and the page's map then draws every WGS-84 overlay shifted to the
tiles' datum (clicks are read back to WGS-84). No secrets here: this goes into the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridops.geo.chinacrs import DATUMS

CITY_TILES = "/api/v1/basemap/{z}/{x}/{y}.geojson"
CITY_MIN_ZOOM = 13  # farther out the city's streets are a grey smudge: the grids alone say more


def page_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    tiles = cfg.get("TILE_URL") or ""
    crs = str(cfg.get("TILE_CRS") or "WGS84").upper().replace("-", "").replace("_", "")
    return {"tiles": tiles, "crs": crs if tiles and crs in DATUMS else "WGS84", "attribution": cfg.get("TILE_ATTRIBUTION") or "",
            "city": CITY_TILES, "cityMinZoom": CITY_MIN_ZOOM}
