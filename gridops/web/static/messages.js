// The page of one's own messages (/me/messages): marking read, the contact form (PUT /api/v1/me/contact, its
// refusals shown as the server words them, in the page's language), and a notice when a new message comes.
(function () {
  "use strict";

  const words = JSON.parse(document.getElementById("messages-words").textContent);
  const headers = { "X-Requested-With": document.body.dataset.pageHeader, "Accept": "application/json" };
  const form = document.getElementById("contact-form");
  const status = document.getElementById("contact-status");

  async function call(method, path, body) {
    const init = { method, headers: { ...headers }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const data = (res.headers.get("Content-Type") || "").includes("json") ? await res.json() : null;
    if (!res.ok) {
      const err = new Error((data && (data.detail || data.title)) || res.statusText);
      err.problem = data;
      throw err;
    }
    return data;
  }

  function text(name) {
    const v = form.elements[name].value.trim();
    return v === "" ? null : v;
  }

  function body() {
    const out = { phone: text("phone"), email: text("email"), wecom_user: text("wecom_user"), lang: text("lang") };
    const mode = form.querySelector("input[name=channels_mode]:checked");
    if (mode) {
      out.channels = mode.value === "default" ? null
        : Array.from(form.querySelectorAll("input[name=channel]:checked")).map((c) => c.value);
    }
    const quiet = form.querySelector("input[name=quiet_mode]:checked").value;
    out.quiet_hours = quiet === "city" ? null : quiet === "none" ? "" : `${form.elements.quiet_from.value}-${form.elements.quiet_to.value}`;
    return out;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    status.textContent = words.working;
    status.className = "form-status";
    try {
      await call("PUT", "/api/v1/me/contact", body());
      status.textContent = words.saved;
      status.className = "form-status ok";
      setTimeout(() => window.location.reload(), 700);
    } catch (err) {
      status.textContent = err.problem ? err.message : words.offline;
      status.className = "form-status bad";
      status.setAttribute("role", "alert");
      const field = err.problem && err.problem.field;
      const named = field && (form.elements[field] || form.querySelector(`[name="${field === "channels" ? "channel" : field === "quiet_hours" ? "quiet_from" : field}"]`));
      if (named && named.setAttribute) named.setAttribute("aria-invalid", "true");
    }
  });

  document.querySelectorAll("button.read-one").forEach((b) => b.addEventListener("click", async () => {
    await call("POST", `/api/v1/me/notifications/${b.dataset.id}/read`).catch(() => null);
    window.location.reload();
  }));
  const all = document.getElementById("read-all");
  if (all) {
    all.addEventListener("click", async () => {
      await call("POST", "/api/v1/me/notifications/read", all.dataset.upTo ? { up_to: Number(all.dataset.upTo) } : {}).catch(() => null);
      window.location.reload();
    });
  }
  // the bell hears new messages on the live feed; this page says so rather than reloading under a half-filled form
  const shown = Math.max(0, ...Array.from(document.querySelectorAll("article.message")).map((a) => Number(a.dataset.id)));
  document.addEventListener("gridops:messages", (event) => {
    if (event.detail.notifications.some((n) => n.id > shown)) document.getElementById("new-arrived").hidden = false;
  });
})();
