// The hidden-risk map: one colour scale at a time (chosen in the layer list), its legend beside it; the hot spots
// outlined and listed with their names and sentences; patrols ordered from a hot spot (派发巡查).
// The figures are the page's #gridops-risk block, the very answer of GET /api/v1/risk. Every text from the
// server goes in through textContent, never as HTML; the page's own words come from gridopsT (the catalogues).
(function () {
  "use strict";

  function block(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  window.gridopsRisk = function (map) {
    const T = window.gridopsT;
    const doc = block("gridops-risk");
    const shapes = block("gridops-risk-shapes");
    const cfg = block("gridops-risk-config") || {};
    const colours = cfg.colours;
    const api = window.gridopsApi ? window.gridopsApi(cfg.pageHeader || "gridops") : null;
    const renderer = L.canvas({padding: 0.3});
    const state = {layers: {}, active: null, spots: new Map(), week: null};
    let slider = null;
    window.gridopsRiskState = state;
    const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString(document.documentElement.lang));

    function ramp(value, breaks) {
      if (!value) return "#ffffff";
      for (let k = 0; k < breaks.length; k++) if (value <= breaks[k]) return colours.sequential[k];
      return colours.sequential[Math.min(breaks.length, colours.sequential.length - 1)];
    }

    function ring(cell) {
      return shapes.cells[cell].map((p) => [p[1], p[0]]);
    }

    function cellTip(c) {
      const values = {grid: c.grid_name || T("outside"), count: fmt(c.count), rate: fmt(c.rate_per_1000_households),
                      gi: c.gi_label, trend: c.trend_label};
      return T(c.households ? "cell_tip" : "cell_tip_nohh", values);
    }

    // --- the choices: each a colour scale of its own --------------------------------------------

    function cellLayer(style, only) {
      const group = L.featureGroup();
      doc.cells.forEach((c) => {
        if (only && !only(c)) return;
        const poly = L.polygon(ring(c.cell), {renderer, weight: 0.4, color: "#8a8a8a", ...style(c)});
        poly.bindTooltip(cellTip(c), {sticky: true});
        poly.cell = c;
        group.addLayer(poly);
      });
      return group;
    }

    const layerDefs = {
      gi: {name: T("layer_gi"), make: () => cellLayer((c) => ({fillColor: colours.bins[String(c.gi_bin)],
                                                                fillOpacity: c.gi_bin ? 0.75 : 0.12}))},
      count: {name: T("layer_count"), make: () => cellLayer((c) => ({fillColor: ramp(c.count, colours.count_breaks),
                                                                      fillOpacity: c.count ? 0.75 : 0.1}))},
      rate: {name: T("layer_rate"), make: () => {
        const group = L.featureGroup();
        doc.grids.forEach((g) => {
          const layer = L.geoJSON(shapes.grids[g.code], {style: () => ({
            fillColor: ramp(g.rate_per_1000_households, colours.rate_breaks), fillOpacity: 0.7, color: "#334e68", weight: 1})});
          layer.bindTooltip(T("grid_tip", {name: g.name, community: g.community_name || "", count: fmt(g.count),
                                           rate: fmt(g.rate_per_1000_households)}), {sticky: true});
          group.addLayer(layer);
        });
        return group;
      }},
      trend: {name: T("layer_trend"), make: () => cellLayer((c) => ({
        fillColor: colours.classes[c.trend] || "#ffffff", fillOpacity: c.trend !== "no pattern" ? 0.8 : 0.05}))},
    };
    const bases = {};
    Object.keys(layerDefs).forEach((key) => {
      const holder = L.layerGroup();  // filled on first show: a scale not looked at costs nothing
      holder.key = key;
      bases[layerDefs[key].name] = holder;
      state.layers[key] = holder;
    });

    function fill(key) {
      const holder = state.layers[key];
      if (!holder.getLayers().length) holder.addLayer(layerDefs[key].make());
    }

    // --- overlays: the recent heat, the hot spots ----------------------------------------------

    const days = Math.max(1, Math.round((new Date(doc.query.until) - new Date(doc.heat.since + "T00:00:00")) / 86400000));
    const heat = L.heatLayer ? L.heatLayer(doc.heat.points, {radius: 18, blur: 14, minOpacity: 0.3}) : L.layerGroup();
    const spotsLayer = L.featureGroup();
    const overlays = {};
    overlays[T("layer_spots")] = spotsLayer;
    overlays[T("layer_heat", {days})] = heat;

    // --- the legend of what is shown ----------------------------------------------------------

    const legend = L.control({position: "topright"});
    legend.onAdd = function () {
      const box = L.DomUtil.create("div", "risk-legend");
      box.id = "risk-legend";
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    legend.addTo(map);

    function swatchRow(box, colour, label) {
      const row = el("div", "row");
      const sw = el("span", "swatch");
      sw.style.background = colour;
      row.appendChild(sw);
      row.appendChild(el("span", null, label));
      box.appendChild(row);
    }

    function rampRows(box, breaks) {
      let low = 0;
      breaks.forEach((b, k) => {
        swatchRow(box, colours.sequential[k], k === 0 ? `≤ ${fmt(b)}` : `${fmt(low)} – ${fmt(b)}`);
        low = b;
      });
      swatchRow(box, colours.sequential[Math.min(breaks.length, colours.sequential.length - 1)], `> ${fmt(low)}`);
    }

    function drawLegend() {
      const box = document.getElementById("risk-legend");
      box.replaceChildren();
      const key = state.active;
      box.dataset.layer = key || "";
      if (key) {
        box.appendChild(el("h3", null, T("legend_" + key)));
        if (key === "gi") {
          [3, 2, 1, 0, -1, -2, -3].forEach((b) => swatchRow(box, colours.bins[String(b)], colours.bin_names[String(b)]));
        } else if (key === "count") {
          rampRows(box, colours.count_breaks);
        } else if (key === "rate") {
          rampRows(box, colours.rate_breaks);
        } else if (key === "trend") {
          const present = Object.keys(doc.classes);
          if (!present.length) box.appendChild(el("div", "row", T("legend_none")));
          present.forEach((k) => swatchRow(box, colours.classes[k] || "#fff", colours.class_names[k] || k));
        }
      }
      if (map.hasLayer(heat)) {
        box.appendChild(el("h3", null, T("legend_heat")));
        const bar = el("div", "heat-bar");
        box.appendChild(bar);
        const ends = el("div", "heat-ends");
        ends.appendChild(el("span", null, T("fewer")));
        ends.appendChild(el("span", null, T("more")));
        box.appendChild(ends);
      }
    }

    map.on("baselayerchange", (e) => {
      state.active = e.layer.key;
      fill(e.layer.key);
      if (slider && state.active !== "count") slider.reset();
      drawLegend();
      spotsLayer.bringToFront();
    });
    map.on("overlayadd overlayremove", drawLegend);

    L.control.layers(bases, overlays, {collapsed: false, position: "topright"}).addTo(map);
    legend.remove();
    legend.addTo(map);  // under the layer list
    state.layers.gi.addTo(map);  // the default scale (baselayerchange fills it and draws its legend)
    state.active = "gi";
    fill("gi");
    spotsLayer.addTo(map);

    // --- the week slider: the cell counts of one week ------------------------------------------

    slider = (function () {
      if (!doc.weeks.length) return null;
      const control = L.control({position: "bottomleft"});
      let input = null;
      let label = null;
      control.onAdd = function () {
        const box = L.DomUtil.create("div", "gridops-slider");
        label = L.DomUtil.create("label", "", box);
        label.htmlFor = "week-slider";
        label.textContent = T("week_all", {n: doc.weeks.length});
        input = L.DomUtil.create("input", "", box);
        input.type = "range"; input.id = "week-slider"; input.min = 0; input.max = doc.weeks.length; input.value = doc.weeks.length;
        input.setAttribute("aria-label", T("week_label"));
        L.DomEvent.disableClickPropagation(box);
        input.addEventListener("input", () => {
          const k = Number(input.value);
          const all = k === doc.weeks.length;
          label.textContent = all ? T("week_all", {n: doc.weeks.length}) : T("week_of", {day: doc.weeks[k]});
          if (state.active !== "count") {  // one scale at a time: the slider shows the counts
            map.removeLayer(state.layers[state.active]);
            state.layers.count.addTo(map);  // the layer list hears of it and says baselayerchange
            input.value = String(k);
          }
          const scale = all ? 1 : doc.weeks.length;  // one week on the all-weeks scale, per week
          state.layers.count.eachLayer((group) => group.eachLayer((poly) => {
            const c = poly.cell;
            const v = all ? c.count : c.weekly[k] * scale;
            poly.setStyle({fillColor: ramp(v, colours.count_breaks), fillOpacity: v ? 0.75 : 0.1});
          }));
          document.body.dataset.week = String(k);
        });
        return box;
      };
      control.addTo(map);
      return {reset() {
        if (input && input.value !== String(doc.weeks.length)) {
          input.value = String(doc.weeks.length);
          label.textContent = T("week_all", {n: doc.weeks.length});
        }
      }};
    })();

    // --- the hot spots: outlined, listed, each with its patrols ---------------------------------

    function coolingLine(spot) {
      const p = spot.patrols;
      const line = el("p", "cooling " + (p ? p.state : "none"), p ? p.summary : T("cooling_none"));
      line.dataset.state = p ? p.state : "none";
      return line;
    }

    function orderButton(spot, result) {
      const button = el("button", "order", T("order"));
      button.type = "button";
      button.dataset.spot = spot.id;
      button.addEventListener("click", async () => {
        button.disabled = true;
        result.textContent = T("ordering");
        result.className = "order-result";
        try {
          const done = await api("POST", "/api/v1/risk/patrols", {
            category: doc.query.category, res: doc.query.res, cells: spot.cells, since: doc.query.since, until: doc.query.until});
          result.textContent = done.tasks.length
            ? T("ordered", {n: done.tasks.length, workers: done.workers.map((w) => w.name).join("、"),
                            due: new Date(done.due_at).toLocaleString(document.documentElement.lang, {
                              timeZone: cfg.timezone, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit"})})
            : T("ordered_none");
          result.className = "order-result ok";
          document.body.dataset.ordered = String(done.tasks.length);
        } catch (err) {
          result.textContent = T("order_failed", {reason: err.message});
          result.className = "order-result problem";
          button.disabled = false;
        }
      });
      return button;
    }

    function spotCard(spot, where) {
      const box = el("div", "spot-card");
      box.appendChild(el(where === "list" ? "strong" : "h3", "spot-name", spot.name));
      if (spot.community_name) box.appendChild(el("span", "spot-community", " · " + spot.community_name));
      box.appendChild(el("p", "sentence", spot.sentence));
      box.appendChild(el("p", "meta", T("spot_counts", {count: fmt(spot.count), rate: fmt(spot.rate_per_1000_households),
                                                         gi: spot.gi_label, trend: spot.trend_label})));
      if (where !== "list" && spot.micro_grids.length) {
        const names = spot.micro_grids.slice(0, 8).map((m) => m.name).join("、") + (spot.micro_grids.length > 8 ? " …" : "");
        box.appendChild(el("p", "meta", T("spot_micro", {n: spot.micro_grids.length, names})));
      }
      box.appendChild(coolingLine(spot));
      const actions = el("div", "actions");
      const result = el("p", "order-result");
      if (where === "list") {
        const show = el("button", "show", T("show_on_map"));
        show.type = "button";
        show.addEventListener("click", () => {
          const layer = state.spots.get(spot.id);
          // no animation: a popup opened while the map still moves is placed off the screen
          map.fitBounds(layer.getBounds(), {maxZoom: 16, paddingTopLeft: [440, 260], paddingBottomRight: [240, 40], animate: false});
          layer.openPopup();
        });
        actions.appendChild(show);
      }
      if (cfg.mayOrder && api && !cfg.standalone) actions.appendChild(orderButton(spot, result));
      box.appendChild(actions);
      box.appendChild(result);
      return box;
    }

    const list = document.getElementById("hot-spots");
    if (list && !doc.hot_spots.length) list.appendChild(el("li", "none", T("no_spots")));
    doc.hot_spots.forEach((spot) => {
      const layer = L.geoJSON(shapes.spots[spot.id], {style: () => ({
        fill: true, fillOpacity: 0, color: "#7b0011", weight: 2.5, dashArray: spot.patrols ? "6 4" : null})});
      layer.bindPopup(() => spotCard(spot, "popup"), {maxWidth: 340, minWidth: 260, className: "spot-popup",
                                                              autoPanPaddingTopLeft: [20, 20], autoPanPaddingBottomRight: [220, 20]});
      layer.bindTooltip(spot.name, {sticky: true});
      spotsLayer.addLayer(layer);
      state.spots.set(spot.id, layer);
      if (list) {
        const item = el("li");
        item.dataset.spot = spot.id;
        item.appendChild(spotCard(spot, "list"));
        list.appendChild(item);
      }
    });
    drawLegend();
    document.body.dataset.loaded = "1";
  };
})();
