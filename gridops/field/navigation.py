"""Links that open the phone's map app (高德 AMap, 百度 Baidu, 腾讯 Tencent) on the way to a task.

gridops stores WGS-84, but none of the three apps takes it as it is: AMap and Tencent draw GCJ-02, Baidu BD-09.
A destination sent raw lands some hundreds of metres off the door, so each link carries the point already in
the app's datum, converted here with the project's own formulas (gridops.geo.chinacrs) rather than trusting
each app's optional `coordinate`/`coord_type` switches, which differ between the web and app versions.

The links are the apps' documented web URIs: on a phone with the app installed they open it (AMap's
`callnative=1`; Baidu and Tencent hand over by themselves), without it the maker's mobile web map opens.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from gridops.geo.chinacrs import wgs84_to_bd09, wgs84_to_gcj02

SOURCE = "gridops"  # who is calling, as each maker asks callers to say


def _url(base: str, params: dict[str, str]) -> str:
    # the separators the makers' examples show unescaped (lon,lat · latlng:…|name:…) stay readable
    return f"{base}?{urlencode(params, quote_via=quote, safe=',|:')}"


def _point(lon: float, lat: float) -> dict[str, float]:
    return {"lon": round(lon, 7), "lat": round(lat, 7)}


def destination(lon: float, lat: float, name: str | None, origin: tuple[float, float] | None = None) -> dict[str, Any]:
    """The task's point in GCJ-02 and BD-09, and a walking route to it in each map app.

    `origin` (WGS-84, where the phone last said it was) is only for Baidu's web page, which needs a start;
    the apps themselves start from the phone's own position."""
    label = (name or "").strip()[:40] or "目的地"
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    amap = _url("https://uri.amap.com/navigation", {
        "to": f"{g_lon:.6f},{g_lat:.6f},{label.replace(',', ' ')}", "mode": "walk", "coordinate": "gaode",
        "callnative": "1", "src": SOURCE})
    if origin is not None:
        o_lon, o_lat = wgs84_to_bd09(*origin)
        baidu = _url("https://api.map.baidu.com/direction", {
            "origin": f"latlng:{o_lat:.6f},{o_lon:.6f}|name:我的位置",
            "destination": f"latlng:{b_lat:.6f},{b_lon:.6f}|name:{label.replace('|', ' ')}",
            "mode": "walking", "coord_type": "bd09ll", "output": "html", "src": f"webapp.{SOURCE}.worker"})
    else:  # no start known: the place on the map, whose page offers the way there (到这里去)
        baidu = _url("https://api.map.baidu.com/marker", {
            "location": f"{b_lat:.6f},{b_lon:.6f}", "title": label, "content": label, "coord_type": "bd09ll",
            "output": "html", "src": f"webapp.{SOURCE}.worker"})
    tencent = _url("https://apis.map.qq.com/uri/v1/routeplan", {
        "type": "walk", "to": label, "tocoord": f"{g_lat:.6f},{g_lon:.6f}", "referer": SOURCE})
    return {"gcj02": _point(g_lon, g_lat), "bd09": _point(b_lon, b_lat),
            "links": {"amap": amap, "baidu": baidu, "tencent": tencent}}
