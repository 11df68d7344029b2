// The bell in the page header: the unread count and the latest messages, kept up to date by the live feed
// (an `event: notification` is heard only by the person it is for) without polling. One EventSource per page,
// shared with the page's own script (window.gridopsFeed). Message text is untrusted: it goes in as textContent.
(function () {
  "use strict";

  const root = document.getElementById("gridops-bell");
  if (!root) return;
  const words = JSON.parse(root.querySelector(".bell-words").textContent);
  const button = root.querySelector(".bell-button");
  const panel = root.querySelector(".bell-panel");
  const list = root.querySelector(".bell-list");
  const count = root.querySelector(".bell-count");
  const empty = root.querySelector(".bell-empty");
  const headers = { "X-Requested-With": root.dataset.pageHeader, "Accept": "application/json" };
  const SHOWN = 8;
  let newest = 0;
  let timer = null;

  // one live feed per page: the bell and the page's own script (worker.js, livemap.js) listen on the same stream
  window.gridopsFeed = window.gridopsFeed || (function () {
    let feed = null;
    return function () {
      if (!feed && window.EventSource) feed = new EventSource("/api/v1/stream");
      return feed;
    };
  })();

  async function call(method, path, body) {
    const init = { method, headers: { ...headers }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const data = (res.headers.get("Content-Type") || "").includes("json") ? await res.json() : null;
    if (!res.ok) throw new Error((data && (data.detail || data.title)) || res.statusText);
    return data;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function when(iso) {
    return new Date(iso).toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "zh-CN",
      { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function showCount(n) {
    count.textContent = n > 99 ? "99+" : String(n);
    count.dataset.count = String(n);
    root.classList.toggle("has-unread", n > 0);
    button.setAttribute("aria-label", `${root.querySelector(".visually-hidden").textContent}: ${n} ${words.unread}`);
  }

  // a copy that did not go (or waits) is said beside the message: the person learns their SMS failed
  function troubles(item) {
    return item.deliveries.filter((d) => d.status === "failed").map((d) => `${words[d.channel] || d.channel} ${words.failed}`);
  }

  function row(item) {
    const li = el("li", "bell-item" + (item.read_at ? "" : " unread"));
    li.dataset.id = item.id;
    const link = el("a", "bell-link");
    link.href = item.link || root.dataset.messages;
    link.append(el("span", "bell-title", item.title), el("span", "bell-time", when(item.created_at)));
    link.append(el("span", "bell-text", item.text));
    const bad = troubles(item);
    if (bad.length) link.append(el("span", "bell-trouble", bad.join(" · ")));
    link.addEventListener("click", async (event) => {
      if (item.read_at) return;
      event.preventDefault();
      try { await call("POST", `/api/v1/me/notifications/${item.id}/read`); } catch (err) { /* the link still opens */ }
      window.location.assign(link.href);
    });
    li.append(link);
    return li;
  }

  async function load() {
    try {
      const data = await call("GET", `/api/v1/me/notifications?limit=${SHOWN}`);
      showCount(data.unread);
      newest = data.notifications.reduce((m, n) => Math.max(m, n.id), newest);
      list.replaceChildren(...data.notifications.map(row));
      empty.hidden = data.notifications.length > 0;
      root.dispatchEvent(new CustomEvent("gridops:messages", { detail: data, bubbles: true }));
    } catch (err) {
      list.replaceChildren(el("li", "bell-problem", words.offline));
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  }

  button.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) load();
  });
  document.addEventListener("click", (event) => {
    if (!panel.hidden && !root.contains(event.target)) {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  });
  root.querySelector(".bell-all").addEventListener("click", async () => {
    try {
      await call("POST", "/api/v1/me/notifications/read", newest ? { up_to: newest } : {});
    } finally {
      load();
    }
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) soon(); });
  window.gridopsBell = { reload: soon };

  const feed = window.gridopsFeed();
  if (feed) feed.addEventListener("notification", soon);
  load();
})();
