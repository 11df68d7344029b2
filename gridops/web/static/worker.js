// The grid worker's page: the same API the phone app would use, nothing of its own.
// Offline first: every step goes into the outbox (IndexedDB) with its Idempotency-Key and the phone's time,
// and is sent from there, in order, when there is signal; it leaves the outbox only once the server answered 2xx.
// The list and the map come from the service worker's copy when there is no signal (worker-sw.js).
// Every text from the server is untrusted and goes in through textContent, never as HTML.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("gridops-config").textContent);
  const $ = (id) => document.getElementById(id);
  const T = window.gridopsT;
  const SHOWN_STEPS = ["take", "check_in", "resolve", "visit", "reject"];
  // what a step kept on the phone lets the worker do next, before the server has heard of it
  const NEXT = { take: ["check_in"], check_in: ["resolve"], resolve: [], reject: [], visit: [] };
  const SYNCED_KEY = `gridops.worker.${cfg.user}.synced`;

  let position = null; // {lon, lat, accuracy, at}
  let place = null; // the registered building nearest where the tasks were last asked from: {name, address, …, asked}
  let askedAt = 0; // when the list was last asked for (a new position asks again, not more than every 10 s)
  let tasks = [];
  let kept = []; // the outbox: steps not yet stored by the server (waiting, or refused)
  let selectedId = null;
  let navOpen = null; // the task whose 导航 choice is open
  let map = null;
  let layers = null;
  let loading = null;
  let reloadAfter = false;
  let offline = !navigator.onLine;
  const fetched = new Set(); // what the page asked of the API, for the service worker to keep (see installable)

  const api = window.gridopsApi(cfg.pageHeader);

  function say(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = "status " + (kind || "");
  }

  // --- the outbox -------------------------------------------------------------------

  // one database per user: a phone handed to a colleague never sends the first one's steps under the second's name
  const db = window.idb.openDB(`gridops-worker-${cfg.user}`, 1, {
    upgrade(d) { d.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true }); },
  });

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function deviceTime() {
    // the phone's own time with its offset, e.g. 2026-11-23T09:41:07.120+08:00
    const d = new Date();
    const off = -d.getTimezoneOffset();
    const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
    const local = new Date(d.getTime() + off * 60000).toISOString().slice(0, 23);
    return `${local}${off >= 0 ? "+" : "-"}${pad(off / 60)}:${pad(off % 60)}`;
  }

  async function keep(entry) {
    const full = { key: newKey(), device_time: deviceTime(), state: "waiting", tries: 0, created: Date.now(), ...entry };
    if (full.json) full.json.device_time = full.device_time;
    if (full.form) full.form.push(["device_time", full.device_time]);
    await (await db).add("outbox", full);
    await refreshKept();
    flush();
    return full;
  }

  async function refreshKept() {
    kept = await (await db).getAll("outbox");
    renderOutbox();
  }

  let flushing = false;
  let retryTimer = null;
  let nextTry = 0;
  let needsSignIn = false;

  function body(entry) {
    if (entry.json) return { body: JSON.stringify(entry.json), type: "application/json" };
    const form = new FormData();
    for (const [name, value] of entry.form) form.append(name, value);
    for (const f of entry.files || []) form.append("photo", f.blob, f.name);
    return { body: form, type: null };
  }

  async function send(entry) {
    const { body: payload, type } = body(entry);
    const headers = { "X-Requested-With": cfg.pageHeader, "Accept": "application/json", "Idempotency-Key": entry.key };
    if (type) headers["Content-Type"] = type;
    return fetch(entry.path, { method: "POST", headers, body: payload, credentials: "same-origin", redirect: "manual" });
  }

  function later(entry) {
    entry.tries += 1;
    const wait = Math.min(60000, 1000 * 2 ** Math.min(entry.tries, 6)) * (0.75 + Math.random() * 0.5);
    nextTry = Date.now() + wait;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, wait);
  }

  // send what waits, oldest first; stop at the first that cannot go (no signal, server down), to keep the order
  async function flush() {
    if (flushing) return;
    flushing = true;
    let sent = 0;
    try {
      for (;;) {
        const store = await db;
        const waiting = (await store.getAll("outbox")).filter((e) => e.state === "waiting");
        if (!waiting.length || !navigator.onLine) break;
        const entry = waiting[0];
        renderOutbox(true);
        let res;
        try {
          res = await send(entry);
        } catch (err) {
          later(entry); // no signal after all, or the server is away: the same step, the same key, later
          await store.put("outbox", entry);
          break;
        }
        if (res.ok) {
          await store.delete("outbox", entry.seq); // stored on the server: the phone may forget it
          for (const old of (await store.getAll("outbox"))) { // a refusal this step has now made good is forgotten too
            if (old.state === "refused" && old.step === entry.step && old.task_id === entry.task_id && old.task_id !== undefined) {
              await store.delete("outbox", old.seq);
            }
          }
          sent += 1;
          needsSignIn = false;
          const answer = await res.json().catch(() => null);
          doneSay(entry, answer);
          continue;
        }
        if (res.status === 401 || res.type === "opaqueredirect") {
          needsSignIn = true; // the session ended: the steps wait for the worker to sign in again
          break;
        }
        if (res.status >= 500 || res.status === 408 || res.status === 429) {
          later(entry);
          await store.put("outbox", entry);
          break;
        }
        // refused on its merits (a conflict, too far, a clock ahead …): shown with what to do, never sent again by itself
        const problem = await res.json().catch(() => ({}));
        entry.state = "refused";
        entry.problem = { status: res.status, type: problem.type || "", title: problem.title || res.statusText,
                          detail: problem.detail || "", distance_m: problem.distance_m };
        await store.put("outbox", entry);
        say(`${T("outbox_refused")}（${entry.problem.title}）：${fixFor(entry)}`, "error");
      }
    } finally {
      flushing = false;
      await refreshKept();
    }
    if (sent) load();
  }

  function doneSay(entry, answer) {
    if (entry.step === "report") {
      const closed = answer && answer.handled_on_spot;
      say(T(closed ? "done_report_on_spot" : "done_report", { title: entry.title }), "ok");
    } else {
      say(T("done_" + entry.step, { title: entry.title }), "ok");
    }
  }

  function fixFor(entry) {
    const p = entry.problem || {};
    if (p.type === "/problems/too-far" && p.distance_m !== undefined) {
      return T("fix_too_far", { distance: distanceText(p.distance_m) });
    }
    if (p.type === "/problems/device-clock-ahead") return T("fix_clock");
    if (p.status === 409 || p.status === 403 || p.status === 404) return T("fix_conflict");
    return T("fix_other");
  }

  function renderOutbox(sending) {
    const box = $("outbox");
    const waiting = kept.filter((e) => e.state === "waiting");
    box.hidden = kept.length === 0;
    $("outbox-count").textContent = `(${kept.length})`;
    const list = $("outbox-list");
    list.replaceChildren(...kept.map((e) => {
      const li = el("li", "kept " + e.state);
      li.dataset.step = e.step;
      li.appendChild(el("span", "what", T("outbox_item", { what: T("what_" + e.step) + (e.title ? ` · ${e.title}` : ""),
                                                         time: clockTime(e.device_time) })));
      if (e.state === "refused") {
        li.appendChild(el("p", "problem", `${T("outbox_refused")}（${e.problem.title}）：${fixFor(e)}`));
        if (e.problem.detail) li.appendChild(el("p", "detail", e.problem.detail));
        const again = el("button", null, T("outbox_retry_now"));
        again.type = "button";
        again.addEventListener("click", async () => {
          e.state = "waiting";
          e.tries = 0;
          delete e.problem;
          await (await db).put("outbox", e);
          await refreshKept();
          flush();
        });
        const drop = el("button", null, T("outbox_dismiss"));
        drop.type = "button";
        drop.addEventListener("click", async () => {
          await (await db).delete("outbox", e.seq);
          await refreshKept();
          render();
        });
        const row = el("div", "actions");
        row.append(again, drop);
        li.appendChild(row);
      }
      return li;
    }));
    const n = waiting.length;
    let text = "";
    if (n && needsSignIn) text = T("outbox_signin", { n });
    else if (n && sending) text = T("outbox_sending", { n });
    else if (n && nextTry > Date.now() && navigator.onLine) text = T("outbox_retry", { n, s: Math.ceil((nextTry - Date.now()) / 1000) });
    else if (n) text = T("outbox_waiting", { n });
    showSync(text);
    if (tasks.length) render();
  }

  // --- the list -------------------------------------------------------------

  function clockTime(iso) {
    return new Date(iso).toLocaleTimeString(cfg.lang, { timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", hour12: false });
  }

  let syncedAt = localStorage.getItem(SYNCED_KEY);
  let outboxText = "";

  function showSync(text) {
    if (text !== undefined) outboxText = text;
    let line;
    if (offline) line = syncedAt ? T("offline_synced", { time: clockTime(syncedAt) }) : T("offline_never");
    else line = syncedAt ? T("synced", { time: clockTime(syncedAt) }) : "";
    const node = $("sync");
    node.textContent = [line, outboxText].filter(Boolean).join(" · ");
    node.classList.toggle("offline", offline);
  }

  async function fetchTasks() {
    const from = position ? { lon: position.lon, lat: position.lat } : null;
    const q = from ? `?lon=${from.lon.toFixed(7)}&lat=${from.lat.toFixed(7)}` : "";
    askedAt = Date.now();
    fetched.add("/api/v1/me/tasks" + q);
    const res = await fetch("/api/v1/me/tasks" + q, { headers: { "X-Requested-With": cfg.pageHeader, "Accept": "application/json" },
                                                      credentials: "same-origin" });
    if (res.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      throw new Error(res.statusText);
    }
    const data = await res.json();
    if (!res.ok) throw new Error(data.detail || data.title || res.statusText);
    if (from) place = data.here ? { ...data.here, asked: from } : { none: true, asked: from };
    const fromCopy = res.headers.get("X-Gridops-Offline") === "1";
    offline = fromCopy || !navigator.onLine;
    if (!fromCopy) {
      syncedAt = new Date().toISOString();
      localStorage.setItem(SYNCED_KEY, syncedAt);
    } else if (!syncedAt && res.headers.get("Date")) {
      syncedAt = new Date(res.headers.get("Date")).toISOString();
    }
    return data;
  }

  // A repeat visit shows the list the service worker kept at once, and then the server's answer: on a weak link
  // that answer takes a round trip or more. Only this worker's copy (a phone may change hands); the sync line
  // says how old it is until the answer is in.
  async function keptList() {
    if (!window.caches || !navigator.serviceWorker || !navigator.serviceWorker.controller) return;
    try {
      const res = await caches.match("/api/v1/me/tasks", { cacheName: "gridops-worker-tasks" });
      const data = res && (await res.json());
      if (!data || answered || !data.worker || data.worker.code !== cfg.worker) return;
      tasks = data.tasks;
      measure();
      render();
    } catch (err) {
      // no copy, or an unreadable one: the answer from the server will do
    }
  }

  async function load() {
    if (loading) {
      reloadAfter = true; // asked for meanwhile (a new position, a new event): load again when this one is in
      return loading;
    }
    loading = fetchTasks()
      .then((data) => {
        answered = true;
        tasks = data.tasks;
        measure();
        render();
        showSync();
        showWhere();
      })
      .catch((err) => {
        offline = !navigator.onLine || err instanceof TypeError;
        showSync();
        if (!tasks.length && !offline) say(T("load_failed", { error: err.message }), "error");
      })
      .finally(() => {
        loading = null;
        installOnce();
        if (reloadAfter) {
          reloadAfter = false;
          load();
        }
      });
    return loading;
  }

  function span(ms) {
    const minutes = Math.round(Math.abs(ms) / 60000);
    if (minutes < 60) return T("minutes", { n: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return T("hours", { h: hours, m: minutes % 60 });
    return T("days", { d: Math.floor(hours / 24), h: hours % 24 });
  }

  function localTime(iso) {
    return new Date(iso).toLocaleString(cfg.lang, {
      timeZone: cfg.timezone, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
    });
  }

  function dueText(task) {
    if (!task.due_at) return null;
    const left = new Date(task.due_at).getTime() - Date.now();
    return left < 0
      ? { text: T("overdue", { span: span(left), time: localTime(task.due_at) }), late: true }
      : { text: T("due_in", { span: span(left), time: localTime(task.due_at) }), late: false };
  }

  function distanceText(m) {
    if (m === null || m === undefined) return null;
    return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
  }

  // metres on the sphere: the card's distance follows the phone between two loads (the server measures on the ellipsoid)
  function metres(a, b) {
    const r = Math.PI / 180;
    const h = Math.sin((b.lat - a.lat) * r / 2) ** 2
      + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin((b.lon - a.lon) * r / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  // each task's distance from where the phone is now, written into the cards already shown
  function measure() {
    if (!position) return;
    for (const task of tasks) {
      if (!task.location) continue;
      task.distance_m = metres(position, task.location);
      const node = document.querySelector(`.task[data-id="${task.id}"] .dist`);
      if (node) node.textContent = " · " + distanceText(task.distance_m);
    }
  }

  // where the worker stands, as the street names it: the nearest registered building, never degrees
  function showWhere() {
    if (!position) return;
    const accuracy = Math.round(position.accuracy || 0);
    const fresh = place && metres(position, place.asked) <= Math.max(60, accuracy);
    const name = fresh && !place.none ? [place.name || place.address, place.name && place.address ? place.address : null] : null;
    let text;
    if (name) text = T("position_near", { place: name[0], accuracy });
    else if (fresh) text = T("position_no_building", { accuracy });
    else text = T("position", { accuracy });
    $("where").textContent = text;
    $("where").title = name && name[1] ? name[1] : "";
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

  // the task as the phone knows it: the server's last word, then the steps kept on the phone since
  function withKept(task) {
    const mine = kept.filter((e) => e.task_id === task.id);
    if (!mine.length) return { allowed: task.allowed, pending: null, refused: null };
    let allowed = task.allowed;
    let pending = null;
    for (const e of mine) {
      if (e.state === "waiting") {
        allowed = NEXT[e.step] || [];
        pending = e.step;
      }
    }
    return { allowed, pending, refused: mine.find((e) => e.state === "refused") || null };
  }

  function card(task) {
    const art = el("article", "task");
    const seen = withKept(task);
    art.dataset.id = String(task.id);
    art.dataset.kind = task.kind;
    if (task.overdue) art.classList.add("overdue");
    if (task.incident) art.classList.add(task.incident.urgency);
    if (task.id === selectedId) art.classList.add("selected");
    if (seen.pending) art.classList.add("pending");
    art.appendChild(el("h3", null, task.title));
    const meta = el("p", "meta");
    if (task.incident) meta.appendChild(el("span", "badge " + task.incident.urgency, task.incident.category_name));
    if (task.patrol && task.patrol.kind_name) meta.appendChild(el("span", "badge", task.patrol.kind_name));
    const due = dueText(task);
    if (due) meta.appendChild(el("span", "due" + (due.late ? " late" : ""), due.text));
    const dist = distanceText(task.distance_m);
    meta.appendChild(el("span", "dist", dist ? " · " + dist : "")); // kept current as the phone moves (measure)
    art.appendChild(meta);
    if (task.address) art.appendChild(el("p", "meta addr", task.address));
    if (task.patrol && (task.patrol.person || task.patrol.phone)) {
      const who = el("p", "meta person", task.patrol.person || "");
      if (task.patrol.phone) who.appendChild(phoneLink(task.patrol.phone, task.patrol.call));
      art.appendChild(who);
    }
    if (task.incident && task.incident.contact) {
      const who = el("p", "meta person", T("reporter") + " ");
      who.appendChild(phoneLink(task.incident.contact, task.incident.call));
      art.appendChild(who);
    }
    if (task.incident && task.incident.description) art.appendChild(el("p", "desc", task.incident.description));
    if (task.checklist && task.checklist.length) {  // a patrol ordered from a hot spot: what to look at
      const list = el("ul", "checklist");
      task.checklist.forEach((item) => list.appendChild(el("li", null, item)));
      art.appendChild(list);
    }
    if (seen.pending) art.appendChild(el("p", "meta state pending", T("state_pending_" + seen.pending)));
    else if (task.incident_status) art.appendChild(el("p", "meta state", T("status", { status: T("status_" + task.incident_status) })));
    if (seen.refused) art.appendChild(el("p", "problem", `${T("outbox_refused")}（${seen.refused.problem.title}）：${fixFor(seen.refused)}`));
    const actions = el("div", "actions");
    for (const step of SHOWN_STEPS) {
      if (!seen.allowed.includes(step)) continue;
      const b = el("button", step === "reject" ? "" : "primary", T("step_" + step));
      b.type = "button";
      b.dataset.step = step;
      b.addEventListener("click", (ev) => {
        ev.stopPropagation();
        runStep(task, step);
      });
      actions.appendChild(b);
    }
    if (task.navigate) actions.appendChild(navigator_(task));
    art.appendChild(actions);
    art.addEventListener("click", () => select(task.id));
    return art;
  }

  // a number the role may call is a link that dials it; a masked one (138****5678) is only text
  function phoneLink(shown, dial) {
    if (!dial) return el("span", "phone", shown);
    const a = el("a", "call", T("call", { number: shown }));
    a.href = "tel:" + dial;
    a.addEventListener("click", (ev) => ev.stopPropagation());
    return a;
  }

  // 导航: the phone's map apps, each given the point in its own datum (converted by the server: GCJ-02, BD-09)
  function navigator_(task) {
    const box = el("details", "navigate");
    box.appendChild(el("summary", null, T("navigate")));
    box.open = navOpen === task.id; // the list is drawn anew on every load: an open choice stays open
    box.addEventListener("click", (ev) => ev.stopPropagation());
    box.addEventListener("toggle", () => {
      if (box.open) navOpen = task.id;
      else if (navOpen === task.id) navOpen = null;
    });
    const list = el("div", "apps");
    for (const app of ["amap", "baidu", "tencent"]) {
      const a = el("a", "app " + app, T("app_" + app));
      a.href = task.navigate.links[app];
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.dataset.app = app;
      list.appendChild(a);
    }
    box.appendChild(list);
    return box;
  }

  function render() {
    const visits = tasks.filter((t) => t.kind === "patrol" && (t.overdue || isToday(t.scheduled_for || t.due_at)));
    const incidents = tasks.filter((t) => t.kind !== "patrol");
    fill("visits", visits, T("no_visits"));
    fill("tasks", incidents, T("no_tasks"));
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
    if (!shown) {
      shown = true;
      performance.mark("gridops:tasks-shown"); // what bench/phone.py times
    }
    // the map after the list is painted: on a slow phone building it holds the first paint back by a good half second
    requestAnimationFrame(() => setTimeout(drawMap, 0));
  }

  let shown = false;
  let answered = false; // the server's list is in (a kept copy arriving later is not shown over it)

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

  let drawn = "";

  function drawMap() {
    if (!window.L) return;
    if (!map) {
      map = gridopsBasemap.map("map", { zoomSnap: 0.5 }).setView([30.62, 104.1], 15);
      layers = L.layerGroup().addTo(map);
    }
    const task = tasks.find((t) => t.id === selectedId);
    const state = JSON.stringify([selectedId, task && task.location, position && [position.lon, position.lat, position.accuracy]]);
    if (state === drawn) return; // nothing moved: the map is left as the worker panned it
    drawn = state;
    layers.clearLayers();
    const points = [];
    if (task && task.location) {
      const p = [task.location.lat, task.location.lon];
      L.circleMarker(p, { radius: 9, color: "#c0392b", fillOpacity: 0.8 }).bindTooltip(el("span", null, task.title)).addTo(layers); // a resident's words: text, never HTML
      points.push(p);
      if (task.area_code) drawGrid(task.area_code, task.id);
    }
    if (position) {
      const me = [position.lat, position.lon];
      L.circleMarker(me, { radius: 7, color: "#2f6fde", fillOpacity: 0.9 }).bindTooltip(T("you")).addTo(layers);
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
      fetched.add("/api/v1/areas/" + encodeURIComponent(code));
      grids.set(code, api("GET", "/api/v1/areas/" + encodeURIComponent(code)).catch(() => {
        grids.delete(code); // no signal and no copy: asked again next time
        return null;
      }));
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
    clearStepPhotos();
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
      $("step-form").onsubmit = async (ev) => {
        ev.preventDefault();
        const note = $("step-note").value.trim();
        if (needsNote && !note) {
          $("step-error").textContent = T("need_note");
          $("step-error").hidden = false;
          return;
        }
        done({ note, files: photos ? await chosen("step-photo") : [] });
      };
    });
  }

  // the position as it is at the moment of the tap: it is what counts for a check-in, however late it is sent
  function here() {
    if (!position) throw new Error(T("no_position"));
    return { lon: Number(position.lon.toFixed(7)), lat: Number(position.lat.toFixed(7)) };
  }

  // --- photos: made small on the phone, shown before they are sent ------------------------------

  const MAX_SIDE = 1600; // px, the long side: enough to read a sign or a meter, a tenth of a camera's bytes
  const QUALITY = 0.8;
  const shrunk = new Map(); // a file input's id -> the promise of its photos made small

  // The original's EXIF segment, for the small copy: its time and place are what the checks of a resolution read
  // (虚假办结, gridops/incidents/flags.py). Its orientation is set upright, as the pixels are drawn upright.
  function exifOf(bytes) {
    try {
      if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
      let i = 2;
      while (i + 4 <= bytes.length && bytes[i] === 0xff && bytes[i + 1] !== 0xda) { // up to the image data
        const len = (bytes[i + 2] << 8) | bytes[i + 3];
        const exif = bytes[i + 1] === 0xe1 && String.fromCharCode(...bytes.subarray(i + 4, i + 10)) === "Exif\0\0";
        if (exif && i + 2 + len <= bytes.length) {
          const seg = bytes.slice(i, i + 2 + len);
          const view = new DataView(seg.buffer);
          const little = view.getUint16(10) === 0x4949; // the TIFF header, after the marker, length and "Exif\0\0"
          const ifd = 10 + view.getUint32(14, little);
          for (let k = 0, n = view.getUint16(ifd, little); k < n; k++) {
            if (view.getUint16(ifd + 2 + k * 12, little) === 0x0112) view.setUint16(ifd + 2 + k * 12 + 8, 1, little);
          }
          return seg;
        }
        i += 2 + len;
      }
    } catch (err) {
      return null; // a malformed header: the copy goes without it
    }
    return null;
  }

  // a photo at most MAX_SIDE px on its long side, as JPEG; one the browser cannot read (HEIC on some phones) goes as it is
  async function shrink(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (err) {
      return { file };
    }
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.round(bitmap.width * scale);
    const height = Math.round(bitmap.height * scale);
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff"; // a transparent PNG's clear parts come out white, not black
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    const jpeg = file.type === "image/jpeg";
    if (!blob || (scale === 1 && jpeg && file.size <= blob.size)) return { file, width, height }; // small already
    let parts = [blob];
    if (jpeg) {
      const exif = exifOf(new Uint8Array(await file.slice(0, 131072).arrayBuffer())); // EXIF is at most 64 KB, near the start
      if (exif) {
        const body = new Uint8Array(await blob.arrayBuffer());
        parts = [body.subarray(0, 2), exif, body.subarray(2)]; // right after the start-of-image marker
      }
    }
    const name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
    return { file: new File(parts, name, { type: "image/jpeg" }), width, height };
  }

  function sizeText(bytes) {
    return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
  }

  function thumb(photo) {
    const fig = el("figure", "thumb");
    const img = document.createElement("img");
    img.alt = T("photo_preview");
    img.src = URL.createObjectURL(photo.file);
    img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
    fig.append(img, el("figcaption", null, (photo.width ? `${photo.width}×${photo.height} · ` : "") + sizeText(photo.file.size)));
    return fig;
  }

  // the chosen photos are made small at once, and shown: the worker sees what will be sent, and how big
  function previewed(inputId, boxId) {
    const input = $(inputId);
    const box = $(boxId);
    input.addEventListener("change", () => {
      const job = Promise.all(Array.from(input.files || []).map(shrink));
      shrunk.set(inputId, job);
      box.replaceChildren();
      job.then((done) => {
        if (shrunk.get(inputId) === job) box.replaceChildren(...done.map(thumb));
      });
    });
    return () => {
      shrunk.delete(inputId);
      box.replaceChildren();
    };
  }

  async function chosen(inputId) {
    const job = shrunk.get(inputId) || Promise.all(Array.from($(inputId).files || []).map(shrink));
    return (await job).map((photo) => photo.file);
  }

  const clearStepPhotos = previewed("step-photo", "step-previews");
  const clearReportPhotos = previewed("report-photo", "report-previews");

  async function photosOf(files) {
    // kept as Blobs in IndexedDB: they survive a reload and a day with no signal
    return Promise.all(files.map(async (f) => ({ name: f.name || "photo.jpg", type: f.type, blob: new Blob([await f.arrayBuffer()], { type: f.type }) })));
  }

  async function runStep(task, step) {
    try {
      const base = { step, task_id: task.id, incident_id: task.incident_id, title: task.title };
      const path = `/api/v1/incidents/${task.incident_id}/${step}`;
      if (step === "take") {
        await keep({ ...base, path, json: {} });
      } else if (step === "reject") {
        const a = await ask(T("ask_reject"), { needsNote: true, placeholder: T("ask_reject_hint") });
        if (!a) return;
        await keep({ ...base, path, json: { note: a.note } });
      } else if (step === "check_in") {
        const at = here();
        await keep({ ...base, path, json: at });
      } else if (step === "resolve") {
        const a = await ask(T("ask_resolve"), { needsNote: true, photos: true, placeholder: T("ask_resolve_hint") });
        if (!a) return;
        const form = [["note", a.note]];
        if (position) {
          const at = here();
          form.push(["lon", String(at.lon)], ["lat", String(at.lat)]);
        }
        await keep({ ...base, path, form, files: await photosOf(a.files) });
      } else if (step === "visit") {
        const a = await ask(T("ask_visit"), { needsNote: true, placeholder: T("ask_visit_hint") });
        if (!a) return;
        await keep({ ...base, path: `/api/v1/tasks/${task.id}/visit`, json: { note: a.note, ...(position ? here() : {}) } });
      }
      if (!navigator.onLine) {
        say(step === "check_in" ? T("kept_check_in", { time: clockTime(deviceTime()) }) : T("kept_" + step), "kept");
      }
      render();
    } catch (err) {
      say(err.message, "error");
    }
  }

  // --- 巡查上报: a patrol report ---------------------------------------------------------

  function openReport() {
    const dialog = $("report-dialog");
    $("report-form").reset();
    clearReportPhotos();
    $("report-error").hidden = true;
    $("report-where").textContent = position ? T("report_where", { accuracy: Math.round(position.accuracy || 0) }) : T("no_position");
    dialog.showModal();
  }

  async function submitReport(ev) {
    ev.preventDefault();
    const fail = (text) => {
      $("report-error").textContent = text;
      $("report-error").hidden = false;
    };
    const category = $("report-category").value;
    const files = await chosen("report-photo");
    const onSpot = $("report-on-spot").checked;
    if (!category) return fail(T("report_need_category"));
    if (!position) return fail(T("no_position"));
    if (onSpot && !files.length) return fail(T("report_need_photo"));
    const at = { ...here(), accuracy: position.accuracy };
    const name = ($("report-category").selectedOptions[0] || {}).textContent || category;
    const note = $("report-note").value.trim();
    const form = [["category", category], ["channel", "patrol"], ["lon", String(at.lon)], ["lat", String(at.lat)]];
    if (at.accuracy) form.push(["accuracy_m", String(Math.round(at.accuracy * 10) / 10)]);
    if (note) form.push(["description", note]);
    if (onSpot) form.push(["handled_on_spot", "true"]);
    $("report-dialog").close();
    await keep({ step: "report", title: name, path: "/api/v1/incidents", form, files: await photosOf(files), on_spot: onSpot });
    if (!navigator.onLine) say(T("kept_report"), "kept");
  }

  // --- position, signal and live updates --------------------------------------------------

  function watchPosition() {
    if (!navigator.geolocation) {
      $("where").textContent = T("no_geolocation");
      return;
    }
    navigator.geolocation.watchPosition(
      (pos) => {
        const first = position === null;
        position = { lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy, at: pos.timestamp };
        measure();
        showWhere();
        // moved off the building named: ask again (the list's order and the name), not more than every 10 s
        const moved = place && metres(position, place.asked) > Math.max(60, position.accuracy || 0);
        if (first || (moved && Date.now() - askedAt > 10000)) load();
        drawMap();
      },
      (err) => {
        $("where").textContent = T("position_failed", { error: err.message });
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

  // the service worker is registered once the first list is in: its install fetches every file the page keeps,
  // which on a weak link would otherwise share the line with the page's own first load
  let installed = false;
  function installOnce() {
    if (installed) return;
    installed = true;
    installable();
  }

  function installable() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(cfg.serviceWorker, { scope: cfg.scope }).catch(() => null);
    // what this page fetched before the service worker took it over (its first tasks, the map's tiles) is kept too
    const tell = () => {
      const sw = navigator.serviceWorker.controller;
      if (!sw) return;
      const timed = performance.getEntriesByType("resource").map((e) => e.name) // the map's tiles among them
        .filter((u) => u.startsWith(location.origin + "/api/v1/") && !u.includes("/stream"));
      sw.postMessage({ type: "KEEP", urls: Array.from(new Set([...fetched, ...timed])) });
    };
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      tell();
      // the map's base tiles drawn before are fetched once more, now through the service worker, which keeps them
      if (map) {
        map.eachLayer((layer) => { if (layer instanceof L.GridLayer) layer.redraw(); });
        map.fire("zoomend"); // the city's own streets and buildings (basemap.js) load again on a zoom
      }
    });
    navigator.serviceWorker.addEventListener("message", (ev) => {
      if (ev.data && ev.data.type === "KEPT") document.documentElement.dataset.kept = "1";
    });
    if (navigator.serviceWorker.controller) tell();
  }

  window.addEventListener("online", () => {
    offline = false;
    nextTry = 0;
    showSync();
    flush();
    load();
  });
  window.addEventListener("offline", () => {
    offline = true;
    showSync();
  });
  $("report-open").addEventListener("click", openReport);
  $("report-form").addEventListener("submit", submitReport);
  $("report-cancel").addEventListener("click", () => $("report-dialog").close());
  $("sign-out").addEventListener("submit", (ev) => {
    const n = kept.filter((e) => e.state === "waiting").length;
    if (n && !window.confirm(T("leave_unsent", { n }))) ev.preventDefault();
  });

  window.addEventListener("hashchange", render);
  showSync();
  if (navigator.serviceWorker && navigator.serviceWorker.controller) installOnce(); // kept already: keep it current now
  watchPosition();
  keptList();
  load(); // at once, not after the outbox is read: the cards take the kept steps in when they come (renderOutbox)
  refreshKept().then(flush);
  listen();
  setInterval(load, 60000);
  setInterval(flush, 30000);
})();
