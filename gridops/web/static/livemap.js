// The command centre's live map: open incidents clustered, workers, grids labelled; kept current by the
// event stream. Incident text is untrusted: everything shown goes in through textContent, never as HTML.
(function () {
  "use strict";

  const STATUS_COLOURS = {
    reported: "#e03131", accepted: "#e8590c", assessed: "#f08c00", dispatched: "#1971c2", in_progress: "#1098ad",
    resolved: "#2f9e44", verified: "#5c940d", returned: "#9c36b5", reopened: "#c2255c", escalated: "#862e9c",
    closed: "#868e96", followed_up: "#adb5bd", merged: "#ced4da",
  };
  const RADIUS = { critical: 10, urgent: 8, normal: 6, low: 5 };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  window.gridopsLive = function (setup) {
    const map = setup.map;
    const cfg = setup.config;
    const OPEN = cfg.open; // the loop's open statuses, from the server (gridops.incidents.loop)
    // a status or step as the reader names it (the one table: gridops.incidents.names)
    const statusName = (s) => (cfg.statusNames || {})[s] || s;
    const stepName = (s) => (cfg.stepNames || {})[s] || s;
    const snapshot = cfg.snapshot || null;
    const groupOf = Object.fromEntries(cfg.categories.map((c) => [c.code, c.group]));
    const state = { markers: new Map(), props: new Map(), workers: L.layerGroup(), filters: { status: "open" }, loaded: false };
    window.gridopsLiveState = state;

    const cluster = L.markerClusterGroup({ maxClusterRadius: 45, showCoverageOnHover: false, chunkedLoading: true });
    cluster.addTo(map);
    state.cluster = cluster;
    state.workers.addTo(map);
    L.control.layers(null, {
      "网格 Grids": setup.grids, "微网格 Micro-grids": setup.micro, "事件 Open incidents": cluster, "网格员 Workers": state.workers,
    }, { collapsed: false }).addTo(map);

    // grid labels: code and worker, shown when zoomed in far enough to read them
    setup.grids.eachLayer((layer) => {
      const p = layer.feature.properties;
      layer.bindTooltip(el("span", null, p.code + (p.worker ? " · " + p.worker : "")),
        { permanent: true, direction: "center", className: "grid-label" });
    });
    function labels() {
      const show = map.getZoom() >= 17;
      setup.grids.eachLayer((layer) => (show ? layer.openTooltip() : layer.closeTooltip()));
    }
    map.on("zoomend", labels);
    labels();

    // --- talking to the API ------------------------------------------------------------

    const api = window.gridopsApi(cfg.pageHeader);

    function query() {
      const f = state.filters;
      const q = new URLSearchParams({ status: f.status || "open", limit: "50000" });
      if (f.category) q.set("category", f.category);
      if (f.area) q.set("area", f.area);
      if (f.days) q.set("since", new Date(Date.now() - Number(f.days) * 86400000).toISOString());
      return "/api/v1/incidents?" + q.toString();
    }

    function matches(p) {
      const f = state.filters;
      if ((f.status || "open") === "open" ? !OPEN.includes(p.status) : f.status !== "all" && !f.status.split(",").includes(p.status)) return false;
      if (f.category && p.category !== f.category && groupOf[p.category] !== f.category) return false;
      if (f.area && !(p.grid || "").startsWith(f.area)) return false;
      if (f.days && new Date(p.reported_at).getTime() < Date.now() - Number(f.days) * 86400000) return false;
      return true;
    }

    // --- markers ---------------------------------------------------------------------------

    function style(p) {
      return {
        radius: RADIUS[p.urgency] || 6, color: p.overdue ? "#000" : "#fff", weight: p.overdue ? 3 : 1.5,
        dashArray: p.overdue ? "3 2" : null, fillColor: STATUS_COLOURS[p.status] || "#495057", fillOpacity: 0.9,
      };
    }

    function upsert(p, latlng) {
      let marker = state.markers.get(p.id);
      if (!matches(p)) {
        if (marker) {
          cluster.removeLayer(marker);
          state.markers.delete(p.id);
          state.props.delete(p.id);
        }
        return;
      }
      state.props.set(p.id, p);
      if (marker) {
        marker.setStyle(style(p));
        marker.setLatLng(latlng);
        cluster.refreshClusters(marker);
      } else {
        marker = L.circleMarker(latlng, style(p));
        marker.on("click", () => openIncident(p.id, marker));
        marker.bindTooltip(() => tooltipText(state.props.get(p.id)));
        state.markers.set(p.id, marker);
        cluster.addLayer(marker);
      }
    }

    function tooltipText(p) {
      const span = el("span", null, `#${p.id} ${p.category_name} · ${statusName(p.status)}${p.overdue ? " · 逾期 overdue" : ""}`);
      return span;
    }

    function count() {
      document.body.dataset.incidents = String(state.markers.size);
      const box = document.getElementById("live-count");
      if (box) box.textContent = String(state.markers.size);
    }

    async function loadAll() {
      const fc = snapshot ? snapshot.incidents : await api("GET", query());
      cluster.clearLayers();
      state.markers.clear();
      state.props.clear();
      for (const f of fc.features) upsert(f.properties, [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
      count();
      state.loaded = true;
      document.body.dataset.loaded = "1";
    }

    async function loadWorkers() {
      let fc;
      try {
        fc = snapshot ? snapshot.workers : await api("GET", "/api/v1/workers");
      } catch (err) {
        return; // a role that does not see workers: the layer stays empty
      }
      state.workers.clearLayers();
      for (const f of fc.features) {
        const p = f.properties;
        L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
          radius: 5, color: "#1c7ed6", weight: 2, fillColor: p.on_shift ? "#74c0fc" : "#dee2e6", fillOpacity: 1,
        }).bindTooltip(el("span", null, `${p.name} ${p.code} · ${p.on_shift ? "在岗 on shift" : "休息 off shift"} · ${p.open_work} open`))
          .addTo(state.workers);
      }
    }

    // --- the incident's details ---------------------------------------------------------------

    function fromView(v) {
      return {
        id: v.id, status: v.status, category: v.category.code, category_name: v.category.name, urgency: v.category.urgency,
        description: v.description || "", reported_at: v.reported_at, due_at: v.due_at, overdue: v.overdue,
        supervised: !!v.supervised_at, grid: v.grid.code, tier: v.tier, assignee: v.assignee,
      };
    }

    async function openIncident(id, marker) {
      const box = el("div", "incident-popup");
      box.appendChild(el("p", "meta", "加载中 loading…"));
      marker.unbindPopup();
      marker.bindPopup(box, { maxWidth: 380 }).openPopup();
      if (snapshot) {
        fill(box, state.props.get(id), null, null);
        return;
      }
      try {
        const [view, history] = await Promise.all([api("GET", `/api/v1/incidents/${id}`), api("GET", `/api/v1/incidents/${id}/history`)]);
        fill(box, fromView(view), view, history.events);
      } catch (err) {
        box.replaceChildren(el("p", "problem", "无法加载 Could not load: " + err.message));
      }
    }

    function fill(box, p, view, events) {
      box.replaceChildren();
      box.appendChild(el("h3", null, `#${p.id} ${p.category_name}`));
      box.appendChild(el("p", "meta", `${statusName(p.status)} · ${p.urgency} · grid ${p.grid} · tier ${p.tier}`));
      box.appendChild(el("p", "meta", `due ${new Date(p.due_at).toLocaleString("zh-CN", { timeZone: cfg.timezone })}` +
        (p.overdue ? " · 逾期 overdue" : "") + (p.supervised ? " · 督办 supervised" : "")));
      if (p.assignee) box.appendChild(el("p", "meta", `assignee ${p.assignee.name} (${p.assignee.code})` +
        (view && view.routing_reason ? ": " + view.routing_reason : "")));
      box.appendChild(el("p", "desc", p.description));
      if (view && view.flags && view.flags.length) { // 虚假办结 checks: what the resolution's photos say against it
        const flags = el("ul", "flags");
        for (const f of view.flags) flags.appendChild(el("li", "problem", "⚠ " + f.message));
        box.appendChild(flags);
      }
      if (view && view.photos && view.photos.length) { // the evidence: each photo's thumbnail opens the original
        const strip = el("div", "photos");
        for (const ph of view.photos) {
          const link = el("a");
          link.href = ph.url;
          link.target = "_blank";
          link.rel = "noopener";
          const label = { report: "上报 report", resolve: "办结 resolve" }[ph.step] || ph.step;
          if (ph.thumbnail_url) {
            const img = el("img");
            img.src = ph.thumbnail_url;
            img.alt = label;
            img.title = label;
            img.loading = "lazy";
            link.appendChild(img);
          } else {
            link.textContent = `${label} (${ph.content_type})`;
            link.title = ph.thumbnail_unavailable || "";
          }
          strip.appendChild(link);
        }
        box.appendChild(strip);
      }
      if (events) {
        const ol = el("ol");
        for (const e of events) {
          ol.appendChild(el("li", null, `${new Date(e.at).toLocaleString("zh-CN", { timeZone: cfg.timezone })} ${stepName(e.action)}` +
            `${e.to_status ? " → " + statusName(e.to_status) : ""} · ${e.actor.label}${e.note ? ": " + e.note : ""}`));
        }
        box.appendChild(ol);
      }
      if (cfg.mayAct && !snapshot && OPEN.includes(p.status)) {
        const actions = el("div", "actions");
        const msg = el("p", "meta");
        const act = async (step, body) => {
          try {
            await api("POST", `/api/v1/incidents/${p.id}/${step}`, body);
            msg.textContent = step === "escalate" ? "已升级 Escalated" : "已改派 Reassigned";
            await refresh(p.id);
          } catch (err) {
            msg.className = "problem";
            msg.textContent = err.message;
          }
        };
        const reassign = el("button", null, "改派 Reassign");
        reassign.type = "button";
        reassign.addEventListener("click", () => {
          const worker = window.prompt("改派给 Reassign to worker code (empty: let routing choose)", "");
          if (worker === null) return;
          act("reassign", worker.trim() ? { worker: worker.trim() } : {});
        });
        const escalate = el("button", null, "升级 Escalate");
        escalate.type = "button";
        escalate.addEventListener("click", () => {
          const note = window.prompt("升级原因 Why escalate?", "");
          if (note === null || !note.trim()) return;
          act("escalate", { note: note.trim() });
        });
        actions.append(reassign, escalate);
        box.append(actions, msg);
      }
    }

    async function refresh(id) {
      try {
        const v = await api("GET", `/api/v1/incidents/${id}`);
        upsert(fromView(v), [v.location.lat, v.location.lon]);
      } catch (err) {
        const marker = state.markers.get(id); // no longer visible to us
        if (marker) cluster.removeLayer(marker);
        state.markers.delete(id);
      }
      count();
    }

    // --- filters ------------------------------------------------------------------------------

    const panel = L.control({ position: "topleft" });
    panel.onAdd = function () {
      const box = L.DomUtil.create("div", "gridops-panel live-filters");
      box.style.position = "static";
      box.appendChild(el("h1", null, "指挥中心 Live map"));
      const line = el("p");
      line.append(el("b", null, ""), el("span", null, " incidents shown"));
      line.firstChild.id = "live-count";
      box.appendChild(line);
      const form = el("form");
      form.id = "live-filters";
      const select = (name, label, options) => {
        const lab = el("label", null, label);
        const s = el("select");
        s.name = name;
        for (const [v, t] of options) {
          const o = el("option", null, t);
          o.value = v;
          s.appendChild(o);
        }
        lab.appendChild(s);
        form.appendChild(lab);
        return s;
      };
      select("category", "类别 Category", [["", "all"], ...cfg.categories.map((c) => [c.code, c.name])]);
      select("status", "状态 Status", [["open", "open"], ["all", "all"], ...Object.keys(STATUS_COLOURS).map((s) => [s, statusName(s)])]);
      const area = el("label", null, "区域 Area code");
      const input = el("input");
      input.name = "area";
      input.size = 16;
      area.appendChild(input);
      form.appendChild(area);
      select("days", "时间 Reported within", [["", "any time"], ["1", "1 day"], ["7", "7 days"], ["30", "30 days"]]);
      const go = el("button", null, "筛选 Filter");
      go.type = "submit";
      form.appendChild(go);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const data = new FormData(form);
        state.filters = { category: data.get("category") || "", status: data.get("status") || "open",
                          area: (data.get("area") || "").trim(), days: data.get("days") || "" };
        loadAll();
      });
      if (!snapshot) box.appendChild(form);
      else box.appendChild(el("p", "meta", "快照 Snapshot: " + new Date(snapshot.at).toLocaleString("zh-CN", { timeZone: cfg.timezone })));
      const legend = el("p", "legend");
      for (const s of OPEN) {
        const sw = el("span", "swatch");
        sw.style.background = STATUS_COLOURS[s];
        legend.append(sw, el("span", null, s + " "));
      }
      const ring = el("span", "swatch");
      ring.style.border = "3px dashed #000";
      legend.append(ring, el("span", null, "逾期 overdue"));
      box.appendChild(legend);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    panel.addTo(map);

    // --- live ---------------------------------------------------------------------------------

    function listen() {
      if (snapshot || !window.EventSource) return;
      const feed = window.gridopsFeed ? window.gridopsFeed() : new EventSource("/api/v1/stream");  // shared with a bell
      feed.addEventListener("incident", (ev) => {
        const data = JSON.parse(ev.data);
        refresh(data.id);
      });
    }

    loadAll().catch((err) => console.warn("incidents:", err.message));
    loadWorkers();
    listen();
    if (!snapshot) setInterval(loadWorkers, 30000);
  };
})();
