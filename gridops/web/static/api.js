// How a gridops page calls the API: the page header that cross-site requests cannot send, the
// session cookie, JSON or FormData bodies, and problem details (RFC 9457) turned into errors
// that carry the server's own sentence. A 401 sends the user to sign in and back.
(function () {
  "use strict";

  window.gridopsApi = function (pageHeader) {
    const headers = { "X-Requested-With": pageHeader, "Accept": "application/json" };
    return async function api(method, path, body) {
      const init = { method, headers: { ...headers }, credentials: "same-origin" };
      if (body instanceof FormData) {
        init.body = body;
      } else if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const res = await fetch(path, init);
      const data = (res.headers.get("Content-Type") || "").includes("json") ? await res.json() : null;
      if (res.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      }
      if (!res.ok) {
        const err = new Error((data && (data.detail || data.title)) || res.statusText);
        err.problem = data;
        err.status = res.status;
        throw err;
      }
      return data;
    };
  };
})();
