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

from gridops.basemap.archive import open_archive

CITY_TILES = "/api/v1/basemap/{z}/{x}/{y}.geojson"
ARCHIVE_TILES = "/tiles/{z}/{x}/{y}"  # the archive's tiles, one by one (gridops.web.api.basemap)
ARCHIVE_FILE = "/tiles/archive.pmtiles"  # the .pmtiles file itself, with HTTP range requests
CITY_MIN_ZOOM = 13  # farther out the city's streets are a grey smudge: the grids alone say more


def page_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A tile archive (TILES) is served by the service itself and wins over an XYZ server (TILE_URL); either is
    drawn beneath the city's own streets and buildings."""
    tiles, attribution, native = cfg.get("TILE_URL") or "", cfg.get("TILE_ATTRIBUTION") or "", 18
    if cfg.get("TILES"):
        archive = open_archive(str(cfg["TILES"]))
        tiles, attribution, native = ARCHIVE_TILES, attribution or archive.attribution, archive.max_zoom
    crs = str(cfg.get("TILE_CRS") or "WGS84").upper().replace("-", "").replace("_", "")
    return {"tiles": tiles, "tilesMaxNativeZoom": native, "crs": crs if tiles and crs in DATUMS else "WGS84",
            "attribution": attribution, "city": CITY_TILES, "cityMinZoom": CITY_MIN_ZOOM}
