// The grid worker's page: the same API the phone app would use, nothing of its own.
// Every text from the server is untrusted and goes in through textContent, never as HTML.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("gridops-config").textContent);
  const $ = (id) => document.getElementById(id);
  const STEP_LABELS = {
    take: "接单 Accept",
    reject: "退回 Reject",
    check_in: "到场签到 Check in",
    resolve: "处置反馈 Resolve",
    visit: "记录走访 Record visit",
  };
  const SHOWN_STEPS = ["take", "check_in", "resolve", "visit", "reject"];

  let position = null; // {lon, lat, accuracy}
  let tasks = [];
  let selectedId = null;
  let map = null;
  let layers = null;
  let loading = null;
  let reloadAfter = false;

  // --- talking to the API ---------------------------------------------------

  const api = window.gridopsApi(cfg.pageHeader);

  function say(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = "status " + (kind || "");
  }

  // --- the list -------------------------------------------------------------

  async function load() {
    if (loading) {
      reloadAfter = true; // asked for meanwhile (a new position, a new event): load again when this one is in
      return loading;
    }
    const q = position ? `?lon=${position.lon.toFixed(7)}&lat=${position.lat.toFixed(7)}` : "";
    loading = api("GET", "/api/v1/me/tasks" + q)
      .then((data) => {
        tasks = data.tasks;
        render();
      })
      .catch((err) => say("无法加载任务 Could not load tasks: " + err.message, "error"))
      .finally(() => {
        loading = null;
        if (reloadAfter) {
          reloadAfter = false;
          load();
        }
      });
    return loading;
  }

  function localTime(iso) {
    return new Date(iso).toLocaleString("zh-CN", {
      timeZone: cfg.timezone, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  function span(ms) {
    const minutes = Math.round(Math.abs(ms) / 60000);
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${minutes % 60} min`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  }

  function dueText(task) {
    if (!task.due_at) return null;
    const left = new Date(task.due_at).getTime() - Date.now();
    return left < 0
      ? { text: `逾期 overdue ${span(left)} (due ${localTime(task.due_at)})`, late: true }
      : { text: `还剩 due in ${span(left)} (${localTime(task.due_at)})`, late: false };
  }

  function distanceText(m) {
    if (m === null || m === undefined) return null;
    return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
  }

  function isToday(iso) {
    const fmt = (d) => d.toLocaleDateString("en-CA", { timeZone: cfg.timezone });
    return fmt(new Date(iso)) <= fmt(new Date());
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function card(task) {
    const art = el("article", "task");
    art.dataset.id = String(task.id);
    art.dataset.kind = task.kind;
    if (task.overdue) art.classList.add("overdue");
    if (task.incident) art.classList.add(task.incident.urgency);
    if (task.id === selectedId) art.classList.add("selected");
    art.appendChild(el("h3", null, task.title));
    const meta = el("p", "meta");
    if (task.incident) meta.appendChild(el("span", "badge " + task.incident.urgency, task.incident.category_name));
    if (task.patrol && task.patrol.kind_name) meta.appendChild(el("span", "badge", task.patrol.kind_name));
    const due = dueText(task);
    if (due) meta.appendChild(el("span", "due" + (due.late ? " late" : ""), due.text));
    const dist = distanceText(task.distance_m);
    if (dist) meta.appendChild(el("span", "dist", " · " + dist));
    art.appendChild(meta);
    if (task.address) art.appendChild(el("p", "meta addr", task.address));
    if (task.patrol && (task.patrol.person || task.patrol.phone)) {
      art.appendChild(el("p", "meta person", [task.patrol.person, task.patrol.phone].filter(Boolean).join(" · ")));
    }
    if (task.incident && task.incident.description) art.appendChild(el("p", "desc", task.incident.description));
    if (task.checklist && task.checklist.length) {  // a patrol ordered from a hot spot: what to look at
      const list = el("ul", "checklist");
      task.checklist.forEach((item) => list.appendChild(el("li", null, item)));
      art.appendChild(list);
    }
    if (task.incident_status) art.appendChild(el("p", "meta state", "状态 status: " + task.incident_status));
    const actions = el("div", "actions");
    for (const step of SHOWN_STEPS) {
      if (!task.allowed.includes(step)) continue;
      const b = el("button", step === "reject" ? "" : "primary", STEP_LABELS[step]);
      b.type = "button";
      b.dataset.step = step;
      b.addEventListener("click", (ev) => {
        ev.stopPropagation();
        runStep(task, step);
      });
      actions.appendChild(b);
    }
    art.appendChild(actions);
    art.addEventListener("click", () => select(task.id));
    return art;
  }

  function render() {
    const visits = tasks.filter((t) => t.kind === "patrol" && (t.overdue || isToday(t.scheduled_for || t.due_at)));
    const incidents = tasks.filter((t) => t.kind !== "patrol");
    fill("visits", visits, "今天没有走访 No visits due today.");
    fill("tasks", incidents, "没有待办事件 No incidents waiting for you.");
    $("visits-count").textContent = `(${visits.length})`;
    $("tasks-count").textContent = `(${incidents.length})`;
    // a message's link opened this page for one incident (#incident-<id>): it is selected, once
    const asked = /^#incident-(\d+)$/.exec(window.location.hash);
    const target = asked && incidents.find((t) => t.incident_id === Number(asked[1]));
    if (target) {
      selectedId = target.id;
      markSelected();
      history.replaceState(null, "", window.location.pathname + window.location.search);
      const node = document.querySelector(`.task[data-id="${target.id}"]`);
      if (node) node.scrollIntoView({ block: "center" });
    }
    if (selectedId === null || !tasks.some((t) => t.id === selectedId)) {
      const first = incidents[0] || visits[0];
      selectedId = first ? first.id : null;
      markSelected();
    }
    drawMap();
  }

  function fill(id, list, emptyText) {
    const box = $(id);
    box.replaceChildren(...(list.length ? list.map(card) : [el("p", "empty", emptyText)]));
  }

  function select(id) {
    selectedId = id;
    markSelected();
    drawMap();
  }

  function markSelected() {
    for (const node of document.querySelectorAll(".task")) {
      node.classList.toggle("selected", Number(node.dataset.id) === selectedId);
    }
  }

  // --- the map ----------------------------------------------------------------

  function drawMap() {
    if (!window.L) return;
    if (!map) {
      map = gridopsBasemap.map("map", { zoomSnap: 0.5 }).setView([30.62, 104.1], 15);
      layers = L.layerGroup().addTo(map);
    }
    layers.clearLayers();
    const task = tasks.find((t) => t.id === selectedId);
    const points = [];
    if (task && task.location) {
      const p = [task.location.lat, task.location.lon];
      L.circleMarker(p, { radius: 9, color: "#c0392b", fillOpacity: 0.8 }).bindTooltip(el("span", null, task.title)).addTo(layers); // a resident's words: text, never HTML
      points.push(p);
      if (task.area_code) drawGrid(task.area_code, task.id);
    }
    if (position) {
      const me = [position.lat, position.lon];
      L.circleMarker(me, { radius: 7, color: "#2f6fde", fillOpacity: 0.9 }).bindTooltip("我 you").addTo(layers);
      if (position.accuracy) L.circle(me, { radius: position.accuracy, weight: 1, fillOpacity: 0.08 }).addTo(layers);
      points.push(me);
      if (points.length === 2) L.polyline(points, { dashArray: "4 6", weight: 2 }).addTo(layers);
    }
    if (points.length === 1) map.setView(points[0], 17);
    if (points.length === 2) map.fitBounds(L.latLngBounds(points).pad(0.4), { maxZoom: 18 });
  }

  const grids = new Map();

  async function drawGrid(code, taskId) {
    if (!grids.has(code)) {
      grids.set(code, api("GET", "/api/v1/areas/" + encodeURIComponent(code)).catch(() => null));
    }
    const feature = await grids.get(code);
    if (feature && selectedId === taskId) {
      L.geoJSON(feature, { style: { color: "#486581", weight: 2, fillOpacity: 0.05 } }).addTo(layers);
    }
  }

  // --- the steps --------------------------------------------------------------

  function ask(title, { needsNote, photos, placeholder }) {
    const dialog = $("step-dialog");
    $("step-title").textContent = title;
    $("step-note").value = "";
    $("step-note").required = needsNote;
    $("step-note").placeholder = placeholder || "";
    $("step-photo").value = "";
    $("step-photo-row").hidden = !photos;
    $("step-error").hidden = true;
    dialog.showModal();
    return new Promise((resolve) => {
      const done = (answer) => {
        $("step-form").onsubmit = null;
        $("step-cancel").onclick = null;
        dialog.close();
        resolve(answer);
      };
      $("step-cancel").onclick = () => done(null);
      $("step-form").onsubmit = (ev) => {
        ev.preventDefault();
        const note = $("step-note").value.trim();
        if (needsNote && !note) {
          $("step-error").textContent = "请填写说明 Please write a note.";
          $("step-error").hidden = false;
          return;
        }
        done({ note, files: Array.from($("step-photo").files || []) });
      };
    });
  }

  function here() {
    if (!position) throw new Error("还没有定位 Your position is not known yet: allow location and wait for a fix.");
    return { lon: position.lon, lat: position.lat };
  }

  async function runStep(task, step) {
    try {
      let done;
      if (step === "take") {
        done = await api("POST", `/api/v1/incidents/${task.incident_id}/take`, {});
        say("已接单 Accepted: " + task.title, "ok");
      } else if (step === "reject") {
        const a = await ask("退回原因 Why can you not take it?", { needsNote: true, placeholder: "例如：不在本网格 / on leave" });
        if (!a) return;
        done = await api("POST", `/api/v1/incidents/${task.incident_id}/reject`, { note: a.note });
        say("已退回 Sent back for routing: " + (done.routing_reason || ""), "ok");
      } else if (step === "check_in") {
        done = await api("POST", `/api/v1/incidents/${task.incident_id}/check_in`, here());
        say("已签到 Checked in on site", "ok");
      } else if (step === "resolve") {
        const a = await ask("处置反馈 What was done?", { needsNote: true, photos: true, placeholder: "处置情况 what you did" });
        if (!a) return;
        const form = new FormData();
        form.append("note", a.note);
        if (position) {
          form.append("lon", String(position.lon));
          form.append("lat", String(position.lat));
        }
        for (const f of a.files) form.append("photo", f, f.name);
        done = await api("POST", `/api/v1/incidents/${task.incident_id}/resolve`, form);
        say("已反馈，等待核查 Resolved: waiting for the grid leader to verify", "ok");
      } else if (step === "visit") {
        const a = await ask("走访记录 How was the visit?", { needsNote: true, placeholder: "身体状况良好 / 需要帮助…" });
        if (!a) return;
        done = await api("POST", `/api/v1/tasks/${task.id}/visit`, { note: a.note, ...(position ? here() : {}) });
        say("走访已记录 Visit recorded", "ok");
      }
      await load();
      return done;
    } catch (err) {
      const extra = err.problem && err.problem.distance_m !== undefined ? ` (${Math.round(err.problem.distance_m)} m)` : "";
      say("未完成 Not done: " + err.message + extra, "error");
    }
  }

  // --- position and live updates --------------------------------------------------

  function watchPosition() {
    if (!navigator.geolocation) {
      $("where").textContent = "此设备无法定位 This device cannot tell its position.";
      return;
    }
    navigator.geolocation.watchPosition(
      (pos) => {
        const first = position === null;
        position = { lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy };
        $("where").textContent = `我的位置 You: ${position.lon.toFixed(5)}, ${position.lat.toFixed(5)} (±${Math.round(position.accuracy || 0)} m)`;
        if (first) load();
        else drawMap();
      },
      (err) => {
        $("where").textContent = "无法定位 Position unavailable: " + err.message + " (check-in needs it)";
      },
      { enableHighAccuracy: true, maximumAge: 15000, timeout: 20000 },
    );
  }

  function listen() {
    if (!window.EventSource) return;
    // the page's one live feed, shared with the bell (bell.js) when it is there
    const feed = window.gridopsFeed ? window.gridopsFeed() : new EventSource("/api/v1/stream");
    let timer = null;
    feed.addEventListener("incident", () => {
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    });
  }

  window.addEventListener("hashchange", render);
  watchPosition();
  load();
  listen();
  setInterval(load, 60000);
})();
