// The planner's page: a draft's grids over the grids in force and the city's base map, coloured by
// households, with the edit tools, the checks and the impact, every grid by its name and every time in
// the city's zone. Everything goes through /api/v1/plans; every text from the server goes in through
// textContent, never as HTML. The words are the page's (gridopsT), in the reader's language.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("gridops-config").textContent);
  const T = window.gridopsT;
  const $ = (id) => document.getElementById(id);
  const COLOURS = { under: "#4098d7", within: "#3ebd93", over: "#e12d39" };
  // the tools whose clicks are meant for a grid: building dots let those clicks through to the grid beneath
  const GRID_TOOLS = new Set(["split", "merge", "redraw"]);
  const locale = cfg.lang === "en" ? "en-GB" : "zh-CN";

  const state = {
    draft: null, grids: new Map(), buildings: new Map(), tool: null, picked: [], vertices: [], target: null,
    busy: false, names: {}, workers: null,
  };
  window.gridopsPlanState = state;

  const map = window.gridopsBasemap.map("map", { zoomControl: true, zoomSnap: 0.25 });
  state.map = map;
  const oldLayer = L.layerGroup().addTo(map);
  const microLayer = L.layerGroup().addTo(map);
  const gridLayer = L.layerGroup().addTo(map);
  const buildingLayer = L.layerGroup().addTo(map);
  const sketch = L.layerGroup().addTo(map);
  const layerNames = {};
  layerNames[T("layer_in_force")] = oldLayer;
  layerNames[T("layer_draft")] = gridLayer;
  layerNames[T("layer_micro")] = microLayer;
  layerNames[T("layer_buildings")] = buildingLayer;
  L.control.layers(null, layerNames, { collapsed: false }).addTo(map);
  map.setView([30.62, 104.1], 15);

  const api = window.gridopsApi(cfg.pageHeader);

  // --- names and times ------------------------------------------------------

  function nameOf(code) { return state.names[code] || code; }

  function word(prefix, value) {
    const key = prefix + value;
    const said = T(key);
    return said === key ? value : said;
  }

  function num(n) { return Number(n).toLocaleString(locale); }

  function pct(x) { return (100 * x).toFixed(1) + "%"; }

  // minutes the city's clock is ahead of UTC at `ms` (Intl knows the zone's rules, DST included)
  function zoneOffset(ms) {
    const parts = {};
    for (const p of new Intl.DateTimeFormat("en-US", { timeZone: cfg.timezone, hourCycle: "h23", year: "numeric",
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms))) {
      parts[p.type] = p.value;
    }
    const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
    return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
  }

  // "2026-11-24T00:00" read as the city's wall clock -> an ISO time with the city's offset
  function cityToIso(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
    if (!m) return null;
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    let off = zoneOffset(wall);
    off = zoneOffset(wall - off * 60000);
    const sign = off >= 0 ? "+" : "-";
    const abs = Math.abs(off);
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:00${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  }

  // a moment as the city's wall clock, for the datetime-local field and for reading
  function cityWall(ms) {
    const d = new Date(ms + zoneOffset(ms) * 60000);
    return d.toISOString().slice(0, 16);
  }

  function cityTime(iso) { return cityWall(Date.parse(iso)).replace("T", " "); }

  function say(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = "status " + (kind || "");
  }

  async function busy(label, work) {
    if (state.busy) return;
    state.busy = true;
    document.body.dataset.busy = "1";
    say(label + "…");
    try {
      await work();
    } catch (err) {
      say(err.message, "error");
    } finally {
      state.busy = false;
      document.body.dataset.busy = "0";
    }
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  // --- drafts ---------------------------------------------------------------

  async function listDrafts(selectId) {
    const community = $("community").value;
    const data = await api("GET", "/api/v1/plans?community=" + encodeURIComponent(community));
    const sel = $("drafts");
    sel.replaceChildren(el("option", "—"));
    sel.options[0].value = "";
    for (const d of data.drafts) {
      const o = el("option", T("draft_line", { id: d.id, method: word("method_", d.method), status: word("status_", d.status),
        revision: d.revision, grids: d.metrics.grids || 0 }));
      o.value = String(d.id);
      sel.append(o);
    }
    if (selectId) sel.value = String(selectId);
  }

  async function openDraft(id) {
    const [draft, shapes, old, buildings] = await Promise.all([
      api("GET", `/api/v1/plans/${id}`),
      api("GET", `/api/v1/plans/${id}/geojson`),
      api("GET", `/api/v1/plans/${id}/geojson?which=published`),
      api("GET", `/api/v1/plans/${id}/geojson?which=buildings`),
    ]);
    show(draft, shapes, old, buildings);
  }

  function bandOf(households) {
    const [lo, hi] = state.draft.settings.grid_households;
    return households < lo ? "under" : households > hi ? "over" : "within";
  }

  function show(draft, shapes, old, buildings) {
    const first = state.draft === null || state.draft.id !== draft.id;
    state.draft = draft;
    state.names = Object.assign({}, state.names, draft.names || {});
    const url = new URL(window.location.href);
    url.searchParams.set("draft", draft.id);
    url.searchParams.set("community", draft.community);
    window.history.replaceState(null, "", url);
    document.querySelectorAll("nav.lang a[hreflang]").forEach((a) => {  // the other language, on the same draft
      const there = new URL(url);
      there.searchParams.set("lang", a.hreflang.startsWith("zh") ? "zh" : "en");
      a.href = there.pathname + there.search;
    });
    if (shapes) drawDraft(shapes);
    if (old) {
      oldLayer.clearLayers();
      L.geoJSON(old, { interactive: false, style: { color: "#d9822b", weight: 3, dashArray: "7 5", fill: false } }).addTo(oldLayer);
    }
    if (buildings) drawBuildings(buildings);
    renderSide(draft);
    if (first && gridLayer.getLayers().length) {
      map.invalidateSize();
      map.fitBounds(L.featureGroup(gridLayer.getLayers()).getBounds(), { padding: [20, 20], animate: false });
    }
    const editable = draft.status === "draft";
    document.querySelectorAll("[data-tool], #do-publish").forEach((b) => { b.disabled = !editable; });
    document.body.dataset.draft = String(draft.id);
    document.body.dataset.revision = String(draft.revision);
    $("publish-done").textContent = "";
    if (draft.published) {
      const said = T("published_status", { version: draft.published.version, when: cityTime(draft.published.effective_from) });
      say(said, "ok");
      $("publish-done").textContent = said;  // beside the button that did it, as well as at the top
    } else {
      say(T("draft_status", { id: draft.id, status: word("status_", draft.status), revision: draft.revision }), "ok");
    }
  }

  function drawDraft(fc) {
    gridLayer.clearLayers();
    microLayer.clearLayers();
    state.grids.clear();
    for (const f of fc.features) {
      const p = f.properties;
      if (p.level === "micro_grid") {
        L.geoJSON(f, { interactive: false, style: { color: "#627d98", weight: 0.8, fill: false } }).addTo(microLayer);
        continue;
      }
      if (p.name) state.names[p.code] = p.name;
      const band = bandOf(p.households);
      const layer = L.geoJSON(f, {
        style: { color: "#102a43", weight: 1.5, fillColor: COLOURS[band], fillOpacity: 0.35, className: "draft-grid" },
      }).getLayers()[0];
      layer.feature = f;
      const label = el("span", `${nameOf(p.code)} · ${T("households_short", { n: p.households })}`);
      layer.bindTooltip(label, { permanent: true, direction: "center", className: "grid-label" });
      layer.on("click", (e) => onGrid(p.code, layer, e));
      layer.addTo(gridLayer);
      state.grids.set(p.code, layer);
    }
  }

  function buildingPopup(p) {
    const box = el("div", null, "plan-popup");
    box.append(el("strong", p.name || p.address || T("building_unnamed", { code: p.code })));
    if (p.name && p.address) box.append(el("div", p.address));
    box.append(el("div", T("building_popup_households", { n: p.households })));
    box.append(el("div", T("building_popup_grid", { grid: p.grid_name || nameOf(p.grid) })));
    return box;
  }

  // the dots grow with the zoom: a community's hundreds of buildings stay apart when it is seen whole
  function dotRadius() { return Math.max(1.2, Math.min(5, 2 + (map.getZoom() - 16) * 1.5)); }
  map.on("zoomend", () => { const r = dotRadius(); for (const m of state.buildings.values()) m.setRadius(r); });

  function drawBuildings(fc) {
    buildingLayer.clearLayers();
    state.buildings.clear();
    for (const f of fc.features) {
      const [lon, lat] = f.geometry.coordinates;
      const m = L.circleMarker([lat, lon], { radius: dotRadius(), weight: 0.8, color: "#102a43", fillColor: "#fff", fillOpacity: 1,
        className: "plan-building" });
      m.feature = f;
      m.on("click", (e) => onBuilding(f.properties, m, e));
      m.addTo(buildingLayer);
      state.buildings.set(f.properties.code, m);
    }
  }

  function row(table, label, value) {
    const tr = document.createElement("tr");
    tr.append(el("th", label), el("td", value));
    table.append(tr);
  }

  function checkText(c) {
    const v = c.values || {};
    const codes = c.codes || [];
    const known = "check_" + c.kind;
    const said = T(known, {
      grid: nameOf(codes[0] || ""), other: nameOf(codes[1] || ""), households: num(v.households ?? c.households ?? 0),
      lo: v.lo, hi: v.hi, pieces: v.pieces, pp: v.polsby_popper, area: v.area_m2 !== undefined ? num(v.area_m2) : "",
    });
    return said === known ? T("check_other", { kind: c.kind }) : said;
  }

  function renderSide(d) {
    const m = d.metrics;
    const [lo, hi] = d.settings.grid_households;
    const mt = $("metrics").tBodies[0];
    mt.replaceChildren();
    row(mt, T("m_grids"), T("m_grids_value", { n: m.grids, lo, hi }));
    row(mt, T("m_within"), pct(m.grids_within_bounds));
    row(mt, T("m_contiguous"), pct(m.grids_contiguous));
    row(mt, T("m_compact"), m.mean_polsby_popper.toFixed(3));
    if (m.boundary_along_streets !== undefined) row(mt, T("m_streets"), pct(m.boundary_along_streets));
    row(mt, T("m_households"), `${m.grid_households_min}–${m.grid_households_max}`);
    const [mlo, mhi] = d.settings.micro_households;
    row(mt, T("m_micro"), T("m_micro_value", { n: m.micro_grids, share: pct(m.micro_grids_within_bounds), lo: mlo, hi: mhi }));

    const checks = $("checks");
    checks.replaceChildren();
    for (const c of d.checks) {
      const li = el("li", checkText(c), "problem");
      li.dataset.kind = c.kind;
      if (c.location) {
        li.style.cursor = "pointer";
        li.addEventListener("click", () => map.setView([c.location[1], c.location[0]], 18));
      }
      checks.append(li);
    }
    $("checks-count").textContent = d.checks.length ? `(${d.checks.length})` : T("checks_none");

    const im = d.impact;
    const ul = $("impact");
    ul.replaceChildren();
    const items = [
      T("impact_households", { n: num(im.households_moved), share: pct(im.households_keep_grid) }),
      T("impact_grids", { unchanged: im.grids.unchanged, changed: im.grids.changed, new: im.grids.new, retired: im.grids.retired.length }),
      T("impact_workers", { n: im.workers.length }),
    ];
    if (im.grids_without_worker.length) {
      items.push(T("impact_uncovered", { grids: im.grids_without_worker.map(nameOf).join("、") }));
    }
    items.push(T("impact_incidents", { n: im.open_incidents.length }), T("impact_visits", { n: im.patrol_visits.length }));
    for (const w of im.workers.slice(0, 8)) {
      items.push("· " + T(w.change === "retired" ? "impact_retired" : "impact_redrawn",
        { name: w.name, duty: word("duty_", w.duty), area: nameOf(w.area.slice(0, d.community.length + 3)) }));
    }
    for (const text of items) ul.append(el("li", text));

    const gt = $("grids").tBodies[0];
    gt.replaceChildren();
    for (const g of d.grids) {
      const tr = document.createElement("tr");
      for (const v of [nameOf(g.code), String(g.households), g.polsby_popper.toFixed(2), word("grid_", g.status)]) tr.append(el("td", v));
      tr.className = bandOf(g.households);
      tr.title = g.code;
      tr.addEventListener("click", () => { const l = state.grids.get(g.code); if (l) map.fitBounds(l.getBounds()); });
      gt.append(tr);
    }
  }

  // --- tools ----------------------------------------------------------------

  function setTool(tool) {
    state.tool = state.tool === tool ? null : tool;
    state.picked = [];
    state.vertices = [];
    state.target = null;
    sketch.clearLayers();
    map.closePopup();
    document.querySelectorAll("[data-tool]").forEach((b) => {
      b.classList.toggle("active", b.dataset.tool === state.tool);
      b.setAttribute("aria-pressed", String(b.dataset.tool === state.tool));
    });
    // split, merge and redraw want grids: the building dots let the clicks through to the grid under them
    map.getContainer().classList.toggle("buildings-pass", GRID_TOOLS.has(state.tool));
    map.getContainer().dataset.tool = state.tool || "";
    $("tool-help").textContent = state.tool ? T("help_" + state.tool) : "";
    $("tool-apply").hidden = state.tool !== "redraw";
    $("tool-cancel").hidden = !state.tool;
    for (const m of state.buildings.values()) m.setStyle({ fillColor: "#fff" });
    for (const l of state.grids.values()) l.setStyle({ weight: 1.5 });
  }

  async function edit(body) {
    await busy(T("checking"), async () => {
      const id = state.draft.id;
      const draft = await api("POST", `/api/v1/plans/${id}/edits`, { ...body, revision: state.draft.revision });
      const [shapes, buildings] = await Promise.all([
        api("GET", `/api/v1/plans/${id}/geojson`), api("GET", `/api/v1/plans/${id}/geojson?which=buildings`)]);
      setTool(null);
      show(draft, shapes, null, buildings);
      await listDrafts(id);
    });
  }

  function onBuilding(p, marker, e) {
    if (e) L.DomEvent.stopPropagation(e);
    if (GRID_TOOLS.has(state.tool)) {
      // a click that reached the dot after all (a keyboard, a script): it is meant for the grid beneath
      const layer = state.grids.get(p.grid);
      if (layer) onGrid(p.grid, layer, e);
      return;
    }
    if (state.tool !== "move") {
      marker.bindPopup(buildingPopup(p), { autoPan: true }).openPopup();
      return;
    }
    const at = state.picked.indexOf(p.code);
    if (at >= 0) {
      state.picked.splice(at, 1);
      marker.setStyle({ fillColor: "#fff" });
    } else {
      state.picked.push(p.code);
      marker.setStyle({ fillColor: "#f0b429" });
    }
    $("tool-help").textContent = T("picked_buildings", { n: state.picked.length });
  }

  function onGrid(code, layer, e) {
    if (e && e.originalEvent) L.DomEvent.stopPropagation(e);
    if (state.busy) return;
    if (state.tool === "move" && state.picked.length) {
      edit({ op: "move", buildings: state.picked.slice(), to: code });
    } else if (state.tool === "split") {
      edit({ op: "split", grid: code });
    } else if (state.tool === "merge") {
      if (state.picked.includes(code)) return;
      state.picked.push(code);
      layer.setStyle({ weight: 4 });
      if (state.picked.length === 2) edit({ op: "merge", grids: state.picked.slice() });
      else $("tool-help").textContent = T("merge_next", { grid: nameOf(code) });
    } else if (state.tool === "redraw" && !state.target) {
      state.target = code;
      layer.setStyle({ weight: 4 });
      $("tool-help").textContent = T("redraw_next", { grid: nameOf(code) });
    } else if (state.tool === "redraw" && e && e.latlng) {
      addVertex(e.latlng);
    } else if (!state.tool) {
      const p = layer.feature.properties;
      const box = el("div", null, "plan-popup");
      box.append(el("strong", nameOf(p.code)));
      box.append(el("div", T("grid_popup_counts", { households: p.households, buildings: p.buildings, micro: p.micro_grids ?? "–" })));
      box.append(el("div", T("grid_popup_shape", { pp: Number(p.polsby_popper).toFixed(2), status: word("grid_", p.status) })));
      layer.bindPopup(box).openPopup(e && e.latlng);
    }
  }

  function addVertex(latlng) {
    state.vertices.push([latlng.lng, latlng.lat]);
    sketch.clearLayers();
    L.polygon(state.vertices.map(([x, y]) => [y, x]), { color: "#f0b429", weight: 2, dashArray: "4 3", interactive: false }).addTo(sketch);
  }

  map.on("click", (e) => { if (state.tool === "redraw" && state.target) addVertex(e.latlng); });
  document.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => setTool(b.dataset.tool)));
  $("tool-cancel").addEventListener("click", () => setTool(null));
  $("tool-apply").addEventListener("click", () => {
    if (!state.target || state.vertices.length < 3) {
      say(T("redraw_short"), "error");
      return;
    }
    const ring = state.vertices.concat([state.vertices[0]]);
    edit({ op: "redraw", grid: state.target, polygon: { type: "Polygon", coordinates: [ring] } });
  });

  async function create(method) {
    await busy(T(method === "generate" ? "generating" : method === "rebalance" ? "rebalancing" : "copying"), async () => {
      const draft = await api("POST", "/api/v1/plans", { community: $("community").value, method });
      await listDrafts(draft.id);
      await openDraft(draft.id);
    });
  }

  $("do-generate").addEventListener("click", () => create("generate"));
  $("do-rebalance").addEventListener("click", () => create("rebalance"));
  $("do-copy").addEventListener("click", () => create("copy"));
  $("drafts").addEventListener("change", (e) => { if (e.target.value) busy(T("loading"), () => openDraft(e.target.value)); });
  $("community").addEventListener("change", () => busy(T("loading"), () => listDrafts()));

  // --- publishing: one dialog that asks for each grid left without a worker, and shows who moves ----------

  const dialog = $("publish-dialog");
  const publishing = { uncovered: [], when: null };

  async function workers() {
    if (state.workers) return state.workers;
    const data = await api("GET", "/api/v1/people?active=true");
    const community = state.draft.community;
    const local = (w) => (w.assignments || []).some((a) => a.area.startsWith(community));
    state.workers = data.people.filter((w) => w.role === "grid_worker" || w.role === "grid_leader")
      .sort((a, b) => (local(b) - local(a)) || a.name.localeCompare(b.name, "zh-CN"));
    return state.workers;
  }

  function workerSelect(grid) {
    const sel = el("select");
    sel.name = "worker-" + grid;
    sel.dataset.grid = grid;
    sel.setAttribute("aria-label", nameOf(grid));
    const none = el("option", T("publish_pick"));
    none.value = "";
    sel.append(none);
    for (const w of state.workers || []) {
      const held = (w.assignments || []).map((a) => nameOf(a.area.slice(0, state.draft.community.length + 3)));
      const where = held.length ? [...new Set(held)].join("、") : T("publish_worker_free");
      const o = el("option", T("publish_worker_option", { name: w.name, role: cfg.lang === "en" ? w.role_name_en : w.role_name, where }));
      o.value = w.code;
      sel.append(o);
    }
    return sel;
  }

  function renderUncovered(list) {
    publishing.uncovered = list;
    const body = $("publish-uncovered").tBodies[0];
    body.replaceChildren();
    $("publish-uncovered").hidden = !list.length;
    $("publish-uncovered-text").textContent = list.length ? T("publish_uncovered", { n: list.length }) : T("publish_uncovered_none");
    if (list.length && state.workers && !state.workers.length) $("publish-uncovered-text").textContent += " " + T("no_workers");
    for (const u of list) {
      const tr = document.createElement("tr");
      tr.dataset.grid = u.grid;
      const sel = workerSelect(u.grid);
      const tick = el("input");
      tick.type = "checkbox";
      tick.name = "accept-" + u.grid;
      tick.dataset.grid = u.grid;
      const label = el("label", null, "tick");
      label.append(tick, document.createTextNode(" " + T("accept_uncovered_label")));
      sel.addEventListener("change", () => { if (sel.value) tick.checked = false; ready(); });
      tick.addEventListener("change", () => { if (tick.checked) sel.value = ""; ready(); });
      const sel_td = el("td");
      sel_td.append(sel);
      const tick_td = el("td");
      tick_td.append(label);
      tr.append(el("th", nameOf(u.grid)), el("td", num(u.households)), sel_td, tick_td);
      body.append(tr);
    }
    ready();
  }

  function choices() {
    const named = {};
    const accepted = [];
    for (const tr of $("publish-uncovered").tBodies[0].rows) {
      const grid = tr.dataset.grid;
      const sel = tr.querySelector("select");
      const tick = tr.querySelector("input[type=checkbox]");
      if (sel.value) named[grid] = sel.value;
      else if (tick.checked) accepted.push(grid);
    }
    return { named, accepted };
  }

  function ready() {
    const { named, accepted } = choices();
    const open = publishing.uncovered.filter((u) => !(u.grid in named) && !accepted.includes(u.grid));
    const findings = state.draft.checks.length && !$("publish-ack").checked;
    $("publish-confirm").disabled = Boolean(open.length || findings);
    $("publish-confirm").title = open.length || findings ? T("publish_still_open") : "";
    return !open.length && !findings;
  }

  async function openPublish() {
    const d = state.draft;
    const value = $("effective").value;
    publishing.when = cityToIso(value) || new Date().toISOString();
    $("publish-problem").textContent = "";
    $("publish-title").textContent = T("publish_title", { id: d.id, community: d.community_name || d.community });
    $("publish-when").textContent = T("publish_when", { when: cityTime(publishing.when), tz: cfg.timezone });
    // the findings, to acknowledge
    $("publish-findings").hidden = !d.checks.length;
    $("publish-ack").checked = false;
    $("publish-findings-text").textContent = T("publish_findings", { n: d.checks.length });
    const fl = $("publish-findings-list");
    fl.replaceChildren(...d.checks.slice(0, 6).map((c) => el("li", checkText(c))));
    if (d.checks.length > 6) fl.append(el("li", T("publish_findings_more", { n: d.checks.length - 6 })));
    // the households that change grid, by name
    const moves = d.impact.moves || [];
    $("publish-moves-text").textContent = moves.length ? T("publish_moves", { n: num(d.impact.households_moved) }) : T("publish_moves_none");
    const ml = $("publish-moves");
    ml.replaceChildren(...moves.slice(0, 12).map((m) => el("li", T("move_line", {
      from: nameOf(m.from), to: nameOf(m.to),
      households: num(m.households), buildings: m.buildings }))));
    if (moves.length > 12) ml.append(el("li", T("publish_moves_more", { n: moves.length - 12 })));
    $("publish-other").textContent = [T("impact_incidents", { n: d.impact.open_incidents.length }),
      T("impact_visits", { n: d.impact.patrol_visits.length })].join("；");
    const households = Object.fromEntries(d.grids.map((g) => [g.code, g.households]));
    const list = (d.impact.grids_without_worker || []).map((g) => ({ grid: g, households: households[g] ?? 0 }));
    if (list.length) {
      try { await workers(); } catch (err) { $("publish-problem").textContent = err.message; }
    }
    renderUncovered(list);
    dialog.showModal();
    document.body.dataset.publishOpen = "1";
  }

  async function confirmPublish() {
    if (!ready()) return;
    const { named, accepted } = choices();
    const body = { effective_from: publishing.when, accept_warnings: state.draft.checks.length > 0,
                   workers: named, accept_uncovered: accepted };
    $("publish-confirm").disabled = true;
    $("publish-problem").textContent = "";
    document.body.dataset.busy = "1";
    try {
      const draft = await api("POST", `/api/v1/plans/${state.draft.id}/publish`, body);
      dialog.close();
      document.body.dataset.publishOpen = "0";
      state.workers = null;
      show(draft, null, null, null);
      await listDrafts(draft.id);
    } catch (err) {
      const report = err.problem && err.problem.report;
      if (err.status === 409 && report && report.uncovered) {
        // someone's assignment ended since the draft was read: the grids uncovered now, asked for again
        for (const u of report.uncovered) if (u.name) state.names[u.grid] = u.name;
        await workers().catch(() => null);
        renderUncovered(report.uncovered.concat(publishing.uncovered.filter((u) => !report.uncovered.some((r) => r.grid === u.grid))));
        $("publish-problem").textContent = err.message + " " + T("publish_refreshed");
      } else {
        $("publish-problem").textContent = err.message;
      }
      ready();
    } finally {
      document.body.dataset.busy = "0";
    }
  }

  $("do-publish").addEventListener("click", () => { if (state.draft && !state.busy) openPublish(); });
  $("publish-ack").addEventListener("change", ready);
  $("publish-cancel").addEventListener("click", () => { dialog.close(); document.body.dataset.publishOpen = "0"; });
  $("publish-form").addEventListener("submit", (e) => { e.preventDefault(); confirmPublish(); });

  // start: the community and draft in the address, else the first community and its newest draft
  (async () => {
    $("effective").value = cityWall(Date.now() + 3600 * 1000).slice(0, 14) + "00";
    const params = new URLSearchParams(window.location.search);
    if (params.get("community")) $("community").value = params.get("community");
    await busy(T("loading"), async () => {
      await listDrafts(params.get("draft"));
      const id = params.get("draft") || ($("drafts").options[1] && $("drafts").options[1].value);
      if (id) {
        $("drafts").value = id;
        await openDraft(id);
      } else {
        say(T("pick_community"));
      }
    });
    document.body.dataset.loaded = "1";
  })();
})();
