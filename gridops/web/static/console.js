// The dispatch console (/map): the queue of incidents beside the live map, a new report announced (highlighted,
// a chime made with WebAudio that can be muted, a count of the unseen), and one incident's panel with every step
// the signed-in role may take. The steps a panel offers are the API's `allowed` (gridops.incidents.loop decides
// them); taking one is a POST to the same step endpoint every client uses. All of it kept current by the live
// feed (/api/v1/stream). Incident text is untrusted: everything shown goes in through textContent, never as HTML.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const bounds = JSON.parse(document.getElementById("console-boundaries").textContent);
  const T = window.gridopsT;
  const api = window.gridopsApi(cfg.pageHeader);
  const OPEN = cfg.open;
  const MUTE_KEY = "gridops.console.muted";
  const MAX_ROWS = 400;
  const URGENCY_RANK = { critical: 0, urgent: 1, normal: 2, low: 3 };
  const STATUS_COLOURS = {
    reported: "#e03131", accepted: "#e8590c", assessed: "#f08c00", dispatched: "#1971c2", in_progress: "#1098ad",
    resolved: "#2f9e44", verified: "#5c940d", returned: "#9c36b5", reopened: "#c2255c", escalated: "#862e9c",
    closed: "#868e96", followed_up: "#adb5bd", merged: "#ced4da",
  };
  const RADIUS = { critical: 10, urgent: 8, normal: 6, low: 5 };
  // steps done on site with the phone (position, photos): the panel says so instead of offering them
  const FIELD_STEPS = ["check_in", "resolve"];

  const statusName = Object.fromEntries(cfg.statuses.map((s) => [s.code, s.name]));
  const urgencyName = Object.fromEntries(cfg.urgencies.map((u) => [u.code, u.name]));
  const category = Object.fromEntries(cfg.categories.map((c) => [c.code, c]));
  const gridName = Object.fromEntries(bounds.grids.features.map((f) => [f.properties.code, f.properties.name || f.properties.code]));
  const stepName = (a) => cfg.steps[a] || a;
  const skew = Date.parse(cfg.now) - Date.now(); // the server's clock less this screen's
  const serverNow = () => Date.now() + skew;

  const localTime = new Intl.DateTimeFormat(cfg.lang, {
    timeZone: cfg.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const when = (iso) => (iso ? localTime.format(new Date(iso)) : "");

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function button(text, cls) {
    const b = el("button", cls, text);
    b.type = "button";
    return b;
  }

  const state = {
    items: new Map(), markers: new Map(), newIds: new Set(), scope: "open", loaded: false, panelId: null,
    panelAllowed: null, workers: [], chimes: 0, announced: 0,
  };
  state.props = state.items; // the names the map's earlier tests and bench/maps.py read
  window.gridopsLiveState = state;

  // --- the map ---------------------------------------------------------------------------------------

  const map = window.gridopsBasemap.map("console-map", { zoomControl: true, zoomSnap: 0.25 });
  // incidents above every boundary layer: a click on a marker is never taken by a grid or micro-grid
  map.createPane("incidents").style.zIndex = 630;
  map.createPane("selected").style.zIndex = 640;
  map.getPane("selected").style.pointerEvents = "none";
  const micro = L.geoJSON(bounds.micro_grids, {
    interactive: false, style: { fill: false, color: "#829ab1", weight: 0.8, dashArray: "3 3" },
  });
  const grids = L.geoJSON(bounds.grids, {
    style: { fillColor: "#d9e2ec", fillOpacity: 0.12, color: "#334e68", weight: 1.5 },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindTooltip(el("span", null, (p.name || p.code) + (p.worker ? " · " + p.worker : "")),
        { permanent: true, direction: "center", className: "grid-label" });
    },
  }).addTo(map);
  const cluster = L.markerClusterGroup({
    maxClusterRadius: 45, showCoverageOnHover: false, chunkedLoading: true, clusterPane: "incidents",
  }).addTo(map);
  state.cluster = cluster;
  state.boundaries = { grids, micro };
  const workersLayer = L.layerGroup().addTo(map);
  L.control.layers(null, {
    [T("l_grids")]: grids, [T("l_micro")]: micro, [T("l_incidents")]: cluster, [T("l_workers")]: workersLayer,
  }, { collapsed: true }).addTo(map);
  map.fitBounds(grids.getBounds(), { padding: [10, 10] });
  let selectedRing = null;

  function labels() {
    const show = map.getZoom() >= 17;
    grids.eachLayer((layer) => (show ? layer.openTooltip() : layer.closeTooltip()));
  }
  map.on("zoomend", labels);
  labels();

  function style(p) {
    return {
      pane: "incidents", radius: RADIUS[p.urgency] || 6, color: p.overdue ? "#000" : "#fff", weight: p.overdue ? 3 : 1.5,
      dashArray: p.overdue ? "3 2" : null, fillColor: STATUS_COLOURS[p.status] || "#495057", fillOpacity: 0.9,
    };
  }

  // --- the incidents -----------------------------------------------------------------------------------

  function scopeQuery(scope) {
    return scope === "open" || OPEN.includes(scope) ? "open" : scope;
  }

  function inScope(p) {
    return state.scope === "open" ? OPEN.includes(p.status) : p.status === state.scope;
  }

  function fromFeature(f) {
    const p = f.properties;
    return {
      id: p.id, status: p.status, category: p.category, urgency: p.urgency, description: p.description || "",
      reported_at: p.reported_at, due_at: p.due_at, overdue: p.overdue, supervised: p.supervised, grid: p.grid,
      grid_name: p.grid_name || gridName[p.grid] || p.grid, address: p.address || "", assignee: p.assignee,
      lat: f.geometry.coordinates[1], lon: f.geometry.coordinates[0],
    };
  }

  function fromView(v) {
    return {
      id: v.id, status: v.status, category: v.category.code, urgency: v.category.urgency, description: v.description || "",
      reported_at: v.reported_at, due_at: v.due_at, overdue: v.overdue, supervised: !!v.supervised_at, grid: v.grid.code,
      grid_name: v.grid.name || gridName[v.grid.code] || v.grid.code, address: v.address || "", assignee: v.assignee,
      lat: v.location.lat, lon: v.location.lon,
    };
  }

  function categoryName(code) {
    return (category[code] && category[code].name) || code;
  }

  function upsert(p) {
    let marker = state.markers.get(p.id);
    if (!inScope(p)) {
      remove(p.id);
      return;
    }
    state.items.set(p.id, p);
    const at = [p.lat, p.lon];
    if (marker) {
      marker.setStyle(style(p));
      marker.setLatLng(at);
      cluster.refreshClusters(marker);
    } else {
      marker = L.circleMarker(at, style(p));
      marker.on("click", () => select(p.id, false));
      marker.bindTooltip(() => tooltipText(state.items.get(p.id)));
      state.markers.set(p.id, marker);
      cluster.addLayer(marker);
    }
  }

  function remove(id) {
    const marker = state.markers.get(id);
    if (marker) cluster.removeLayer(marker);
    state.markers.delete(id);
    state.items.delete(id);
  }

  function tooltipText(p) {
    if (!p) return "";
    return el("span", null, `#${p.id} ${categoryName(p.category)} · ${statusName[p.status] || p.status}` +
      (p.overdue ? " · " + T("overdue") : "") + " · " + p.grid_name);
  }

  async function loadAll() {
    const q = new URLSearchParams({ status: scopeQuery(state.scope), limit: state.scope === "open" ? "50000" : "2000" });
    setCount(T("loading"));
    const fc = await api("GET", "/api/v1/incidents?" + q.toString());
    cluster.clearLayers();
    state.markers.clear();
    state.items.clear();
    state.total = fc.total;
    state.loadedCount = fc.features.length; // closed ones: the newest only
    for (const f of fc.features) upsert(fromFeature(f));
    document.body.dataset.incidents = String(state.markers.size);
    state.loaded = true;
    document.body.dataset.loaded = "1";
    render();
  }

  async function refresh(id) {
    try {
      const v = await api("GET", `/api/v1/incidents/${id}`);
      upsert(fromView(v));
      if (state.panelId === id) await showPanel(v); // the panel stays open when the incident leaves the queue
    } catch (err) {
      remove(id); // no longer visible to us
    }
    document.body.dataset.incidents = String(state.markers.size);
    render();
  }

  async function loadWorkers() {
    let fc;
    try {
      fc = await api("GET", "/api/v1/workers");
    } catch (err) {
      return; // a role that does not see workers: the layer stays empty
    }
    state.workers = fc.features.map((f) => f.properties);
    workersLayer.clearLayers();
    for (const f of fc.features) {
      const p = f.properties;
      if (!f.geometry) continue;
      L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]], { // a square: a person, not an incident's dot
        keyboard: false, icon: L.divIcon({ className: "worker-mark" + (p.on_shift ? " on" : ""), iconSize: [9, 9] }),
      }).bindTooltip(el("span", null, `${p.name} · ${p.on_shift ? T("on_shift") : T("off_shift")} · ` +
        T("open_work", { n: p.open_work }))).addTo(workersLayer);
    }
  }

  // --- the queue -----------------------------------------------------------------------------------------

  const form = document.getElementById("queue-filters");
  const list = document.getElementById("queue-list");

  function filters() {
    const d = new FormData(form);
    return {
      q: String(d.get("q") || "").trim().toLowerCase(), status: d.get("status") || "open", category: d.get("category") || "",
      grid: d.get("grid") || "", urgency: d.get("urgency") || "", sort: d.get("sort") || "due",
      overdue: d.get("overdue") === "on", unassigned: d.get("unassigned") === "on",
    };
  }

  function matches(p, f) {
    if (f.status !== "open" && p.status !== f.status) return false;
    if (f.category && p.category !== f.category && (category[p.category] || {}).group !== f.category) return false;
    if (f.grid && p.grid !== f.grid) return false;
    if (f.urgency && p.urgency !== f.urgency) return false;
    if (f.overdue && !p.overdue) return false;
    if (f.unassigned && p.assignee) return false;
    if (f.q) {
      const id = f.q.replace(/^#/, "");
      if (/^\d+$/.test(id) && String(p.id) === id) return true;
      const text = [p.description, p.address, p.grid_name, p.grid, categoryName(p.category), p.assignee ? p.assignee.name : ""]
        .join(" ").toLowerCase();
      if (!f.q.split(/\s+/).every((w) => text.includes(w))) return false;
    }
    return true;
  }

  const SORTS = {
    due: (a, b) => a.due_at.localeCompare(b.due_at) || a.id - b.id,
    reported: (a, b) => b.reported_at.localeCompare(a.reported_at) || b.id - a.id,
    urgency: (a, b) => (URGENCY_RANK[a.urgency] ?? 9) - (URGENCY_RANK[b.urgency] ?? 9) || a.due_at.localeCompare(b.due_at),
  };

  function setCount(text) {
    document.getElementById("queue-count").textContent = text;
  }

  let pending = false;
  function render() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  }

  function draw() {
    const f = filters();
    const now = serverNow();
    for (const p of state.items.values()) p.overdue = OPEN.includes(p.status) && Date.parse(p.due_at) < now; // time passes
    const shown = Array.from(state.items.values()).filter((p) => matches(p, f));
    // the new, unseen reports first, whatever the order: they are what needs eyes now
    shown.sort((a, b) => (state.newIds.has(b.id) - state.newIds.has(a.id)) || SORTS[f.sort](a, b));
    const rows = shown.slice(0, MAX_ROWS).map(row);
    list.replaceChildren(...rows);
    if (!rows.length) list.appendChild(el("li", "empty", T("nothing")));
    const total = state.items.size;
    setCount((shown.length === total ? T("shown_all", { n: shown.length }) : T("shown", { n: shown.length, total })) +
      (shown.length > MAX_ROWS ? " · " + T("more", { n: MAX_ROWS }) : "") +
      (state.total > state.loadedCount ? " · " + T("newest", { n: state.loadedCount, total: state.total }) : ""));
    document.body.dataset.queued = String(shown.length);
  }

  function chip(text, cls) {
    return el("span", "chip " + cls, text);
  }

  function row(p) {
    const li = el("li", "q-row");
    li.dataset.id = String(p.id);
    li.dataset.status = p.status;
    li.tabIndex = 0;
    if (state.newIds.has(p.id)) li.classList.add("is-new");
    if (p.overdue) li.classList.add("is-overdue");
    if (p.id === state.panelId) li.classList.add("is-selected");
    const top = el("div", "q-top");
    top.append(el("b", "q-id", "#" + p.id), el("span", "q-cat", categoryName(p.category)));
    if (state.newIds.has(p.id)) top.appendChild(chip(T("new_badge"), "new"));
    const st = chip(statusName[p.status] || p.status, "status");
    st.style.setProperty("--c", STATUS_COLOURS[p.status] || "#495057");
    top.append(st, chip(urgencyName[p.urgency] || p.urgency, "u-" + p.urgency));
    const where = el("div", "q-where", p.grid_name + (p.address ? " · " + p.address : ""));
    const due = el("div", "q-due");
    due.append(el("span", p.overdue ? "late" : null, T("due", { time: when(p.due_at) }) + (p.overdue ? " · " + T("overdue") : "")));
    if (p.supervised) due.append(" · ", el("span", "supervised", T("supervised")));
    due.append(" · ", el("span", p.assignee ? "who" : "who none", p.assignee ? p.assignee.name : T("unassigned")));
    li.append(top, where, due);
    if (p.description) li.appendChild(el("div", "q-desc", p.description));
    li.addEventListener("click", () => select(p.id, true));
    li.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") select(p.id, true);
    });
    return li;
  }

  form.addEventListener("input", (ev) => {
    if (ev.target.name === "status") {
      const scope = ev.target.value === "open" || OPEN.includes(ev.target.value) ? "open" : ev.target.value;
      if (scope !== state.scope) {
        state.scope = scope;
        loadAll().catch((err) => setCount(T("load_failed", { error: err.message })));
        return;
      }
    }
    render();
  });
  form.addEventListener("submit", (ev) => ev.preventDefault());

  // --- new reports: highlight, chime, count ------------------------------------------------------------

  const newButton = document.getElementById("new-count");
  const soundButton = document.getElementById("sound-toggle");
  let audio = null;

  function muted() {
    try { return window.localStorage.getItem(MUTE_KEY) === "1"; } catch (e) { return false; }
  }
  function showSound() {
    const off = muted();
    soundButton.textContent = off ? T("sound_off") : T("sound_on");
    soundButton.setAttribute("aria-pressed", off ? "false" : "true");
    document.body.dataset.muted = off ? "1" : "0";
  }
  soundButton.addEventListener("click", () => {
    try { window.localStorage.setItem(MUTE_KEY, muted() ? "0" : "1"); } catch (e) { /* private mode: not kept */ }
    showSound();
  });
  showSound();

  // a browser lets a page make sound only after the person has touched it: the context is made on the first touch
  function unlock() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) audio = new Ctx();
    if (audio && audio.state === "suspended") audio.resume().catch(() => {});
  }
  document.addEventListener("pointerdown", unlock, true);
  document.addEventListener("keydown", unlock, true);

  function chime() {
    if (muted() || !audio || audio.state !== "running") return;
    const t0 = audio.currentTime;
    [[880, 0], [660, 0.18]].forEach(([hz, at]) => { // two falling tones, a quarter second
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, t0 + at);
      gain.gain.exponentialRampToValueAtTime(0.25, t0 + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(t0 + at);
      osc.stop(t0 + at + 0.18);
    });
    state.chimes += 1;
    document.body.dataset.chimes = String(state.chimes);
  }

  function showNew() {
    const n = state.newIds.size;
    newButton.dataset.count = String(n);
    newButton.querySelector("b").textContent = String(n);
    newButton.disabled = n === 0;
    newButton.classList.toggle("has-new", n > 0);
    document.title = (n ? `(${n}) ` : "") + document.title.replace(/^\(\d+\) /, "");
  }
  newButton.addEventListener("click", () => {
    const newest = Array.from(state.newIds).sort((a, b) => b - a)[0];
    if (newest !== undefined) select(newest, true);
  });

  async function announce(id) {
    await refresh(id);
    const p = state.items.get(id);
    if (!p) return;
    state.newIds.add(id);
    state.announced += 1;
    showNew();
    render();
    chime();
    document.getElementById("announce").textContent = T("new_report", {
      id, category: categoryName(p.category), grid: p.grid_name,
    });
  }

  // --- the incident's panel ------------------------------------------------------------------------------

  const panel = document.getElementById("incident-panel");
  const lightbox = document.getElementById("lightbox");
  lightbox.addEventListener("click", () => { lightbox.hidden = true; });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") lightbox.hidden = true;
  });

  function select(id, fromQueue) {
    state.panelId = id;
    state.panelAllowed = null;
    if (state.newIds.delete(id)) showNew();
    render();
    const marker = state.markers.get(id);
    if (marker && fromQueue) cluster.zoomToShowLayer(marker, () => {});
    ring(marker);
    panel.hidden = false;
    panel.replaceChildren(el("p", "meta", T("loading")));
    map.invalidateSize();
    openPanel(id);
  }

  function ring(marker) {
    if (selectedRing) map.removeLayer(selectedRing);
    selectedRing = marker ? L.circleMarker(marker.getLatLng(), {
      pane: "selected", radius: 15, color: "#fab005", weight: 4, fill: false, interactive: false,
    }).addTo(map) : null;
  }

  async function openPanel(id) {
    try {
      const v = await api("GET", `/api/v1/incidents/${id}`);
      if (state.panelId === id) showPanel(v);
    } catch (err) {
      if (state.panelId === id) panel.replaceChildren(el("p", "problem", T("load_failed", { error: err.message })));
    }
  }

  function closePanel() {
    state.panelId = null;
    panel.hidden = true;
    ring(null);
    map.invalidateSize();
    render();
  }

  // who took a step, as the history stores it ("command_centre:张三", "system"), in the page's words
  function who(label) {
    if (!label || label === "system") return T("system");
    const at = label.indexOf(":");
    const role = at > 0 ? label.slice(0, at) : "";
    return cfg.roles[role] ? `${cfg.roles[role]} ${label.slice(at + 1)}` : label;
  }

  function field(dl, label, value, cls) {
    if (value === null || value === undefined || value === "") return;
    const dd = el("dd", cls);
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    dl.append(el("dt", null, label), dd);
  }

  let historyAsked = 0;
  async function showPanel(v) {
    if (state.panelId !== v.id) return;
    const asked = ++historyAsked;
    let events = null;
    try {
      events = (await api("GET", `/api/v1/incidents/${v.id}/history`)).events;
    } catch (err) {
      events = null;
    }
    if (asked !== historyAsked || state.panelId !== v.id) return; // a newer answer is on its way
    const keepSteps = state.panelAllowed !== null && panel.querySelector(".steps") &&
      JSON.stringify(state.panelAllowed) === JSON.stringify(v.allowed || []) && panel.dataset.id === String(v.id);
    const oldSteps = keepSteps ? panel.querySelector(".steps") : null;
    const parts = [];

    const head = el("div", "panel-head");
    head.append(el("h2", null, `#${v.id} ${categoryName(v.category.code)}`));
    const close = button("×", "panel-close");
    close.title = T("close_panel");
    close.setAttribute("aria-label", T("close_panel"));
    close.addEventListener("click", closePanel);
    head.appendChild(close);
    parts.push(head);

    const badges = el("p", "badges");
    const st = chip(statusName[v.status] || v.status, "status");
    st.id = "panel-status";
    st.dataset.status = v.status;
    st.style.setProperty("--c", STATUS_COLOURS[v.status] || "#495057");
    badges.append(st, chip(urgencyName[v.category.urgency] || v.category.urgency, "u-" + v.category.urgency));
    if (v.overdue) badges.appendChild(chip(T("overdue"), "late"));
    if (v.supervised_at) badges.appendChild(chip(T("supervised"), "supervised"));
    parts.push(badges);

    const dl = el("dl", "facts");
    field(dl, T("p_grid"), v.grid.name || gridName[v.grid.code] || v.grid.code);
    field(dl, T("p_address"), v.address);
    field(dl, T("p_reported"), when(v.reported_at));
    field(dl, T("p_due"), when(v.due_at) + (v.overdue ? " · " + T("overdue") : ""), v.overdue ? "late" : null);
    field(dl, T("p_assignee"), v.assignee ? v.assignee.name : T("unassigned"));
    field(dl, T("p_reason"), v.routing_reason);
    field(dl, T("p_tier"), cfg.tiers[v.tier] || v.tier);
    const reporter = v.reporter || {};
    field(dl, T("p_reporter"), [reporter.name || T("anonymous"), reporter.contact].filter(Boolean).join(" · "));
    if (v.rating) field(dl, T("p_rating"), "★".repeat(v.rating) + "☆".repeat(5 - v.rating));
    parts.push(dl);
    if (v.description) parts.push(el("p", "desc", v.description));

    if (v.flags && v.flags.length) { // 虚假办结 checks: what the resolution's photos say against it
      const flags = el("ul", "flags");
      for (const f of v.flags) flags.appendChild(el("li", "problem", "⚠ " + f.message));
      parts.push(el("h3", null, T("p_flags")), flags);
    }
    if (v.photos && v.photos.length) {
      const strip = el("div", "photos");
      for (const ph of v.photos) {
        const label = ph.step === "resolve" ? T("photo_resolve") : ph.step === "report" ? T("photo_report") : stepName(ph.step);
        const b = el("button", "photo");
        b.type = "button";
        b.title = label + " · " + T("enlarge");
        if (ph.thumbnail_url) {
          const img = el("img");
          img.src = ph.thumbnail_url;
          img.alt = label;
          img.loading = "lazy";
          b.appendChild(img);
        } else {
          b.textContent = label;
        }
        b.appendChild(el("span", "photo-label", label));
        b.addEventListener("click", () => {
          lightbox.querySelector("img").src = ph.url;
          lightbox.querySelector("img").alt = label;
          lightbox.hidden = false;
        });
        strip.appendChild(b);
      }
      parts.push(el("h3", null, T("p_photos")), strip);
    }

    parts.push(el("h3", null, T("p_steps")));
    parts.push(oldSteps || steps(v));
    state.panelAllowed = v.allowed || [];

    if (events) {
      const ol = el("ol", "history");
      for (const e of events.slice().reverse()) {
        const li = el("li");
        li.append(el("time", null, when(e.at)), " ", el("b", null, stepName(e.action)));
        if (e.to_status && e.to_status !== e.from_status) li.append(" → " + (statusName[e.to_status] || e.to_status));
        li.append(" · " + who(e.actor.label));
        if (e.data && e.data.rating) li.append(" · " + "★".repeat(e.data.rating));
        if (e.note) li.appendChild(el("div", "note", e.note));
        ol.appendChild(li);
      }
      parts.push(el("h3", null, T("p_history")), ol);
    }
    const msg = panel.querySelector(".step-result");
    panel.replaceChildren(...parts);
    if (msg && panel.dataset.id === String(v.id) && !panel.querySelector(".step-result")) panel.querySelector(".steps").appendChild(msg);
    panel.dataset.id = String(v.id);
    panel.dataset.status = v.status;
  }

  // the steps section: a button for each step the API says this reader may take now, each opening its form
  function steps(v) {
    const box = el("div", "steps");
    const allowed = (v.allowed || []).filter((a) => !FIELD_STEPS.includes(a));
    const field = (v.allowed || []).filter((a) => FIELD_STEPS.includes(a));
    const buttons = el("div", "step-buttons");
    const formBox = el("div", "step-form-box");
    for (const a of allowed) {
      const b = button(stepName(a), "step step-" + a);
      b.dataset.step = a;
      b.addEventListener("click", () => {
        buttons.querySelectorAll("button").forEach((x) => x.classList.toggle("active", x === b));
        formBox.replaceChildren(stepForm(v, a));
        const first = formBox.querySelector("[data-first]");
        if (first) first.focus();
      });
      buttons.appendChild(b);
    }
    box.appendChild(buttons);
    for (const a of field) box.appendChild(el("p", "meta", T("field_step", { step: stepName(a) })));
    if (!allowed.length && !field.length) box.appendChild(el("p", "meta", T("no_steps")));
    box.appendChild(formBox);
    return box;
  }

  function stepForm(v, action) {
    const f = el("form", "step-form");
    f.dataset.step = action;
    const status = el("p", "form-status");
    const needsNote = cfg.needsNote.includes(action);
    let rating = null;
    let reached = null;
    let worker = null;
    let target = null;

    if (action === "follow_up") {
      const yes = el("div", "choice");
      const rateRow = stars((n) => { rating = n; });
      const choose = (value, on) => {
        reached = value;
        yes.querySelectorAll("button").forEach((x) => x.classList.toggle("active", x === on));
        rateRow.hidden = !value;
      };
      const r1 = button(T("reached"), "reached-yes");
      const r0 = button(T("not_reached"), "reached-no");
      r1.dataset.first = "1";
      r1.addEventListener("click", () => choose(true, r1));
      r0.addEventListener("click", () => choose(false, r0));
      yes.append(r1, r0);
      f.appendChild(yes);
      rateRow.hidden = true;
      f.appendChild(rateRow);
    } else if (action === "rate") {
      f.appendChild(stars((n) => { rating = n; }));
    }
    if (action === "dispatch" || action === "reassign") {
      const lab = el("label", null, T("worker"));
      worker = el("select");
      worker.name = "worker";
      worker.dataset.first = "1";
      const auto = el("option", null, T("worker_auto"));
      auto.value = "";
      worker.appendChild(auto);
      const here = (w) => (w.areas || []).some((a) => v.grid.code.startsWith(a) || a.startsWith(v.grid.code));
      const sorted = state.workers.slice().sort((a, b) => (here(b) - here(a)) || (a.open_work - b.open_work) || a.name.localeCompare(b.name));
      for (const w of sorted) {
        const o = el("option", null, `${w.name}${here(w) ? " · " + v.grid.name : ""} · ${T("open_work", { n: w.open_work })}` +
          (w.on_shift ? "" : " · " + T("off_shift")));
        o.value = w.code;
        worker.appendChild(o);
      }
      lab.appendChild(worker);
      f.appendChild(lab);
    }
    if (action === "merge") {
      const lab = el("label", null, T("target"));
      target = el("select");
      target.name = "target";
      target.dataset.first = "1";
      const none = el("option", null, T("target_hint"));
      none.value = "";
      target.appendChild(none);
      const near = Array.from(state.items.values()).filter((p) => p.id !== v.id && p.grid === v.grid.code && OPEN.includes(p.status))
        .sort((a, b) => b.id - a.id).slice(0, 50);
      for (const p of near) {
        const o = el("option", null, `#${p.id} ${categoryName(p.category)} · ${statusName[p.status]}`);
        o.value = String(p.id);
        target.appendChild(o);
      }
      lab.appendChild(target);
      f.appendChild(lab);
    }
    const noteLabel = el("label", null, action === "follow_up" ? T("words") : needsNote ? T("note_needed") : T("note"));
    const note = el("textarea");
    note.name = "note";
    note.rows = 2;
    note.placeholder = T("note_hint");
    if (!f.querySelector("[data-first]")) note.dataset.first = "1";
    noteLabel.appendChild(note);
    f.appendChild(noteLabel);
    const row = el("div", "step-actions");
    const go = el("button", "primary", T("submit", { step: stepName(action) }));
    go.type = "submit";
    const cancel = button(T("cancel"), "cancel");
    cancel.addEventListener("click", () => {
      f.closest(".steps").querySelectorAll(".step-buttons button").forEach((x) => x.classList.remove("active"));
      f.remove();
    });
    row.append(go, cancel);
    f.append(row, status);

    f.addEventListener("click", (ev) => { // a choice made: the word about the missing one goes
      if (ev.target.closest("button") && !ev.target.closest("button[type=submit]")) say(status, "", false);
    });
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {};
      const text = note.value.trim();
      if (text) body.note = text;
      if (needsNote && !text) return say(status, T("need_note"), true);
      if (action === "follow_up") {
        if (reached === null) return say(status, T("need_reached"), true);
        body.reached = reached;
        if (reached && !rating) return say(status, T("need_rating"), true);
        if (reached) body.rating = rating;
      }
      if (action === "rate") {
        if (!rating) return say(status, T("need_rating"), true);
        body.rating = rating;
      }
      if (worker && worker.value) body.worker = worker.value;
      if (target) {
        if (!target.value) return say(status, T("need_target"), true);
        body.target = Number(target.value);
      }
      go.disabled = true;
      say(status, T("sending"), false);
      try {
        const done = await api("POST", `/api/v1/incidents/${v.id}/${action}`, body);
        const result = el("p", "step-result ok", T("done", { step: stepName(action), status: statusName[done.status] || done.status }));
        state.panelAllowed = null; // the steps change: drawn anew
        panel.dataset.result = action;
        await refresh(v.id);
        panel.querySelectorAll(".step-result").forEach((x) => x.remove());
        const steps = panel.querySelector(".steps");
        if (steps) steps.appendChild(result);
      } catch (err) {
        go.disabled = false;
        say(status, err.message, true);
      }
    });
    return f;
  }

  function stars(onChoose) {
    const box = el("div", "stars");
    box.appendChild(el("span", "meta", T("rating")));
    for (let n = 1; n <= 5; n++) {
      const b = button("★".repeat(n), "star");
      b.dataset.rating = String(n);
      b.title = T("stars", { n });
      b.setAttribute("aria-label", T("stars", { n }));
      b.addEventListener("click", () => {
        box.querySelectorAll(".star").forEach((x) => x.classList.toggle("active", x === b));
        onChoose(n);
        hint.hidden = n > 2;
      });
      box.appendChild(b);
    }
    const hint = el("span", "hint", T("low_rating"));
    hint.hidden = true;
    box.appendChild(hint);
    return box;
  }

  function say(node, text, bad) {
    node.textContent = text;
    node.className = "form-status " + (bad ? "bad" : "ok");
  }

  // --- live ---------------------------------------------------------------------------------------------

  const liveState = document.getElementById("live-state");
  function listen() {
    if (!window.EventSource) return;
    const feed = window.gridopsFeed ? window.gridopsFeed() : new EventSource("/api/v1/stream"); // shared with the bell
    const shown = (s) => {
      liveState.dataset.state = s;
      liveState.textContent = s === "live" ? T("live") : T("reconnecting");
    };
    feed.addEventListener("open", () => shown("live"));
    feed.addEventListener("error", () => shown("reconnecting"));
    if (feed.readyState === 1) shown("live");
    feed.addEventListener("incident", (ev) => {
      const data = JSON.parse(ev.data);
      if (data.action === "report" && !state.items.has(data.id)) announce(data.id);
      else refresh(data.id);
    });
  }

  listen();
  loadAll().catch((err) => setCount(T("load_failed", { error: err.message })));
  loadWorkers();
  setInterval(loadWorkers, 30000);
  setInterval(render, 60000); // due times pass: overdue marks follow
})();
