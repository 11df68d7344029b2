// The big screen (/screen): what the command centre's wall shows, asked again from /api/v1/stats/live on each
// event of the live feed (/api/v1/stream) and once a minute. Names are untrusted text: they go in as textContent.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("screen-config").textContent);
  const api = window.gridopsApi(cfg.pageHeader);
  const lang = cfg.lang;
  const STEPS = ["reported", "accepted", "dispatched", "resolved", "verified", "closed"];
  const COLOURS = { none: "#3b4a5e", green: "#2f9e44", amber: "#f59f00", red: "#e03131" };
  const state = { updates: 0, grids: null, live: null };
  window.gridopsScreen = state;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  const pct = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%");
  const number = new Intl.NumberFormat(lang);

  // --- the clock, in the city's time ------------------------------------------------------------------
  const clockFormat = new Intl.DateTimeFormat(lang, {
    timeZone: cfg.timezone, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const timeFormat = new Intl.DateTimeFormat(lang, { timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  function tick() { document.getElementById("clock").textContent = clockFormat.format(new Date()); }
  tick();
  setInterval(tick, 1000);

  // --- the map ------------------------------------------------------------------------------------------
  const map = window.gridopsBasemap.map("screen-map", { zoomControl: false, zoomSnap: 0.25 });
  map.setView([30.62, 104.1], 13);
  const grids = L.geoJSON(null, {
    style: () => ({ color: "#9fb3c8", weight: 1, fillColor: COLOURS.none, fillOpacity: 0.45 }),
    onEachFeature: (f, layer) => layer.bindTooltip(el("span", null, f.properties.name || f.properties.code), { sticky: true }),
  }).addTo(map);

  async function loadGrids() {
    const q = new URLSearchParams({ level: "grid", limit: "1000" });
    if (cfg.area) q.set("within", cfg.area);
    let url = "/api/v1/areas?" + q.toString();
    let features = [];
    while (url) {
      const page = await api("GET", url);
      features = features.concat(page.features);
      const next = (page.links || []).find((l) => l.rel === "next");
      url = next ? next.href : null;
    }
    if (!features.length && cfg.area) features = [await api("GET", "/api/v1/areas/" + encodeURIComponent(cfg.area))];
    grids.addData({ type: "FeatureCollection", features });
    map.invalidateSize();
    if (features.length) map.fitBounds(grids.getBounds(), { padding: [16, 16] });
    state.grids = features.length;
    paint();
  }

  function flagOf(now) {
    if (!now || !now.open) return "none";
    if (now.overdue <= cfg.overdue.green) return "green";
    return now.overdue <= cfg.overdue.amber ? "amber" : "red";
  }

  function paint() {
    if (!state.live) return;
    grids.eachLayer((layer) => {
      const now = state.live.grids[layer.feature.properties.code];
      layer.setStyle({ fillColor: COLOURS[flagOf(now)], fillOpacity: now && now.open ? 0.5 : 0.3 });
      const p = layer.feature.properties;
      const words = now ? gridopsT("open_n", { n: now.open }) + " · " + gridopsT("overdue_n", { n: now.overdue }) : gridopsT("no_open");
      layer.setTooltipContent(el("span", null, (p.name || p.code) + " · " + words));
    });
  }

  // --- the figures --------------------------------------------------------------------------------------
  function setCount(id, value) {
    const node = document.getElementById(id);
    const text = typeof value === "number" ? number.format(value) : value;
    if (node.textContent !== text) {
      node.textContent = text;
      node.classList.remove("bump");
      void node.offsetWidth;  // restart the highlight
      node.classList.add("bump");
    }
  }

  const flowChart = window.echarts ? window.echarts.init(document.getElementById("chart-flow"), null, { renderer: "canvas" }) : null;

  function showFlow(flow) {
    const list = document.getElementById("flow");
    list.replaceChildren();
    const by = Object.fromEntries(flow.map((f) => [f.step, f.n]));
    STEPS.forEach((step) => {
      const item = el("li", "step");
      item.dataset.step = step;
      item.append(el("span", "label", gridopsT("status_" + step)), el("b", null, number.format(by[step] || 0)));
      list.appendChild(item);
    });
    if (flowChart) {
      flowChart.setOption({
        grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: STEPS.map((s) => gridopsT("status_" + s)), axisLabel: { color: "#bcccdc", fontSize: 15 },
                 axisLine: { lineStyle: { color: "#486581" } } },
        yAxis: { type: "value", minInterval: 1, axisLabel: { color: "#9fb3c8" }, splitLine: { lineStyle: { color: "#243b53" } } },
        series: [{ type: "bar", data: STEPS.map((s) => by[s] || 0), barWidth: "55%",
                   itemStyle: { color: new window.echarts.graphic.LinearGradient(0, 0, 0, 1, [{ offset: 0, color: "#4dabf7" }, { offset: 1, color: "#1c7ed6" }]) },
                   label: { show: true, position: "top", color: "#e6f0ff", fontSize: 16 } }],
      });
      flowChart.resize();  // the steps above it took their room
    }
  }

  function showRanked(id, rows) {
    const list = document.getElementById(id);
    list.replaceChildren();
    if (!rows.length) { list.appendChild(el("li", "empty", gridopsT("none"))); return; }
    rows.forEach((g) => {
      const item = el("li", "flag-" + ((g.flags && g.flags.on_time_rate) || "none"));
      item.append(el("span", "name", g.name || g.code), el("span", "code", g.code),
                  el("span", "value", gridopsT("on_time", { p: pct(g.on_time_rate) })));
      list.appendChild(item);
    });
  }

  async function refresh() {
    const q = cfg.area ? "?area=" + encodeURIComponent(cfg.area) : "";
    const live = await api("GET", "/api/v1/stats/live" + q);
    state.live = live;
    setCount("n-open", live.open);
    setCount("n-overdue", live.overdue);
    setCount("n-today-reported", live.today.reported);
    setCount("n-today-closed", live.today.closed);
    setCount("n-on-time", pct(live.totals.on_time_rate));
    setCount("n-proactive", pct(live.totals.proactive_rate));
    showFlow(live.flow);
    showRanked("worst", live.worst);
    showRanked("best", live.best);
    paint();
    state.updates += 1;
    document.body.dataset.updates = String(state.updates);
    document.body.dataset.reportedToday = String(live.today.reported);
    document.getElementById("updated").textContent = gridopsT("updated", { t: timeFormat.format(new Date(live.at)) });
  }

  let pending = null;
  function soon() {  // a burst of events is one refresh
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh().catch((err) => console.warn("live:", err.message)); }, 400);
  }

  function listen() {
    if (!window.EventSource) return;
    const feed = new EventSource("/api/v1/stream");
    const badge = document.getElementById("live-state");
    feed.addEventListener("open", () => { badge.dataset.state = "live"; badge.textContent = gridopsT("live"); });
    feed.addEventListener("error", () => { badge.dataset.state = "reconnecting"; badge.textContent = gridopsT("reconnecting"); });
    feed.addEventListener("incident", soon);
  }

  refresh().then(() => loadGrids()).catch((err) => console.warn("screen:", err.message));
  listen();
  setInterval(soon, 60000);  // today's counts turn over at midnight with no event
  window.addEventListener("resize", () => { if (flowChart) flowChart.resize(); });
})();
