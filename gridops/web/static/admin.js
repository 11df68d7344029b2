// The register pages' forms: each `form.api-form` is one call of the API (data-api="METHOD /path"),
// made with the page header (gridops.web.request) so the session cookie alone never changes anything.
// A refusal is shown beside the form in the server's words, under the problem's title in the page's
// language, with the field it names marked and, for a file, each bad row listed.
(function () {
  "use strict";

  const api = window.gridopsApi(document.body.dataset.pageHeader);
  const titles = JSON.parse(document.getElementById("problem-titles").textContent);
  const zh = document.documentElement.lang !== "en";
  const said = {
    saved: zh ? "已保存。" : "Saved.",
    working: zh ? "正在提交…" : "Sending…",
    imported: (n) => zh ? `已导入 ${n} 行。` : `Imported ${n} row(s).`,
    // an import's answer counts its rows, or lists their codes (the categories')
    counted: (a) => {
      const [c, u, k] = [a.created, a.updated, a.unchanged].map((v) => (Array.isArray(v) ? v.length : v ?? 0));
      return zh ? `已导入 ${a.rows} 行：新增 ${c}，修改 ${u}，未变 ${k}。`
        : `Imported ${a.rows} row(s): ${c} added, ${u} changed, ${k} unchanged.`;
    },
    moved: (n) => zh ? `已保存；${n} 件未办结事件已转交。` : `Saved; ${n} open incident(s) handed on.`,
    row: (r) => zh ? `第 ${r.row} 行 ${r.field || ""}：${r.detail}` : `row ${r.row} ${r.field || ""}: ${r.detail}`,
    more: (n) => zh ? `…另有 ${n} 行` : `… and ${n} more row(s)`,
    queued: (d) => zh ? `已加入发送队列（第 ${d.id} 条，${d.status === "queued" ? "排队中" : d.status}）。` : `Queued (copy ${d.id}, ${d.status}).`,
    previewed: zh ? "预览如下（示例数据）。" : "The preview, with sample data:",
    offline: zh ? "无法连接服务器，请检查网络后重试。" : "The server cannot be reached: check the connection and try again.",
  };

  function value(el) {
    if (el.type === "checkbox") return el.checked;
    const raw = el.value.trim();
    if (raw === "") return el.dataset.empty === "null" ? null : undefined;
    switch (el.dataset.type) {
      case "int": return parseInt(raw, 10);
      case "bool": return raw === "true";
      case "number": return Number(raw);
      case "hours": return Math.round(Number(raw) * 60); // a limit typed in hours, kept in minutes
      default: return raw;
    }
  }

  function shifts(form) {
    const out = [];
    form.querySelectorAll("tr[data-weekday]").forEach((tr) => {
      const start = tr.querySelector(".shift-start").value;
      const end = tr.querySelector(".shift-end").value;
      if (start || end) out.push({ weekday: Number(tr.dataset.weekday), start, end });
    });
    return out;
  }

  // The channel settings: only what was changed is sent (emptied: null, back to the environment's);
  // a secret left empty is kept, one ticked "remove" is unset
  function settings(form, body) {
    const values = {};
    for (const el of form.elements) {
      if (!("setting" in el.dataset)) continue;
      if ("clear" in el.dataset) { if (el.checked) values[el.name] = null; continue; }
      const raw = el.value.trim();
      if ("secret" in el.dataset) { if (raw && !(el.name in values)) values[el.name] = raw; continue; }
      if (raw !== (el.dataset.initial || "")) values[el.name] = raw === "" ? null : raw;
    }
    body.values = values;
  }

  // The body and the path: fields marked data-path fill {name} in the path and are not sent;
  // checkboxes marked data-list send the list of the values ticked; a button may call its own API (data-api)
  function request(form, button) {
    const target = (button && button.dataset.api) || form.dataset.api;
    const space = target.indexOf(" ");
    const method = target.slice(0, space);
    let path = target.slice(space + 1);
    if (form.enctype === "multipart/form-data") return [method, path, new FormData(form)];
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || "setting" in el.dataset) continue;
      if (el.type === "checkbox" && "list" in el.dataset) {
        body[el.name] = (body[el.name] || []).concat(el.checked ? [el.value] : []);
        continue;
      }
      const v = value(el);
      if ("path" in el.dataset) {
        path = path.replace(`{${el.name}}`, encodeURIComponent(v ?? ""));
      } else if (v !== undefined) {
        body[el.name] = v;
      }
    }
    if (form.dataset.build === "shifts") body.shifts = shifts(form);
    if (form.dataset.build === "settings") settings(form, body);
    return [method, path, method === "DELETE" ? undefined : body];
  }

  function show(form, text, kind) {
    const status = form.querySelector(".form-status");
    status.textContent = text;
    status.className = "form-status " + (kind || "");
    return status;
  }

  function refused(form, err) {
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const p = err.problem;
    if (!p) {
      show(form, err.status ? err.message : said.offline, "bad").setAttribute("role", "alert");
      return;
    }
    const slug = (p.type || "").split("/").pop();
    const status = show(form, `${titles[slug] || p.title}：${p.detail || ""}`, "bad");
    status.setAttribute("role", "alert");
    const field = p.field && form.querySelector(`[name="${CSS.escape(String(p.field).split(".").pop())}"]`);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
    if (Array.isArray(p.rows) && p.rows.length) {
      const list = document.createElement("ul");
      list.className = "bad-rows";
      p.rows.slice(0, 50).forEach((r) => {
        const li = document.createElement("li");
        li.textContent = said.row(r);
        list.appendChild(li);
      });
      if (p.rows.length > 50) list.appendChild(Object.assign(document.createElement("li"), { textContent: said.more(p.rows.length - 50) }));
      status.appendChild(list);
    }
  }

  function done(form, answer, button) {
    const then = form.dataset.then;
    if (button && button.dataset.show) { // a preview: shown beside the form, nothing stored, nothing reloaded
      show(form, said.previewed, "ok");
      document.querySelector(button.dataset.show).textContent = answer.text;
      return;
    }
    if (form.dataset.qr && answer && answer.qr_svg) { // a sign-in QR code: shown for the phone to scan, nothing reloaded
      const box = document.querySelector(form.dataset.qr);
      const until = new Date(answer.shift_ends_at).toLocaleString(document.documentElement.lang || "zh-CN", {
        month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
        timeZone: document.body.dataset.timezone || undefined }); // the city's time, whatever the desk's clock says
      box.querySelector("img").src = answer.qr_svg;
      box.querySelector("a").href = answer.url;
      box.querySelector("figcaption span").textContent = box.dataset.caption.replace("{until}", until);
      box.hidden = false;
      show(form, said.saved, "ok");
      return;
    }
    if (answer && answer.key && answer.notification) show(form, said.queued(answer), "ok");
    else if (answer && Array.isArray(answer.moved)) show(form, said.moved(answer.moved.length), "ok");
    else if (answer && answer.created !== undefined) show(form, said.counted(answer), "ok");
    else if (answer && Array.isArray(answer.years)) show(form, said.imported(answer.days), "ok");
    else show(form, said.saved, "ok");
    const target = then && then.startsWith("/") ? then.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent((answer || {})[k] ?? "")) : null;
    window.setTimeout(() => { if (target) window.location.assign(target); else window.location.reload(); }, 900);
  }

  document.querySelectorAll("form.api-form").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      const button = event.submitter || form.querySelector("button[type=submit]");
      button.disabled = true;
      show(form, said.working);
      try {
        const [method, path, body] = request(form, event.submitter);
        done(form, await api(method, path, body), event.submitter);
      } catch (err) {
        refused(form, err);
      } finally {
        button.disabled = false;
      }
    });
  });
})();
