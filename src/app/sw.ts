/**
 * The service worker: the app's files are cached at install, so the app opens without the network
 * (and lists the cameras kept on the phone). The app shell is served cache-first and refreshed
 * in the background; the relay's API (/v1/…) is never cached (ciphertext, and always live).
 * The cache name carries the app's hash, so a new build replaces the old files at once.
 */
interface WaitEvent {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent {
  request: Request;
  respondWith(r: Promise<Response>): void;
}
/** the parts of ServiceWorkerGlobalScope used here (the DOM lib in tsconfig has no webworker types) */
const sw = self as unknown as {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', f: (e: WaitEvent) => void): void;
  addEventListener(type: 'fetch', f: (e: FetchEvent) => void): void;
};
declare const APP_FILES: string[];
declare const APP_HASH: string;

const CACHE = `sealcam-app-${APP_HASH.slice(0, 16)}`;

sw.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(APP_FILES)).then(() => sw.skipWaiting()));
});

sw.addEventListener('activate', (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('sealcam-app-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== sw.location.origin || !url.pathname.startsWith(new URL('./', sw.location.href).pathname)) return;
  e.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const hit = await cache.match(e.request, { ignoreSearch: true });
      if (hit) return hit;
      return fetch(e.request);
    }),
  );
});
