/**
 * `sealcam view --live --web`: a local page for the browser viewer. The bundle is built with
 * esbuild at start (node:crypto replaced by tweetnacl, see node-crypto-shim.ts). The page gets the
 * viewer's keys and relay login from /config.json, which answers once to the random token in the
 * page's URL (then only to the session cookie of the browser that used it, so a reload works), only
 * on the loopback address, only to the Host the CLI printed (no DNS rebinding) and never to another
 * origin; decryption happens in the page, which keeps the
 * stream state (replay protection) in its localStorage, per camera, and also hands it to this
 * server (POST /state), which keeps it in the owner home with the CLI's (streams/<camera>.json): a
 * page on a new port (a new origin, an empty localStorage) still refuses a replay of video shown
 * before, in the page or by `view --live`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { SealcamError, StreamState, toHex, type ExpectedRoster, type Identity, type PublicIdentity, type StreamSnapshot } from '../../protocol/index.js';
import type { RelayLogin } from '../history.js';

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>sealcam viewer</title>
<style>body{font-family:system-ui,sans-serif;background:#111;color:#eee;margin:1rem}canvas{background:#000;max-width:100%;outline:6px solid transparent;outline-offset:-6px}
canvas.unconfirmed{outline-color:#e8a317}canvas.confirmed{outline-color:#2e8b57}#unconfirmed.pending{color:#e8a317}#unconfirmed.ok{color:#7c7}
#message,#alarm{color:#f88;min-height:1.2em}#alarm{font-weight:bold}#rejections{color:#f88;font-size:.9em}</style></head>
<body><h1>sealcam</h1><div id="status">starting…</div><div id="lastseen"></div><div id="latency"></div><div id="alarm"></div><div id="message"></div>
<div id="unconfirmed" title="Chunks are shown as soon as they arrive; the camera's signed seal at the end of each segment confirms them. An amber border marks a picture not yet confirmed."></div>
<canvas id="video" width="640" height="360"></canvas><div id="rejections"></div>
<script type="module" src="/app.js"></script></body></html>`;

export interface WebViewer {
  url: string;
  close(): Promise<void>;
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * src/app on disk, found by path (nothing here imports it): beside this file in a checkout
 * (src/owner/web → src/app), or from the compiled CLI (dist/cli → src/app); null when not shipped.
 */
export const APP_SOURCES: string | null = ['../../app/', '../../src/app/'].map(here).find((d) => existsSync(join(d, 'main.ts'))) ?? null;

function appSource(file: string): string {
  if (!APP_SOURCES) throw new SealcamError('E_CONFIG', 'the app sources (src/app) are not installed here: the browser pages cannot be built');
  return join(APP_SOURCES, file);
}

/** Bundle a browser entry point of src/app into one ES module. */
export async function bundleForBrowser(entry: string, define: Record<string, string> = {}): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [appSource(entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    minify: true,
    legalComments: 'none',
    define,
    alias: { 'node:crypto': appSource('node-crypto-shim.ts') },
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.contents;
}

export async function bundleViewerApp(): Promise<string> {
  return new TextDecoder().decode(await bundleForBrowser('debug-viewer.ts'));
}

export interface WebViewerOptions {
  identity: Identity;
  camera: PublicIdentity;
  cameraName: string;
  login: RelayLogin;
  wsUrl: string;
  port?: number;
  /** the roster the owner last signed for this camera: the page raises E_ROSTER_LAGGING against it */
  expectedRoster?: ExpectedRoster;
  /** where the stream state lives between runs (the owner home's streams/<camera>.json) */
  state?: StreamStore;
}

/** The owner home's stream state for one camera (OwnerHome.streamState / saveStreamState). */
export interface StreamStore {
  load(): Promise<StreamSnapshot | null>;
  save(snapshot: StreamSnapshot): Promise<void>;
}

const MAX_STATE_BYTES = 4096;

/**
 * Take a stream state the page sends: it must parse as §8.5 (else E_MALFORMED), and it is kept
 * only if it is ahead of the stored one, so a page (or whoever holds its cookie) can never move
 * the owner's replay protection backwards.
 */
async function advanceState(store: StreamStore, body: string): Promise<boolean> {
  let snapshot: StreamSnapshot;
  try {
    snapshot = JSON.parse(body) as StreamSnapshot;
    StreamState.fromJSON(snapshot);
  } catch (e) {
    throw new SealcamError('E_MALFORMED', `stream state: ${e instanceof Error ? e.message : String(e)}`);
  }
  const stored = await store.load();
  if (snapshot.highestSeq === null || (stored?.highestSeq !== null && stored !== null && snapshot.highestSeq <= stored.highestSeq)) return false;
  await store.save(snapshot);
  return true;
}

export async function startWebViewer(o: WebViewerOptions): Promise<WebViewer> {
  const app = await bundleViewerApp();
  const token = randomBytes(16).toString('hex');
  const config = async () => JSON.stringify({
    snapshot: (await o.state?.load()) ?? null,
    identitySecret: toHex(o.identity.exportSecret()),
    camera: { signPublicKey: toHex(o.camera.signPublicKey), boxPublicKey: toHex(o.camera.boxPublicKey), name: o.cameraName },
    ...(o.expectedRoster ? { expectedRoster: { rosterVersion: o.expectedRoster.rosterVersion, viewerIds: o.expectedRoster.viewerIds.map(toHex) } } : {}),
    wsUrl: o.wsUrl,
    account: o.login.account,
    username: o.login.username,
    password: o.login.password,
  });
  // The link's token opens the config once; the browser that used it gets a session cookie
  // (HttpOnly, SameSite=Strict) so a reload still works, and nobody else can use the link again.
  let tokenUsed = false;
  const session = randomBytes(32).toString('hex');
  let origin = '';
  const cookieName = () => `sealcam-viewer-${new URL(origin).port}`;
  let saving = Promise.resolve<unknown>(null);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<unknown> => {
    const url = new URL(req.url ?? '/', 'http://viewer');
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
    // DNS rebinding: a page of another site whose name resolves to 127.0.0.1 sends its own Host.
    if (req.headers.host !== new URL(origin).host) return res.writeHead(421, headers).end('wrong Host: open the address sealcam printed\n');
    if (url.pathname === '/') return res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    if (url.pathname === '/app.js') return res.writeHead(200, { ...headers, 'content-type': 'text/javascript' }).end(app);
    if (url.pathname === '/config.json') {
      if (!sameOrigin(req, origin)) return res.writeHead(403, headers).end('cross-origin request refused\n');
      const hasSession = cookieOf(req, cookieName()) === session;
      const t = url.searchParams.get('t');
      const freshToken = !tokenUsed && t !== null && t === token;
      if (!hasSession && !freshToken) return res.writeHead(403, headers).end('this link was already used: start `sealcam view --live --web` again for a new one\n');
      tokenUsed = true;
      return res.writeHead(200, { ...headers, 'content-type': 'application/json', 'set-cookie': `${cookieName()}=${session}; HttpOnly; SameSite=Strict; Path=/` }).end(await config());
    }
    if (url.pathname === '/state' && req.method === 'POST') {
      if (!sameOrigin(req, origin) || cookieOf(req, cookieName()) !== session) return res.writeHead(403, headers).end('not this viewer\'s page\n');
      if (!o.state) return res.writeHead(204, headers).end();
      const body = await readBody(req, MAX_STATE_BYTES);
      if (body === null) return res.writeHead(413, headers).end('E_MALFORMED: stream state too large\n');
      const result = (saving = saving.then(() => advanceState(o.state!, body)));
      try {
        return res.writeHead((await result) ? 204 : 409, headers).end();
      } catch (e) {
        if (!SealcamError.is(e)) throw e;
        return res.writeHead(400, headers).end(`${e.code}: ${e.message}\n`);
      }
    }
    return res.writeHead(404, headers).end('not found\n');
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { 'cache-control': 'no-store' }).end('E_INTERNAL: the viewer server failed on this request\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/?t=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Refuse what a browser marks as coming from another origin (Origin, Sec-Fetch-Site); tools send neither. */
function sameOrigin(req: IncomingMessage, origin: string): boolean {
  const from = req.headers.origin;
  if (from !== undefined && from !== origin) return false;
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

/** The request body as text, or null when it is longer than `limit` bytes (the rest is read and dropped, never kept). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= limit) parts.push(d);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function cookieOf(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === name && v !== undefined) return v;
  }
  return null;
}
