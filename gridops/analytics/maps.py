"""The command centre's maps, drawn with Folium (Leaflet) and served with every asset local.

Folium's maps load Leaflet, jQuery, Bootstrap and icon fonts from public CDNs;
a command centre often has no internet. Here every map is an `OfflineMap`:
Leaflet and its plugins come from gridops' own /static/vendor, tiles from the
configured intranet tile server or none at all (boundaries and data on a plain
background). `standalone()` inlines those same files (and the images their CSS
names) so a rendered map opens anywhere, as one file.

Two maps: `risk_map` (hidden risks: cells and grids as choropleths, Gi* hot and
cold spots, emerging classes, a heat layer and a week slider) and `live_map`
(boundaries, open incidents clustered, workers; live from the event stream via
/static/livemap.js).
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
from folium.plugins import HeatMap
from jinja2 import Template
from shapely.geometry import shape

from gridops.analytics.risk import BIN_LABELS, cell_geometry
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


# --- the risk map ----------------------------------------------------------------


def risk_map(data: dict[str, Any], basemap: Mapping[str, Any] | None, form_html: str = "") -> OfflineMap:
    """Cells and grids as choropleths, Gi* spots, emerging classes, recent heat, and a week slider."""
    study = shape(data["study_area"])
    m = base_map(study.bounds, basemap, "Hidden risks · 隐患风险图 · gridops")
    cells = data["cells"]
    breaks = _quantile_breaks([c["count"] for c in cells])
    cell_features = [{"type": "Feature", "geometry": cell_geometry(c["cell"]), "properties": {
        "cell": c["cell"], "count": c["count"], "weekly": c["weekly"], "households": c["households"],
        "rate": c["rate_per_1000_households"], "gi_z": c["gi_z"], "gi": c["gi_label"], "bin": c["gi_bin"], "trend": c["trend"],
        "fill": _colour(c["count"], breaks),
    }} for c in cells]
    cells_fc = {"type": "FeatureCollection", "features": cell_features}

    counts = folium.GeoJson(
        cells_fc, name="每格事件数 Incidents per H3 cell",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#888", "weight": 0.4, "fillOpacity": 0.75},
        tooltip=folium.GeoJsonTooltip(["cell", "count", "households", "rate", "gi", "trend"],
                                      aliases=["cell", "incidents", "households", "per 1,000 households", "Gi*", "trend"]),
    ).add_to(m)
    rate_breaks = _quantile_breaks([g["rate_per_1000_households"] or 0 for g in data["grids"]])
    grids_fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": g["geometry"], "properties": {
        # folium's tooltip writes values as HTML: names come from a planner's file, so they go in escaped
        "code": _esc(g["code"]), "name": _esc(g["name"]), "count": g["count"], "households": g["households"],
        "rate": g["rate_per_1000_households"], "fill": _colour(g["rate_per_1000_households"], rate_breaks)}} for g in data["grids"]]}
    folium.GeoJson(
        grids_fc, name="网格千户发生率 Rate per 1,000 households (grids)", show=False,
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#333", "weight": 1, "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(["code", "name", "count", "households", "rate"],
                                      aliases=["grid", "name", "incidents", "households", "per 1,000 households"]),
    ).add_to(m)
    folium.GeoJson(
        cells_fc, name="冷热点 Hot and cold spots (Gi*, FDR)", show=False,
        style_function=lambda f: {"fillColor": BIN_COLOURS[f["properties"]["bin"]], "color": "#999", "weight": 0.3,
                                  "fillOpacity": 0.8 if f["properties"]["bin"] else 0.15},
        tooltip=folium.GeoJsonTooltip(["cell", "count", "gi_z", "gi"], aliases=["cell", "incidents", "Gi* z", "significance"]),
    ).add_to(m)
    folium.GeoJson(
        cells_fc, name="新兴热点 Emerging hot spots (weekly trend)", show=False,
        style_function=lambda f: {"fillColor": CLASS_COLOURS.get(f["properties"]["trend"], "#ffffff"), "color": "#999",
                                  "weight": 0.3, "fillOpacity": 0.85 if f["properties"]["trend"] != "no pattern" else 0.05},
        tooltip=folium.GeoJsonTooltip(["cell", "trend", "count"], aliases=["cell", "class", "incidents"]),
    ).add_to(m)
    heat = HeatMap(data["heat"]["points"], name="近期热力 Recent incidents (heat)", radius=18, blur=14, min_opacity=0.3,
                   show=bool(data["heat"]["points"]))
    heat.default_js = [HEAT_JS]
    heat.add_to(m)
    folium.GeoJson(data["study_area"], name="研究范围 Study area", control=False,
                   style_function=lambda f: {"fill": False, "color": "#102a43", "weight": 2}).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(_WeekSlider(counts.get_name(), data["weeks"], breaks))
    _figure(m).html.add_child(Element(_risk_panel(data, breaks) + form_html))
    return m


class _WeekSlider(MacroElement):
    """A slider over the weeks: the cell layer is restyled to one week's counts (or all weeks)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var layer = {{ this.layer }}, weeks = {{ this.weeks_json }}, breaks = {{ this.breaks_json }}, colours = {{ this.colours_json }};
  function colour(v) {
    if (!v) return "#ffffff";
    for (var k = 0; k < breaks.length; k++) if (v <= breaks[k]) return colours[k];
    return colours[Math.min(breaks.length, colours.length - 1)];
  }
  var control = L.control({position: "bottomleft"});
  control.onAdd = function () {
    var box = L.DomUtil.create("div", "gridops-slider");
    var label = L.DomUtil.create("label", "", box);
    label.htmlFor = "week-slider";
    label.textContent = "周 Week: all " + weeks.length;
    var input = L.DomUtil.create("input", "", box);
    input.type = "range"; input.id = "week-slider"; input.min = 0; input.max = weeks.length; input.value = weeks.length;
    input.setAttribute("aria-label", "week");
    L.DomEvent.disableClickPropagation(box);
    input.addEventListener("input", function () {
      var k = Number(input.value);
      label.textContent = k === weeks.length ? "周 Week: all " + weeks.length : "周 Week of " + weeks[k];
      var scale = k === weeks.length ? 1 : weeks.length;  // one week is compared on the all-weeks scale, per week
      layer.eachLayer(function (f) {
        var p = f.feature.properties, v = k === weeks.length ? p.count : p.weekly[k] * scale;
        f.setStyle({fillColor: colour(v)});
      });
      document.body.dataset.week = String(k);
    });
    return box;
  };
  control.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
""")

    def __init__(self, layer_name: str, weeks: list[str], breaks: list[float]) -> None:
        super().__init__()
        self._name = "WeekSlider"
        self.layer = layer_name
        self.weeks_json = json.dumps(weeks)
        self.breaks_json = json.dumps(breaks)
        self.colours_json = json.dumps(SEQUENTIAL)


def _risk_panel(data: dict[str, Any], breaks: list[float]) -> str:
    q = data["query"]
    classes = ", ".join(f"{k} {v}" for k, v in data["classes"].items()) or "none"
    legend = "".join(f'<span class="swatch" style="background:{BIN_COLOURS[b]}"></span>{_esc(BIN_LABELS[b])}<br>'
                     for b in (3, 2, 1, 0, -1, -2, -3))
    heat = data["heat"]
    heat_note = (f"{len(heat['points'])} cells weighted (over {5000:,} points: aggregated)" if heat["aggregated"]
                 else f"{len(heat['points'])} incidents")
    return f"""
<aside class="gridops-panel" id="risk-summary">
  <h1>隐患风险 Hidden risks</h1>
  <p>{_esc(q['category'] or 'all categories')} · {_esc(q['area'] or 'whole layer')} · {_esc(q['since'][:10])} → {_esc(q['until'][:10])}
  · H3 res {q['res']} · boundaries v{data['boundary_version']}</p>
  <p><b id="risk-total">{data['total']:,}</b> incidents · <b id="risk-hot">{data['hot_spots']}</b> hot and
  <b id="risk-cold">{data['cold_spots']}</b> cold cells (Gi*, 90–99%, FDR-corrected) · emerging: {_esc(classes)}
  · heat since {_esc(heat['since'][:10])}: {heat_note}</p>
  <details><summary>How to read it</summary>
  <p>Counts and rates are per H3 cell and per grid; rates per 1,000 households use the households of the buildings in the
  cell or grid. Gi* compares each cell and its six neighbours with the whole study area; a cell is a hot (cold) spot when its
  z-score is significant after a Benjamini-Hochberg false-discovery-rate correction for the number of cells tested.
  Emerging classes come from Gi* on weekly slices (this week and last) and a Mann-Kendall trend of each cell's z-scores:
  new (hot only in the last week), consecutive (an unbroken run to the last week), intensifying / persistent / diminishing
  (hot in ≥ 90% of weeks with a rising / no / falling trend), sporadic (on and off), oscillating (hot now, cold before),
  historical (hot in ≥ 90% of weeks but not now).</p>
  <p class="legend">{legend}</p></details>
</aside>"""


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
