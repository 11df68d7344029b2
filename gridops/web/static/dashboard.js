// The dashboard: tables sorted by a click on a column's header (again: the other way), and the month's charts
// (ECharts, vendored). Words come from the catalogues (gridopsT); the figures from the page's JSON block.
(function () {
  "use strict";

  // --- sortable tables --------------------------------------------------------------------------------

  function sortValue(cell, kind) {
    const raw = cell ? cell.getAttribute("data-v") : "";
    if (raw === null || raw === "") return null;  // no value: always last
    if (kind === "num") {
      const n = Number(raw);
      return Number.isNaN(n) ? null : n;
    }
    return raw;
  }

  function sortBy(table, index, descending) {
    const th = table.tHead.rows[0].cells[index];
    const kind = th.getAttribute("data-kind") || "text";
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const collator = new Intl.Collator(window.gridopsLang(), { numeric: true });
    rows.sort((a, b) => {
      const x = sortValue(a.cells[index], kind), y = sortValue(b.cells[index], kind);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      const order = kind === "num" ? x - y : collator.compare(x, y);
      return descending ? -order : order;
    });
    rows.forEach((r) => body.appendChild(r));
    Array.from(table.tHead.rows[0].cells).forEach((c) => c.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    th.title = gridopsT(descending ? "sort_desc" : "sort_asc");
  }

  document.querySelectorAll("table.sortable").forEach((table) => {
    Array.from(table.tHead.rows[0].cells).forEach((th, index) => {
      const button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", () => {
        // numbers start from the largest (the worst overdue count, the best rate), names from A
        const first = (th.getAttribute("data-kind") || "text") === "num";
        const now = th.getAttribute("aria-sort");
        sortBy(table, index, now ? now === "ascending" : first);
      });
    });
  });

  // --- charts ------------------------------------------------------------------------------------------

  const node = document.getElementById("dashboard-data");
  if (!node || !window.echarts) return;
  const data = JSON.parse(node.textContent);
  const FLAG_COLOURS = { green: "#2f9e44", amber: "#f59f00", red: "#e03131" };
  const charts = [];

  const daily = document.getElementById("chart-daily");
  if (daily && data.daily.length) {
    const chart = window.echarts.init(daily, null, { renderer: "canvas" });
    chart.setOption({
      title: { text: gridopsT("daily_title"), left: 0, textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { data: [gridopsT("reported"), gridopsT("closed")], right: 0 },
      grid: { left: 40, right: 16, top: 40, bottom: 28 },
      xAxis: { type: "category", data: data.daily.map((d) => d.day.slice(5)) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: gridopsT("reported"), type: "bar", data: data.daily.map((d) => d.reported), itemStyle: { color: "#4c6ef5" } },
        { name: gridopsT("closed"), type: "line", smooth: true, data: data.daily.map((d) => d.closed), itemStyle: { color: "#2f9e44" } },
      ],
    });
    charts.push(chart);
  }

  const worst = document.getElementById("chart-worst");
  if (worst && data.worst.length) {
    const items = data.worst.slice().reverse();  // the worst at the top
    const chart = window.echarts.init(worst, null, { renderer: "canvas" });
    chart.setOption({
      title: { text: gridopsT("worst_title"), left: 0, textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item", formatter: (p) => `${p.name}<br>${gridopsT("on_time_rate")}: ${(p.value * 100).toFixed(1)}%` },
      grid: { left: 8, right: 48, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: 1, axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
      yAxis: { type: "category", data: items.map((w) => w.name), axisLabel: { width: 140, overflow: "truncate" } },
      series: [{
        type: "bar", name: gridopsT("on_time_rate"),
        data: items.map((w) => ({ value: w.value, itemStyle: { color: FLAG_COLOURS[w.flag] || "#868e96" } })),
        label: { show: true, position: "right", formatter: (p) => `${(p.value * 100).toFixed(1)}%` },
      }],
    });
    charts.push(chart);
  }
  window.gridopsDashboardCharts = charts;
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
