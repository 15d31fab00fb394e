/**
 * `sealcam view --live --web`: a local page for the browser viewer. The bundle is built with
 * esbuild at start (node:crypto replaced by tweetnacl, see node-crypto-shim.ts). The page gets the
 * viewer's keys and relay login from /config.json, which answers only with the random token in the
 * page's URL and only on the loopback address; decryption happens in the page, which keeps the
 * stream state (replay protection) in its localStorage, per camera.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { toHex, type ExpectedRoster, type Identity, type PublicIdentity } from '../../protocol/index.js';
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

export async function bundleViewerApp(): Promise<string> {
  const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  const result = await build({
    entryPoints: [here('./app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    minify: true,
    alias: { 'node:crypto': here('./node-crypto-shim.ts') },
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
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
}

export async function startWebViewer(o: WebViewerOptions): Promise<WebViewer> {
  const app = await bundleViewerApp();
  const token = randomBytes(16).toString('hex');
  const config = JSON.stringify({
    identitySecret: toHex(o.identity.exportSecret()),
    camera: { signPublicKey: toHex(o.camera.signPublicKey), boxPublicKey: toHex(o.camera.boxPublicKey), name: o.cameraName },
    ...(o.expectedRoster ? { expectedRoster: { rosterVersion: o.expectedRoster.rosterVersion, viewerIds: o.expectedRoster.viewerIds.map(toHex) } } : {}),
    wsUrl: o.wsUrl,
    account: o.login.account,
    username: o.login.username,
    password: o.login.password,
  });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://viewer');
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    if (url.pathname === '/') return res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    if (url.pathname === '/app.js') return res.writeHead(200, { ...headers, 'content-type': 'text/javascript' }).end(app);
    if (url.pathname === '/config.json' && url.searchParams.get('t') === token) return res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(config);
    res.writeHead(404, headers).end('not found\n');
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/?t=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
