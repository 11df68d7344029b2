/* The base map under every map page: one function creates a page's Leaflet map with it.
 *
 *   var map = gridopsBasemap.map("map", {zoomControl: true});
 *
 * reads the page's <script type="application/json" id="gridops-basemap"> (gridops.web.basemap),
 * draws the configured base layer, a metric scale and the configured attribution (no Leaflet flag).
 */
(function () {
  "use strict";

  function config() {
    var el = document.getElementById("gridops-basemap");
    return el ? JSON.parse(el.textContent) : {tiles: "", crs: "WGS84", attribution: ""};
  }

  function map(element, options) {
    var cfg = config();
    var m = L.map(element, Object.assign({maxZoom: 20, preferCanvas: true}, options || {}));
    m.attributionControl.setPrefix(false);
    if (cfg.attribution) m.attributionControl.addAttribution(cfg.attribution);
    if (cfg.tiles) L.tileLayer(cfg.tiles, {maxZoom: 20}).addTo(m);
    L.control.scale({metric: true, imperial: false}).addTo(m);
    return m;
  }

  window.gridopsBasemap = {config: config, map: map};
})();
