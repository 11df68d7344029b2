/* The grid worker page's service worker (gridops.web.pages.worker): Workbox, from this service only.
   What it keeps on the phone, so the page opens and shows its work with no signal:
   - the page's scripts, styles, Leaflet and icons: precached when it installs, each by a hash of its bytes;
   - the page itself and today's tasks: network first (a few seconds on a weak link), else the copy kept;
     an answer from the copy says so (X-Gridops-Offline), and the page shows when it was synced;
   - the task details, the grids' outlines and the city's base-map tiles: kept as they are used (the tiles for a day).
   It never answers a POST: the steps go through the page's outbox (IndexedDB), which keeps them until the
   server has stored them. */
importScripts({{ (workbox ~ "workbox-sw.js") | tojson }});
workbox.setConfig({ modulePathPrefix: {{ workbox | tojson }}, debug: false });

const PAGE = {{ page | tojson }};
const PRECACHE = {{ precache | tojson }};
const PAGES = "gridops-worker-page";
const TASKS = "gridops-worker-tasks";
const DATA = "gridops-worker-data";
const TILES = "gridops-worker-basemap";

const { precacheAndRoute, cleanupOutdatedCaches } = workbox.precaching;
const { registerRoute } = workbox.routing;
const { CacheFirst, NetworkFirst, StaleWhileRevalidate } = workbox.strategies;
const { ExpirationPlugin } = workbox.expiration;
const { CacheableResponsePlugin } = workbox.cacheableResponse;

self.skipWaiting();
workbox.core.clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(PRECACHE);

// only whole, fresh answers are kept: never a redirect to the sign-in page in place of the work
const whole = new CacheableResponsePlugin({ statuses: [200] });
const notRedirected = { cacheWillUpdate: async ({ response }) => (response && !response.redirected ? response : null) };
// one copy of a list whatever position it was asked from (?lon=&lat= change as the worker walks)
const oneCopy = { cacheKeyWillBeUsed: async ({ request }) => new URL(request.url).pathname };
// an answer from the kept copy says so: the page then shows "offline · last synced …"
const sayOffline = {
  cachedResponseWillBeUsed: async ({ cachedResponse }) => {
    if (!cachedResponse) return null;
    const headers = new Headers(cachedResponse.headers);
    headers.set("X-Gridops-Offline", "1");
    headers.delete("Content-Encoding"); // the blob is the body as decoded (the server gzips it): say nothing else
    headers.delete("Content-Length");
    return new Response(await cachedResponse.blob(), { status: cachedResponse.status, statusText: cachedResponse.statusText, headers });
  },
};

registerRoute(({ request, url }) => request.mode === "navigate" && url.pathname === PAGE,
  new NetworkFirst({ cacheName: PAGES, networkTimeoutSeconds: 4, plugins: [whole, notRedirected, oneCopy] }));
registerRoute(({ url }) => url.pathname === "/api/v1/me/tasks",
  new NetworkFirst({ cacheName: TASKS, networkTimeoutSeconds: 6, plugins: [whole, notRedirected, oneCopy, sayOffline] }));
registerRoute(({ url }) => /^\/api\/v1\/(incidents\/\d+|areas\/[^/]+)$/.test(url.pathname),
  new NetworkFirst({ cacheName: DATA, networkTimeoutSeconds: 6, plugins: [whole, notRedirected, sayOffline,
    new ExpirationPlugin({ maxEntries: 300, maxAgeSeconds: 14 * 24 * 3600 })] }));
// the city's base map changes seldom: a tile kept less than a day is used as it is, not fetched again on every visit
// (on one bar of signal the tiles of one screen are some 80 KB, sharing the line with the tasks)
registerRoute(({ url }) => url.pathname.startsWith("/api/v1/basemap/"),
  new CacheFirst({ cacheName: TILES, plugins: [whole,
    new ExpirationPlugin({ maxEntries: 3000, maxAgeSeconds: 24 * 3600, purgeOnQuotaError: true })] }));
registerRoute(({ url }) => url.origin === self.location.origin && url.pathname.startsWith("/static/"),
  new StaleWhileRevalidate({ cacheName: DATA, plugins: [whole] }));

// the page as it was first opened (before this worker controlled it) is kept at once, signed-in copy and all
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(PAGES).then((cache) => cache.add(new Request(PAGE, { credentials: "same-origin" }))).catch(() => null));
});

// the page tells what it fetched before this worker controlled it (its tasks, its map's tiles): kept the same way
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "KEEP" || !Array.isArray(data.urls)) return;
  const kept = data.urls.map(async (raw) => {
    const url = new URL(raw, self.location.origin);
    if (url.origin !== self.location.origin) return;
    const name = url.pathname === "/api/v1/me/tasks" ? TASKS : url.pathname.startsWith("/api/v1/basemap/") ? TILES : DATA;
    const key = name === TASKS ? url.pathname : url.href;
    const cache = await caches.open(name);
    if (name !== TASKS && (await cache.match(key))) return;
    const res = await fetch(url.href, { credentials: "same-origin" });
    if (res.ok && !res.redirected) await cache.put(key, res);
  });
  event.waitUntil(Promise.allSettled(kept).then(() => event.source && event.source.postMessage({ type: "KEPT" })));
});
