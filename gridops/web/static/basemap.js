/* The base map under every map page, and the one function that creates a page's Leaflet map with it:
 *
 *   var map = gridopsBasemap.map("map", {zoomControl: true});   // a Jinja page
 *   gridopsBasemap.attach(map);                                  // a map made elsewhere (Folium)
 *
 * Settings come from the page's <script type="application/json" id="gridops-basemap"> (gridops.basemap.settings):
 * the city's own streets and buildings, drawn from /api/v1/basemap tiles on a canvas under every overlay; an
 * intranet XYZ server's tiles beneath them when configured; a metric scale; the configured attribution (no
 * Leaflet flag). Tiles in GCJ-02 or BD-09 (Chinese tile servers): the map's CRS shifts every WGS-84 overlay to the
 * tiles' datum and reads clicks back to WGS-84 — the formulas of gridops/geo/chinacrs.py.
 */
(function () {
  "use strict";

  var A = 6378245.0, EE = 0.00669342162296594323, X_PI = Math.PI * 3000.0 / 180.0;

  function outsideChina(lng, lat) { return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271); }

  function wgsToGcj(lng, lat) {
    if (outsideChina(lng, lat)) return [lng, lat];
    var x = lng - 105.0, y = lat - 35.0, PI = Math.PI;
    var dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) +
      (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0 +
      (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0 +
      (160.0 * Math.sin(y / 12.0 * PI) + 320 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    var dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) +
      (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0 +
      (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0 +
      (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    var rad = lat / 180.0 * PI, magic = 1 - EE * Math.sin(rad) * Math.sin(rad), sq = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sq) * PI);
    dlng = (dlng * 180.0) / (A / sq * Math.cos(rad) * PI);
    return [lng + dlng, lat + dlat];
  }

  function gcjToBd(lng, lat) {
    var z = Math.sqrt(lng * lng + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
    var theta = Math.atan2(lat, lng) + 0.000003 * Math.cos(lng * X_PI);
    return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
  }

  var FORWARD = {
    WGS84: function (lng, lat) { return [lng, lat]; },
    GCJ02: wgsToGcj,
    BD09: function (lng, lat) { var g = wgsToGcj(lng, lat); return gcjToBd(g[0], g[1]); }
  };

  function back(datum, lng, lat) {  // no closed form: move the guess by what it still misses
    var f = FORWARD[datum], g = [lng, lat];
    for (var i = 0; i < 30; i++) {
      var p = f(g[0], g[1]), dx = p[0] - lng, dy = p[1] - lat;
      g = [g[0] - dx, g[1] - dy];
      if (Math.abs(dx) < 1e-10 && Math.abs(dy) < 1e-10) break;
    }
    return g;
  }

  function crsFor(datum) {
    if (!FORWARD[datum] || datum === "WGS84") return L.CRS.EPSG3857;
    var mercator = L.Projection.SphericalMercator;
    var projection = L.extend({}, mercator, {
      project: function (latlng) { var p = FORWARD[datum](latlng.lng, latlng.lat); return mercator.project(L.latLng(p[1], p[0])); },
      unproject: function (point) { var ll = mercator.unproject(point), p = back(datum, ll.lng, ll.lat); return L.latLng(p[1], p[0]); }
    });
    return L.extend({}, L.CRS.EPSG3857, {code: "EPSG:3857/" + datum, projection: projection});
  }
  // named, so a Folium map can ask for them (folium.Map(crs="GCJ02") writes crs: L.CRS.GCJ02)
  L.CRS.GCJ02 = crsFor("GCJ02");
  L.CRS.BD09 = crsFor("BD09");

  function config() {
    var el = document.getElementById("gridops-basemap");
    var cfg = el ? JSON.parse(el.textContent) : {};
    return L.extend({tiles: "", crs: "WGS84", attribution: "", city: "", cityMinZoom: 13}, cfg);
  }

  // --- the city's own map: streets and buildings from the service, drawn on a canvas under the overlays ---

  var STREET = {arterial: [9, 6], local: [6, 4], lane: [3.5, 2]};  // [casing, fill] widths at z16

  function tileZoom(z) { return Math.min(16, Math.floor(z)); }

  function tileRange(map, z) {
    var b = map.getBounds(), n = Math.pow(2, z);
    function x(lng) { return Math.floor((lng + 180) / 360 * n); }
    function y(lat) { var r = lat * Math.PI / 180; return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n); }
    return {x0: Math.max(0, x(b.getWest())), x1: Math.min(n - 1, x(b.getEast())), y0: Math.max(0, y(b.getNorth())), y1: Math.min(n - 1, y(b.getSouth()))};
  }

  function cityLayer(map, cfg) {
    map.createPane("gridopsBasemap").style.zIndex = 250;
    map.createPane("gridopsBasemapLabels").style.zIndex = 260;
    map.getPane("gridopsBasemap").style.pointerEvents = "none";
    map.getPane("gridopsBasemapLabels").style.pointerEvents = "none";
    map.getContainer().classList.add("gridops-city-map");
    var renderer = L.canvas({pane: "gridopsBasemap", padding: 0.3});
    var shown = {}, zoomShown = null, labels = L.layerGroup().addTo(map), named = {};

    function scale() { return Math.pow(2, map.getZoom() - 16); }

    function draw(fc) {
      var s = Math.max(0.35, scale());
      var group = L.layerGroup();
      var buildings = fc.features.filter(function (f) { return f.properties.layer === "building"; });
      var streets = fc.features.filter(function (f) { return f.properties.layer === "street"; });
      L.geoJSON({type: "FeatureCollection", features: buildings}, {renderer: renderer, pane: "gridopsBasemap", interactive: false,
        style: {color: "#c9bfb4", weight: 0.6, fillColor: "#e3dbd2", fillOpacity: 1}}).addTo(group);
      [0, 1].forEach(function (k) {
        L.geoJSON({type: "FeatureCollection", features: streets}, {renderer: renderer, pane: "gridopsBasemap", interactive: false,
          style: function (f) {
            var w = STREET[f.properties.kind] || STREET.local;
            return k === 0 ? {color: "#cfc8bf", weight: w[0] * s, lineCap: "round"}
                           : {color: f.properties.kind === "arterial" ? "#fbe7b5" : "#ffffff", weight: w[1] * s, lineCap: "round"};
          }}).addTo(group);
      });
      streets.forEach(function (f) {
        var name = f.properties.name, c = f.geometry.coordinates;
        if (!name || named[name] || f.geometry.type !== "LineString" || c.length < 2) return;
        named[name] = true;  // one label a street, where it is first seen
        var mid = c[Math.floor(c.length / 2) - (c.length % 2 ? 0 : 1)], next = c[Math.min(c.length - 1, c.indexOf(mid) + 1)];
        var at = L.latLng((mid[1] + next[1]) / 2, (mid[0] + next[0]) / 2);
        labels.addLayer(L.marker(at, {pane: "gridopsBasemapLabels", interactive: false, keyboard: false,
          icon: L.divIcon({className: "gridops-street-label", html: "<span></span>", iconSize: null})}).on("add", function (e) {
          e.target.getElement().firstChild.textContent = name;
        }));
      });
      return group;
    }

    function refresh() {
      var z = map.getZoom();
      map.getContainer().classList.toggle("gridops-labels-off", z < 16);
      if (z < cfg.cityMinZoom) { clear(); return; }
      var tz = tileZoom(z);
      if (tz !== zoomShown) { clear(); zoomShown = tz; }
      var r = tileRange(map, tz);
      if ((r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1) > 64) return;
      for (var x = r.x0; x <= r.x1; x++) {
        for (var y = r.y0; y <= r.y1; y++) {
          var key = tz + "/" + x + "/" + y;
          if (shown[key]) continue;
          shown[key] = "loading";
          load(key, cfg.city.replace("{z}", tz).replace("{x}", x).replace("{y}", y), tz);
        }
      }
    }

    function load(key, url, tz) {
      fetch(url, {credentials: "same-origin"}).then(function (res) { return res.ok ? res.json() : null; }).then(function (fc) {
        if (!fc || zoomShown !== tz || shown[key] !== "loading") return;
        shown[key] = draw(fc).addTo(map);
      }).catch(function () { if (shown[key] === "loading") delete shown[key]; });  // offline a moment: the next move asks again
    }

    function clear() {
      Object.keys(shown).forEach(function (k) { if (shown[k] !== "loading") map.removeLayer(shown[k]); });
      shown = {}; named = {}; labels.clearLayers(); zoomShown = null;
    }

    function restyle() { clear(); refresh(); }  // widths follow the zoom

    map.on("moveend", refresh);
    map.on("zoomend", restyle);
    map.whenReady(refresh);
  }

  function attach(map, cfg) {
    cfg = cfg || config();
    map.attributionControl && map.attributionControl.setPrefix(false);
    if (cfg.attribution && map.attributionControl) map.attributionControl.addAttribution(cfg.attribution);
    if (cfg.tiles) L.tileLayer(cfg.tiles, {maxZoom: 20, maxNativeZoom: cfg.tilesMaxNativeZoom || 18}).addTo(map);
    if (cfg.city && location.protocol !== "file:") cityLayer(map, cfg);  // a saved map file has no service to ask
    L.control.scale({metric: true, imperial: false}).addTo(map);
    return map;
  }

  function map(element, options) {
    var cfg = config();
    var m = L.map(element, L.extend({maxZoom: 20, crs: crsFor(cfg.crs)}, options || {}));
    return attach(m, cfg);
  }

  window.gridopsBasemap = {config: config, map: map, attach: attach, crs: crsFor, toDatum: function (datum, lng, lat) {
    return (FORWARD[datum] || FORWARD.WGS84)(lng, lat);
  }, fromDatum: back};
})();
