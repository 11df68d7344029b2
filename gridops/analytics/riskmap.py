"""The hidden-risk map: one colour scale at a time with its legend, the hot spots named and orderable.

The page is a Folium map over the city's base map; the figures are the risk document
(gridops.analytics.spots.risk_document) embedded as JSON, the very answer `GET /api/v1/risk` gives, and
/static/riskmap.js draws them: the layers as choices (Gi* hot and cold spots by default; counts per cell,
the rate per 1,000 households per grid, the emerging classes), each with its legend while shown; the recent
heat as an overlay; the hot spots outlined, listed with their names and sentences, each with a button that
orders patrols there (派发巡查).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template
from shapely.geometry import shape

from gridops.geo.geojson import geometry_to_geojson
from gridops.geo.hexes import cell_polygon

from gridops.analytics.maps import BIN_COLOURS, CLASS_COLOURS, HEAT_JS, SEQUENTIAL, OfflineMap, _esc, _figure, _quantile_breaks, base_map
from gridops.analytics.risk import cell_geometry
from gridops.analytics.wording import BIN_NAMES, CLASS_NAMES, Translate

RISK_JS = [("gridops_strings", "/static/strings.js"), ("gridops_api", "/static/api.js"), HEAT_JS,
           ("gridops_riskmap", "/static/riskmap.js")]
RISK_CSS = [("gridops_riskmap_css", "/static/riskmap.css")]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def risk_map(doc: dict[str, Any], basemap: Mapping[str, Any] | None, *, t: Translate, words: Mapping[str, str],
             config: Mapping[str, Any], panels: str) -> OfflineMap:
    """The map page of a risk document; `words` are the script's strings in the reader's language."""
    shapes = doc["_shapes"]
    m = base_map(shape(shapes["study_area"]).bounds, basemap, t("Hidden risks") + " · gridops")
    public = {k: v for k, v in doc.items() if k != "_shapes"}
    colours = {
        "sequential": SEQUENTIAL, "bins": {str(k): v for k, v in BIN_COLOURS.items()}, "classes": CLASS_COLOURS,
        "count_breaks": _quantile_breaks([c["count"] for c in doc["cells"]]),
        "rate_breaks": _quantile_breaks([g["rate_per_1000_households"] or 0 for g in doc["grids"]]),
        "bin_names": {str(k): t(v) for k, v in BIN_NAMES.items()},
        "class_names": {k: t(v) for k, v in CLASS_NAMES.items()},
    }
    cell_shapes = {c["cell"]: cell_geometry(c["cell"])["coordinates"][0] for c in doc["cells"]}
    spot_shapes = {s["id"]: geometry_to_geojson(shapely.union_all([cell_polygon(int(c, 16)) for c in s["cells"]]), 6)
                   for s in doc["hot_spots"]}
    drawn = {"cells": cell_shapes, "grids": shapes["grids"], "spots": spot_shapes, "study_area": shapes["study_area"]}
    blocks = (f'<script type="application/json" id="gridops-risk">{_json(public)}</script>'
              f'<script type="application/json" id="gridops-risk-shapes">{_json(drawn)}</script>'
              f'<script type="application/json" id="gridops-risk-config">{_json({**config, "colours": colours})}</script>'
              f'<script type="application/json" id="gridops-strings">{_json(dict(words))}</script>')
    _figure(m).html.add_child(Element(blocks + panels))
    m.add_child(_RiskLayers())
    return m


class _RiskLayers(JSCSSMixin, MacroElement):
    """Hands the map to /static/riskmap.js, which draws the layers, legends, hot spots and the week slider."""

    default_js = RISK_JS
    default_css = RISK_CSS
    _template = Template("""
{% macro script(this, kwargs) %}
window.gridopsRisk({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "RiskLayers"


def esc(text: Any) -> str:
    return _esc(str(text))
