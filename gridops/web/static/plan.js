// The planner's page: a draft's grids over the grids in force, coloured by households, with the
// edit tools, the checks and the impact. Everything goes through /api/v1/plans; every text from
// the server goes in through textContent, never as HTML.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("gridops-config").textContent);
  const $ = (id) => document.getElementById(id);
  const COLOURS = { under: "#4098d7", within: "#3ebd93", over: "#e12d39" };
  const HELP = {
    move: "点击楼栋（可多选），再点击目标网格。Click buildings (several if you like), then the grid they go to.",
    split: "点击要拆分的网格。Click the grid to split.",
    merge: "依次点击两个相邻网格，后者并入前者。Click two grids: the second joins the first.",
    redraw: "先点击网格，再在地图上逐点画出新边界，然后应用。Click the grid, then its new boundary point by point, then Apply.",
  };

  const state = {
    draft: null, grids: new Map(), buildings: new Map(), tool: null, picked: [], vertices: [], target: null,
    busy: false,
  };
  window.gridopsPlanState = state;

  const map = L.map("map", { preferCanvas: false, zoomControl: true });
  state.map = map;
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { maxZoom: 20 }).addTo(map);
  }
  const oldLayer = L.layerGroup().addTo(map);
  const microLayer = L.layerGroup().addTo(map);
  const gridLayer = L.layerGroup().addTo(map);
  const buildingLayer = L.layerGroup().addTo(map);
  const sketch = L.layerGroup().addTo(map);
  L.control.layers(null, { "现行网格 In force": oldLayer, "草案网格 Draft grids": gridLayer,
    "微网格 Micro-grids": microLayer, "楼栋 Buildings": buildingLayer }, { collapsed: false }).addTo(map);
  map.setView([30.62, 104.1], 15);

  const api = window.gridopsApi(cfg.pageHeader);

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

  // --- drafts ---------------------------------------------------------------

  async function listDrafts(selectId) {
    const community = $("community").value;
    const data = await api("GET", "/api/v1/plans?community=" + encodeURIComponent(community));
    const sel = $("drafts");
    sel.replaceChildren();
    const none = document.createElement("option");
    none.value = "";
    none.textContent = "—";
    sel.append(none);
    for (const d of data.drafts) {
      const o = document.createElement("option");
      o.value = String(d.id);
      o.textContent = `#${d.id} ${d.method} · ${d.status} · rev ${d.revision} · ${d.metrics.grids || 0} grids`;
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
    const url = new URL(window.location.href);
    url.searchParams.set("draft", draft.id);
    url.searchParams.set("community", draft.community);
    window.history.replaceState(null, "", url);
    if (shapes) drawDraft(shapes);
    if (old) {
      oldLayer.clearLayers();
      L.geoJSON(old, { interactive: false, style: { color: "#d9822b", weight: 3, dashArray: "7 5", fill: false } }).addTo(oldLayer);
    }
    if (buildings) drawBuildings(buildings);
    renderSide(draft);
    if (first && gridLayer.getLayers().length) {
      map.fitBounds(L.featureGroup(gridLayer.getLayers()).getBounds(), { padding: [20, 20] });
    }
    const editable = draft.status === "draft";
    document.querySelectorAll("[data-tool], #do-publish").forEach((b) => { b.disabled = !editable; });
    document.body.dataset.draft = String(draft.id);
    document.body.dataset.revision = String(draft.revision);
    if (draft.published) {
      say(`已发布 Published: version ${draft.published.version}, from ${draft.published.effective_from}`, "ok");
    } else {
      say(`草案 #${draft.id} · ${draft.status} · rev ${draft.revision}`, "ok");
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
      const band = bandOf(p.households);
      const layer = L.geoJSON(f, {
        style: { color: "#102a43", weight: 1.5, fillColor: COLOURS[band], fillOpacity: 0.35, className: "draft-grid" },
      }).getLayers()[0];
      layer.feature = f;
      const label = document.createElement("span"); // a code from a planner's file: text, never HTML
      label.textContent = `${String(p.code).slice(-3)} · ${p.households}`;
      layer.bindTooltip(label, { permanent: true, direction: "center", className: "grid-label" });
      layer.on("click", (e) => onGrid(p.code, layer, e));
      layer.addTo(gridLayer);
      state.grids.set(p.code, layer);
    }
  }

  function drawBuildings(fc) {
    buildingLayer.clearLayers();
    state.buildings.clear();
    for (const f of fc.features) {
      const [lon, lat] = f.geometry.coordinates;
      const m = L.circleMarker([lat, lon], { radius: 3, weight: 1, color: "#102a43", fillColor: "#fff", fillOpacity: 1 });
      m.feature = f;
      m.on("click", (e) => { L.DomEvent.stopPropagation(e); onBuilding(f.properties.code, m); });
      m.addTo(buildingLayer);
      state.buildings.set(f.properties.code, m);
    }
  }

  function row(table, label, value) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = label;
    const td = document.createElement("td");
    td.textContent = value;
    tr.append(th, td);
    table.append(tr);
  }

  function pct(x) { return (100 * x).toFixed(1) + "%"; }

  function renderSide(d) {
    const m = d.metrics;
    const mt = $("metrics").tBodies[0];
    mt.replaceChildren();
    row(mt, "网格 Grids", `${m.grids} (${d.settings.grid_households.join("–")} 户)`);
    row(mt, "在范围内 Within bounds", pct(m.grids_within_bounds));
    row(mt, "连通 Contiguous", pct(m.grids_contiguous));
    row(mt, "紧凑度 Mean Polsby-Popper", m.mean_polsby_popper.toFixed(3));
    if (m.boundary_along_streets !== undefined) row(mt, "沿街边界 Boundary along streets", pct(m.boundary_along_streets));
    row(mt, "户数 Households per grid", `${m.grid_households_min}–${m.grid_households_max}`);
    row(mt, "微网格 Micro-grids", `${m.micro_grids} (${pct(m.micro_grids_within_bounds)} within ${d.settings.micro_households.join("–")})`);

    const checks = $("checks");
    checks.replaceChildren();
    for (const c of d.checks) {
      const li = document.createElement("li");
      li.className = "problem";
      li.textContent = c.message;
      if (c.location) {
        li.style.cursor = "pointer";
        li.addEventListener("click", () => map.setView([c.location[1], c.location[0]], 18));
      }
      checks.append(li);
    }
    $("checks-count").textContent = d.checks.length ? `(${d.checks.length})` : "(0 — 全部通过 all pass)";

    const im = d.impact;
    const ul = $("impact");
    ul.replaceChildren();
    const items = [
      `户变更网格 Households changing grid: ${im.households_moved} (${pct(im.households_keep_grid)} keep theirs)`,
      `网格 Grids: ${im.grids.unchanged} unchanged, ${im.grids.changed} changed, ${im.grids.new} new, ${im.grids.retired.length} retired`,
      `网格员 Workers affected: ${im.workers.length}` + (im.grids_without_worker.length ? `; grids with no worker: ${im.grids_without_worker.join(", ")}` : ""),
      `在办事件 Open incidents changing grid: ${im.open_incidents.length} (stay with their assignee)`,
      `走访计划 Patrol visits changing grid: ${im.patrol_visits.length}`,
    ];
    for (const w of im.workers.slice(0, 8)) items.push("· " + w.message);
    for (const text of items) {
      const li = document.createElement("li");
      li.textContent = text;
      ul.append(li);
    }

    const gt = $("grids").tBodies[0];
    gt.replaceChildren();
    for (const g of d.grids) {
      const tr = document.createElement("tr");
      for (const v of [g.code, String(g.households), g.polsby_popper.toFixed(2), g.status]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      tr.className = bandOf(g.households);
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
    document.querySelectorAll("[data-tool]").forEach((b) => b.classList.toggle("active", b.dataset.tool === state.tool));
    $("tool-help").textContent = state.tool ? HELP[state.tool] : "";
    $("tool-apply").hidden = state.tool !== "redraw";
    $("tool-cancel").hidden = !state.tool;
    for (const m of state.buildings.values()) m.setStyle({ fillColor: "#fff" });
  }

  async function edit(body) {
    await busy("检查中 Checking", async () => {
      const id = state.draft.id;
      const draft = await api("POST", `/api/v1/plans/${id}/edits`, { ...body, revision: state.draft.revision });
      const [shapes, buildings] = await Promise.all([
        api("GET", `/api/v1/plans/${id}/geojson`), api("GET", `/api/v1/plans/${id}/geojson?which=buildings`)]);
      setTool(null);
      show(draft, shapes, null, buildings);
      await listDrafts(id);
    });
  }

  function onBuilding(code, marker) {
    if (state.tool !== "move") return;
    const at = state.picked.indexOf(code);
    if (at >= 0) {
      state.picked.splice(at, 1);
      marker.setStyle({ fillColor: "#fff" });
    } else {
      state.picked.push(code);
      marker.setStyle({ fillColor: "#f0b429" });
    }
    $("tool-help").textContent = `${state.picked.length} 栋已选 selected — 点击目标网格 now click the grid they go to`;
  }

  function onGrid(code, layer, e) {
    if (e && e.originalEvent) L.DomEvent.stopPropagation(e);
    if (state.tool === "move" && state.picked.length) {
      edit({ op: "move", buildings: state.picked.slice(), to: code });
    } else if (state.tool === "split") {
      edit({ op: "split", grid: code });
    } else if (state.tool === "merge") {
      state.picked.push(code);
      layer.setStyle({ weight: 4 });
      if (state.picked.length === 2) edit({ op: "merge", grids: state.picked.slice() });
      else $("tool-help").textContent = `${code} — 再点击要并入的网格 now the grid that joins it`;
    } else if (state.tool === "redraw" && !state.target) {
      state.target = code;
      layer.setStyle({ weight: 4 });
      $("tool-help").textContent = `${code}: 在地图上点出新边界 click the new boundary's corners, then Apply`;
    } else if (state.tool === "redraw" && e && e.latlng) {
      addVertex(e.latlng);
    } else if (!state.tool) {
      const p = layer.feature.properties;
      const box = document.createElement("div");
      box.className = "grid-popup";
      for (const line of [`${p.code}`, `${p.households} 户 households · ${p.buildings} 栋 buildings`,
        `Polsby-Popper ${p.polsby_popper} · ${p.status}`]) {
        const div = document.createElement("div");
        div.textContent = line;
        box.append(div);
      }
      layer.bindPopup(box).openPopup(e && e.latlng);
    }
  }

  function addVertex(latlng) {
    state.vertices.push([latlng.lng, latlng.lat]);
    sketch.clearLayers();
    L.polygon(state.vertices.map(([x, y]) => [y, x]), { color: "#f0b429", weight: 2, dashArray: "4 3" }).addTo(sketch);
  }

  map.on("click", (e) => { if (state.tool === "redraw" && state.target) addVertex(e.latlng); });
  document.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => setTool(b.dataset.tool)));
  $("tool-cancel").addEventListener("click", () => setTool(null));
  $("tool-apply").addEventListener("click", () => {
    if (!state.target || state.vertices.length < 3) {
      say("先选网格并至少画三个点 Pick the grid and draw at least three points.", "error");
      return;
    }
    const ring = state.vertices.concat([state.vertices[0]]);
    edit({ op: "redraw", grid: state.target, polygon: { type: "Polygon", coordinates: [ring] } });
  });

  async function create(method) {
    await busy(method === "generate" ? "生成中 Generating" : method === "rebalance" ? "调平中 Rebalancing" : "复制中 Copying", async () => {
      const draft = await api("POST", "/api/v1/plans", { community: $("community").value, method });
      await listDrafts(draft.id);
      await openDraft(draft.id);
    });
  }

  $("do-generate").addEventListener("click", () => create("generate"));
  $("do-rebalance").addEventListener("click", () => create("rebalance"));
  $("do-copy").addEventListener("click", () => create("copy"));
  $("drafts").addEventListener("change", (e) => { if (e.target.value) busy("载入 Loading", () => openDraft(e.target.value)); });
  $("community").addEventListener("change", () => busy("载入 Loading", () => listDrafts()));
  $("do-publish").addEventListener("click", () => {
    const value = $("effective").value;
    const when = value ? new Date(value) : new Date();
    if (!window.confirm(`发布草案 #${state.draft.id}，${when.toLocaleString()} 生效？ Publish from ${when.toISOString()}?`)) return;
    const findings = state.draft.checks.length;
    if (findings && !window.confirm(`检查发现 ${findings} 个问题，仍要发布？ The checks found ${findings} problem(s); publish anyway?`)) return;
    // each grid nobody would answer for is named, and publishing accepts exactly those
    const households = Object.fromEntries(state.draft.grids.map((g) => [g.code, g.households]));
    const askUncovered = (grids) => window.confirm(
      `发布后以下 ${grids.length} 个网格无人负责，其事件将转社区管理员：` +
      grids.map((u) => `${u.grid}（${u.households} 户）`).join("、") + `。仍要发布？\n` +
      `${grids.length} grid(s) would have nobody answering for them; publish anyway?`);
    const unstaffed = (state.draft.impact.grids_without_worker || []).map((g) => ({ grid: g, households: households[g] ?? 0 }));
    if (unstaffed.length && !askUncovered(unstaffed)) return;
    busy("发布中 Publishing", async () => {
      const path = `/api/v1/plans/${state.draft.id}/publish`;
      const body = { effective_from: when.toISOString(), accept_warnings: findings > 0,
                     accept_uncovered: unstaffed.map((u) => u.grid) };
      let draft;
      for (;;) {
        try {
          draft = await api("POST", path, body);
          break;
        } catch (err) {
          const report = err.status === 422 && err.problem && err.problem.report;
          if (report && report.warnings && !body.accept_warnings) {
            const n = report.warnings.length;
            if (!window.confirm(`检查发现 ${n} 个问题，仍要发布？ The checks found ${n} problem(s); publish anyway?`)) {
              say(err.message, "error");
              return;
            }
            body.accept_warnings = true;
          } else if (report && report.uncovered && !report.uncovered.every((u) => body.accept_uncovered.includes(u.grid))) {
            // someone's assignment ended since the draft was read: ask again about the grids now uncovered
            if (!askUncovered(report.uncovered)) {
              say(err.message, "error");
              return;
            }
            body.accept_uncovered = [...body.accept_uncovered, ...report.uncovered.map((u) => u.grid)];
          } else {
            throw err;
          }
        }
      }
      show(draft, null, null, null);
      await listDrafts(draft.id);
    });
  });

  // start: the community and draft in the address, else the first community and its newest draft
  (async () => {
    const params = new URLSearchParams(window.location.search);
    if (params.get("community")) $("community").value = params.get("community");
    await busy("载入 Loading", async () => {
      await listDrafts(params.get("draft"));
      const id = params.get("draft") || ($("drafts").options[1] && $("drafts").options[1].value);
      if (id) {
        $("drafts").value = id;
        await openDraft(id);
      } else {
        say("选择社区并生成草案 Pick a community and generate a draft.");
      }
    });
    document.body.dataset.loaded = "1";
  })();
})();
