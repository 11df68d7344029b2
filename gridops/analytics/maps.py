"""The command centre's maps, drawn with Folium (Leaflet) and served with every asset local.

Folium's maps load Leaflet, jQuery, Bootstrap and icon fonts from public CDNs;
a command centre often has no internet. Here every map is an `OfflineMap`:
Leaflet and its plugins come from gridops' own /static/vendor, tiles from the
configured intranet tile server or none at all (boundaries and data on a plain
background). `standalone()` inlines those same files (and the images their CSS
names) so a rendered map opens anywhere, as one file.

The live map is drawn here (`live_map`: boundaries, open incidents clustered, workers;
live from the event stream via /static/livemap.js); the hidden-risk map in
gridops.analytics.riskmap, over the same `base_map`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import folium
import numpy as np
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template
from shapely.geometry import shape

from gridops.basemap.settings import CITY_MIN_ZOOM, CITY_TILES
from gridops.core.config import STATIC_DIR

STATIC = STATIC_DIR
LEAFLET_JS = ("leaflet", "/static/vendor/leaflet/leaflet.js")
LEAFLET_CSS = ("leaflet_css", "/static/vendor/leaflet/leaflet.css")
MAPS_CSS = ("gridops_maps_css", "/static/maps.css")
BASEMAP_JS = ("gridops_basemap", "/static/basemap.js")
BASEMAP_CSS = ("gridops_basemap_css", "/static/basemap.css")
HEAT_JS = ("leaflet-heat.js", "/static/vendor/leaflet.heat/leaflet-heat.js")
CLUSTER_JS = ("markerclusterjs", "/static/vendor/leaflet.markercluster/leaflet.markercluster.js")
CLUSTER_CSS = [("markerclustercss", "/static/vendor/leaflet.markercluster/MarkerCluster.css"),
               ("markerclusterdefaultcss", "/static/vendor/leaflet.markercluster/MarkerCluster.Default.css")]

# sequential (counts, rates) and diverging (Gi* bins) colours
SEQUENTIAL = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]
BIN_COLOURS = {3: "#b2182b", 2: "#ef8a62", 1: "#fddbc7", 0: "#f0f0f0", -1: "#d1e5f0", -2: "#67a9cf", -3: "#2166ac"}
CLASS_COLOURS = {
    "new": "#fcae91", "consecutive": "#fb6a4a", "intensifying": "#a50f15", "persistent": "#de2d26",
    "diminishing": "#fee5d9", "sporadic": "#fd8d3c", "oscillating": "#c994c7", "historical": "#bdbdbd",
    "new cold": "#c6dbef", "consecutive cold": "#9ecae1", "intensifying cold": "#08519c", "persistent cold": "#3182bd",
    "diminishing cold": "#deebf7", "sporadic cold": "#6baed6", "oscillating cold": "#9e9ac8", "historical cold": "#d9d9d9",
}


class OfflineMap(folium.Map):
    """A Folium map whose page asks nothing of the internet."""

    default_js = [LEAFLET_JS, BASEMAP_JS]
    default_css = [LEAFLET_CSS, BASEMAP_CSS, MAPS_CSS]


def _figure(m: folium.Map) -> Figure:
    """The page a map is drawn in: folium puts every Map in a Figure (branca types get_root() as any Element)."""
    return cast(Figure, m.get_root())


def base_map(bounds: tuple[float, float, float, float], basemap: Mapping[str, Any] | None, title: str) -> OfflineMap:
    """A map of the bounds over the base map `basemap` says (gridops.basemap.settings.page_config; None: the city's
    own streets only), drawn by /static/basemap.js like every other map page."""
    settings = dict(basemap or {"tiles": "", "crs": "WGS84", "attribution": "", "city": CITY_TILES, "cityMinZoom": CITY_MIN_ZOOM})
    minx, miny, maxx, maxy = bounds
    m = OfflineMap(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, zoom_start=14, control_scale=False,
                   prefer_canvas=True, crs=settings["crs"] if settings["crs"] in ("GCJ02", "BD09") else "EPSG3857")
    m.options["maxZoom"] = 20  # with no tile layer Leaflet knows no limit, and clustering needs one
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    config = json.dumps(settings, ensure_ascii=False).replace("</", "<\\/")
    _figure(m).header.add_child(Element(f"<title>{_esc(title)}</title>"
                                        '<meta name="viewport" content="width=device-width, initial-scale=1">'
                                        '<link rel="icon" href="data:,">'
                                        f'<script type="application/json" id="gridops-basemap">{config}</script>'))
    m.add_child(_Basemap())
    return m


class _Basemap(MacroElement):
    """The base layer, scale and attribution, added by /static/basemap.js as on every map page."""

    _template = Template("""
{% macro script(this, kwargs) %}
gridopsBasemap.attach({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "Basemap"


def _esc(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def _quantile_breaks(values: list[float], k: int = len(SEQUENTIAL)) -> list[float]:
    positive = sorted(v for v in values if v and v > 0)
    if not positive:
        return [1.0]
    return sorted(set(float(b) for b in np.quantile(positive, [i / k for i in range(1, k)])))


def _colour(value: float | None, breaks: list[float]) -> str:
    if not value:
        return "#ffffff"
    for k, b in enumerate(breaks):
        if value <= b:
            return SEQUENTIAL[k]
    return SEQUENTIAL[min(len(breaks), len(SEQUENTIAL) - 1)]


# --- the live map ----------------------------------------------------------------


def live_map(boundaries: dict[str, Any], basemap: Mapping[str, Any] | None, config: dict[str, Any]) -> OfflineMap:
    """Grids and micro-grids (switchable, labelled), and the live layers livemap.js keeps current."""
    bounds = shape(boundaries["outline"]).bounds
    m = base_map(bounds, basemap, "Live map · 指挥中心实时地图 · gridops")
    micro = folium.GeoJson(boundaries["micro_grids"], name="微网格 Micro-grids", show=False,
                           style_function=lambda f: {"fill": False, "color": "#829ab1", "weight": 0.8, "dashArray": "3 3"})
    micro.add_to(m)
    grids = folium.GeoJson(boundaries["grids"], name="网格 Grids",
                           style_function=lambda f: {"fillColor": "#d9e2ec", "fillOpacity": 0.15, "color": "#334e68", "weight": 1.5})
    grids.add_to(m)
    m.add_child(_LiveLayers(grids.get_name(), micro.get_name(), config))
    return m


class _LiveLayers(JSCSSMixin, MacroElement):
    """Hands the map and its boundary layers to /static/livemap.js, which adds incidents and workers."""

    default_js = [CLUSTER_JS, ("gridops_api", "/static/api.js"), ("gridops_livemap", "/static/livemap.js")]
    default_css = CLUSTER_CSS
    _template = Template("""
{% macro script(this, kwargs) %}
window.gridopsLive({map: {{ this._parent.get_name() }}, grids: {{ this.grids }}, micro: {{ this.micro }},
                    config: {{ this.config_json }}});
{% endmacro %}
""")

    def __init__(self, grids: str, micro: str, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "LiveLayers"
        self.grids, self.micro = grids, micro
        self.config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")


# --- one file ---------------------------------------------------------------------

_SCRIPT = re.compile(r'<script src="/static/([^"]+)"></script>')
_STYLE = re.compile(r'<link rel="stylesheet" href="/static/([^"]+)"\s*/?>')
_URL = re.compile(r"url\(([^)\"']+)\)")


def standalone(html: str, static_dir: Path = STATIC) -> str:
    """The page with every local script, stylesheet and the images those name inlined: one file, no server."""
    def script(match: re.Match) -> str:
        text = (static_dir / match.group(1)).read_text(encoding="utf-8")
        return "<script>" + text.replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match) -> str:
        path = static_dir / match.group(1)
        css = path.read_text(encoding="utf-8")

        def data_uri(u: re.Match) -> str:
            target = (path.parent / u.group(1)).resolve()
            if target.is_file() and target.suffix == ".png":
                return f"url(data:image/png;base64,{base64.b64encode(target.read_bytes()).decode()})"
            return u.group(0)

        return "<style>" + _URL.sub(data_uri, css) + "</style>"

    return _STYLE.sub(style, _SCRIPT.sub(script, html))
