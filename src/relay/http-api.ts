/**
 * The relay's HTTP API: history for viewers, provisioning for cameras. Viewers authenticate with
 * HTTP Basic (their MQTT login) and see only their own account. Everything served is ciphertext
 * or public header fields. PROTOCOL.md §15.6 is the exact contract.
 *
 *   GET  /v1/info                                        → {mqttUrl, wsUrl, fingerprint} where devices and viewers connect
 *   POST /v1/provision                                   {token, cameraId, signPublicKey, boxPublicKey, signature} → camera login + mqttUrl
 *   POST /v1/accounts/:a/provisioning-tokens             → {token, expiresAt}               (viewer)
 *   GET  /v1/accounts/:a/usage                           → the account's quota, use, evictions and refusals
 *   GET  /v1/accounts/:a/cameras                         → [{camera, segments, bytes, …, status}]
 *   GET  /v1/accounts/:a/cameras/:c/segments?since&until&after&limit → {items: [{seq, epoch, …}], next}
 *   GET  /v1/accounts/:a/cameras/:c/segments/:seq        → the sealed envelope (streamed)
 *   GET  /v1/accounts/:a/cameras/:c/keys?after&limit     → {items: [{epoch}], next}
 *   GET  /v1/accounts/:a/cameras/:c/keys/:epoch          → the signed epoch announcement
 *   GET  /app/…                                          → the owner's phone app, when built in (static files)
 *
 * Every error is {"error": message, "code": "E_…"}: no path, no stack trace; an unexpected one is
 * 500 E_INTERNAL and its detail goes to the relay's log only.
 *
 * CORS (the app self-hosted on another origin, `relay --app-origin`): the /v1/ API answers a
 * browser only from the configured origins, each echoed exactly (never `*`, never
 * Access-Control-Allow-Credentials: the app sends its login in the Authorization header itself).
 * Default: none, so only the relay's own /app/ (same origin) can read it.
 */
import { createHash } from 'node:crypto';
import type { OpenedFile } from './store-backend.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { TLS_HANDSHAKE_TIMEOUT_MS, type TlsIdentity } from './tls.js';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { SealcamError, type ErrorCode } from '../protocol/errors.js';
import { fromHex } from '../protocol/bytes.js';
import type { Principal } from './acl.js';
import type { AccountStore } from './accounts.js';
import { MAX_PAGE, type OpaqueStore, type Page } from './store.js';
import { LoginGuard } from './login-guard.js';

export interface HttpApi {
  port: number;
  /** the origins (scheme://host[:port]) whose pages may call the /v1/ API (CORS); replaces the previous list */
  allowAppOrigins(origins: readonly string[]): void;
  close(): Promise<void>;
}

/** `https://app.example` (or http://…) as the browser sends it in Origin; anything else is E_CONFIG. */
export function appOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SealcamError('E_CONFIG', `app origin ${JSON.stringify(text)}: expected https://host[:port]`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.pathname !== '/' || url.search || url.hash || text.replace(/\/$/, '') !== url.origin) {
    throw new SealcamError('E_CONFIG', `app origin ${JSON.stringify(text)}: expected scheme://host[:port] only (no path, no *), e.g. https://app.example`);
  }
  return url.origin;
}

const CORS_PREFLIGHT_MAX_AGE_S = 600;

/** A successful login is reused this long, and only while no login changed (AccountStore.version). */
export const AUTH_CACHE_MS = 30_000;
const AUTH_CACHE_ENTRIES = 1000;
const MAX_BODY = 4096;
const MAX_EPOCH = 0xffff_ffff;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** HTTP status of each SealcamError code a route may raise (§15.6). */
// E_BROKER: the store's backend (a NATS cluster electing a leader) did not answer in time; try again.
const STATUS: Partial<Record<ErrorCode, number>> = { E_AUTH: 403, E_QUOTA: 403, E_BAD_REQUEST: 400, E_NOT_FOUND: 404, E_GONE: 410, E_BROKER: 503 };

export interface RelayInfo {
  mqttUrl: string;
  wsUrl: string | null;
  /** the relay's key fingerprint (§15.8), null when plaintext */
  fingerprint: string | null;
}

export interface HttpApiOptions {
  accounts: AccountStore;
  store: OpaqueStore;
  info: () => RelayInfo;
  host?: string;
  port?: number;
  /** serve HTTPS with this certificate (§15.8); absent: plain HTTP */
  tls?: TlsIdentity;
  /** login rate limits and the bounded hashing pool, shared with the broker (§11.3; default: a new one) */
  loginGuard?: LoginGuard;
  log?: (msg: string) => void;
  /** the owner's phone app to serve at /app/ (built by src/cli/app.ts; the relay imports none of its code) */
  app?: ReadonlyMap<string, { contentType: string; body: Uint8Array }>;
  /** origins of a self-hosted app allowed to call the /v1/ API (CORS; default none: same origin only) */
  appOrigins?: readonly string[];
}

/** The app's page may talk only to this relay (and its MQTT over WebSocket): no inline script, no other origin. */
const APP_CSP = "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; style-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** A static file of the app, or a redirect from /app to /app/. */
function serveApp(res: ServerResponse, app: NonNullable<HttpApiOptions['app']>, pathname: string): void {
  if (pathname === '/app') return void res.writeHead(301, { location: '/app/' }).end();
  const file = app.get(pathname.slice('/app/'.length) || 'index.html');
  if (!file) throw new HttpError(404, 'E_NOT_FOUND', 'not found');
  res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.body.length, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'content-security-policy': APP_CSP });
  res.end(file.body);
}

/** HTTP status and Retry-After for the login guard's refusals. */
const GUARD_STATUS: Partial<Record<ErrorCode, number>> = { E_RATE_LIMITED: 429, E_OVERLOADED: 503 };

export async function startHttpApi(o: HttpApiOptions): Promise<HttpApi> {
  const log = o.log ?? (() => undefined);
  const loginGuard = o.loginGuard ?? new LoginGuard();
  const authCache = new Map<string, { principal: Principal; until: number; version: number }>();
  let origins: ReadonlySet<string> = new Set((o.appOrigins ?? []).map(appOrigin));

  /** CORS for /v1/: an allowed Origin is echoed; a preflight from any other is refused. Returns true when answered. */
  const cors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    if (origins.size) res.setHeader('vary', 'Origin');
    const allowed = origin !== undefined && origins.has(origin);
    if (allowed) res.setHeader('access-control-allow-origin', origin);
    if (req.method !== 'OPTIONS') return false;
    if (!allowed) throw new HttpError(403, 'E_AUTH', `origin ${origin === undefined ? '(none)' : JSON.stringify(origin.slice(0, 100))} may not call this API (relay --app-origin)`);
    res.writeHead(204, { 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'authorization, content-type', 'access-control-max-age': String(CORS_PREFLIGHT_MAX_AGE_S) }).end();
    return true;
  };

  const authenticate = async (req: IncomingMessage): Promise<Principal> => {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    if (!m) throw new HttpError(401, 'E_AUTH', 'authentication required');
    const cacheKey = createHash('sha256').update(m[1]!).digest('hex');
    const version = await o.accounts.version();
    const hit = authCache.get(cacheKey);
    if (hit && hit.until > Date.now() && hit.version === version) return hit.principal;
    authCache.delete(cacheKey);
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const username = decoded.slice(0, Math.max(0, i));
    let principal: Principal | null = null;
    try {
      // The same limits as MQTT logins: a flood of bad passwords is refused before any hashing.
      principal = i > 0 ? await loginGuard.attempt(req.socket.remoteAddress ?? 'unknown', username, () => o.accounts.authenticate(username, decoded.slice(i + 1))) : null;
    } catch (e) {
      if (SealcamError.is(e) && GUARD_STATUS[e.code]) throw new HttpError(GUARD_STATUS[e.code]!, e.code, e.message.replace(/^E_[A-Z_]+: /, ''));
      throw e;
    }
    if (!principal) throw new HttpError(401, 'E_AUTH', 'bad username or password');
    if (authCache.size >= AUTH_CACHE_ENTRIES) authCache.clear();
    authCache.set(cacheKey, { principal, until: Date.now() + AUTH_CACHE_MS, version });
    return principal;
  };

  const viewerOf = async (req: IncomingMessage, account: string): Promise<Principal> => {
    const p = await authenticate(req);
    if (p.role !== 'viewer' || p.account !== account) throw new HttpError(403, 'E_AUTH', 'this login may not read this account');
    return p;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const parts = url.pathname.split('/').filter(Boolean);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
    };
    if (parts[0] === 'app' && o.app && req.method === 'GET') return serveApp(res, o.app, url.pathname);
    if (parts[0] !== 'v1') throw new HttpError(404, 'E_NOT_FOUND', 'not found');
    if (cors(req, res)) return;
    if (req.method === 'GET' && parts.length === 2 && parts[1] === 'info') return json(200, o.info());
    if (req.method === 'POST' && parts.length === 2 && parts[1] === 'provision') {
      const { token, proof } = provisionRequest(await readJson(req));
      return json(200, { ...(await o.accounts.redeemProvisioningToken(token, proof)), mqttUrl: o.info().mqttUrl });
    }
    if (parts[1] !== 'accounts' || parts.length < 4) throw new HttpError(404, 'E_NOT_FOUND', 'not found');
    const account = parts[2]!;
    await viewerOf(req, account);
    if (req.method === 'POST' && parts.length === 4 && parts[3] === 'provisioning-tokens') {
      return json(200, await o.accounts.issueProvisioningToken(account));
    }
    if (req.method !== 'GET') throw new HttpError(405, 'E_BAD_REQUEST', 'method not allowed');
    // What other workers sharing the store directory filed or evicted (NATS scale-out), at a bounded cost (store.ts rescan).
    if (parts.length === 4 && parts[3] === 'usage') return json(200, (await o.store.rescan(account), o.store.usage(account)));
    if (parts[3] !== 'cameras') throw new HttpError(404, 'E_NOT_FOUND', 'not found');
    if (parts.length === 4) return json(200, (await o.store.rescan(account), o.store.cameraSummaries(account)));
    const camera = parts[4]!;
    if (!/^[0-9a-f]{32}$/.test(camera)) throw new HttpError(400, 'E_BAD_REQUEST', 'camera id: expected 32 lowercase hex digits');
    const q = url.searchParams;
    // Listings rescan; one file is looked up in the index first and rescanned only when it is not
    // there, so a listed file that vanished from disk stays a 410 E_GONE (not a quiet 404).
    if (parts.length === 6) await o.store.rescan(account, camera);
    const orRescan = async <T>(find: () => Promise<T | null>): Promise<T | null> => (await find()) ?? (await o.store.rescan(account, camera), await find());
    if (parts[5] === 'segments' && parts.length === 6) {
      const since = optionalTime(q.get('since'), 'since');
      const until = optionalTime(q.get('until'), 'until');
      const after = optionalCanonical(q.get('after'), 'after', Number.MAX_SAFE_INTEGER);
      const limit = optionalLimit(q.get('limit'));
      const page = o.store.segmentPage(account, camera, { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), ...(after !== undefined ? { after } : {}), ...(limit !== undefined ? { limit } : {}) });
      return writePage(res, { items: page.items.map(({ seq, epoch, captureTime, bytes, final, kind }) => ({ seq, epoch, captureTime, bytes, final, kind })), next: page.next });
    }
    if (parts[5] === 'segments' && parts.length === 7) {
      const seq = canonical(parts[6]!, 'seq', Number.MAX_SAFE_INTEGER);
      const file = await orRescan(() => o.store.openSegment(account, camera, seq));
      if (!file) throw new HttpError(404, 'E_NOT_FOUND', `no segment ${seq}`);
      return sendFile(res, file);
    }
    if (parts[5] === 'keys' && parts.length === 6) {
      const after = optionalCanonical(q.get('after'), 'after', MAX_EPOCH);
      const limit = optionalLimit(q.get('limit'));
      const page = o.store.announcementPage(account, camera, { ...(after !== undefined ? { after } : {}), ...(limit !== undefined ? { limit } : {}) });
      return writePage(res, { items: page.items.map(({ epoch }) => ({ epoch })), next: page.next });
    }
    if (parts[5] === 'keys' && parts.length === 7) {
      const epoch = canonical(parts[6]!, 'epoch', MAX_EPOCH);
      const file = await orRescan(() => o.store.openAnnouncement(account, camera, epoch));
      if (!file) throw new HttpError(404, 'E_NOT_FOUND', `no announcement for epoch ${epoch}`);
      return sendFile(res, file);
    }
    throw new HttpError(404, 'E_NOT_FOUND', 'not found');
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((e: unknown) => {
      let err: HttpError;
      if (e instanceof HttpError) err = e;
      else if (SealcamError.is(e) && STATUS[e.code]) err = new HttpError(STATUS[e.code]!, e.code, e.message.replace(/^E_[A-Z_]+: /, ''));
      else {
        // The detail (it may name a path) goes to the operator's log, never to the client.
        log(`http ${req.method} ${req.url}: internal error: ${e instanceof Error ? e.message : String(e)}`);
        err = new HttpError(500, 'E_INTERNAL', 'internal error');
      }
      if (res.headersSent) return void res.destroy();
      res.writeHead(err.status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...(err.status === 401 ? { 'www-authenticate': 'Basic realm="sealcam"' } : {}) });
      res.end(`${JSON.stringify({ error: err.message, code: err.code })}\n`);
    });
  };
  const server: Server = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, onRequest) : createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new SealcamError('E_BROKER', `cannot listen for HTTP on ${o.port ?? 0}: ${e.code ?? e.message}`)));
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    allowAppOrigins: (list) => {
      origins = new Set(list.map(appOrigin));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A page as JSON, written item by item: `{"items":[…],"next":N|null}`. */
async function writePage(res: ServerResponse, page: Page<unknown>): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.write('{"items":[');
  page.items.forEach((item, i) => res.write(`${i ? ',' : ''}${JSON.stringify(item)}`));
  res.end(`],"next":${JSON.stringify(page.next)}}\n`);
}

/** A stored file streamed from the store's backend (a file opened O_NOFOLLOW, or an object); never read whole into memory. */
async function sendFile(res: ServerResponse, file: OpenedFile): Promise<void> {
  try {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.size, 'cache-control': 'no-store' });
    await pipeline(file.body(), res);
  } finally {
    await file.close();
  }
}

/** The body of POST /v1/provision, checked for shape only (the proof is checked by accounts.ts). */
function provisionRequest(body: Record<string, unknown>) {
  const hex = (name: string, bytes: number): Uint8Array => {
    const v = body[name];
    if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(v)) throw new HttpError(400, 'E_BAD_REQUEST', `${name}: expected ${bytes * 2} lowercase hex digits`);
    return fromHex(v);
  };
  if (typeof body.token !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(body.token)) throw new HttpError(400, 'E_BAD_REQUEST', 'token: expected 22 base64url characters (16 bytes)');
  const token = new Uint8Array(Buffer.from(body.token, 'base64url'));
  if (Buffer.from(token).toString('base64url') !== body.token) throw new HttpError(400, 'E_BAD_REQUEST', 'token: not canonical base64url');
  return { token, proof: { cameraId: hex('cameraId', 16), signPublicKey: hex('signPublicKey', 32), boxPublicKey: hex('boxPublicKey', 32), signature: hex('signature', 64) } };
}

/** A decimal number in canonical form (no sign, no leading zero, no exponent), at most `max`. */
function canonical(value: string, what: string, max: number): number {
  const n = /^(0|[1-9][0-9]{0,15})$/.test(value) ? Number(value) : NaN;
  if (!(n <= max)) throw new HttpError(400, 'E_BAD_REQUEST', `${what}: expected a decimal integer 0..${max} without leading zeros`);
  return n;
}

function optionalCanonical(value: string | null, what: string, max: number): number | undefined {
  return value === null ? undefined : canonical(value, what, max);
}

function optionalLimit(value: string | null): number | undefined {
  if (value === null) return undefined;
  const n = canonical(value, 'limit', MAX_PAGE);
  if (n < 1) throw new HttpError(400, 'E_BAD_REQUEST', `limit: expected 1..${MAX_PAGE}`);
  return n;
}

function optionalTime(value: string | null, what: string): number | undefined {
  if (value === null) return undefined;
  const n = /^\d+$/.test(value) ? canonical(value, what, Number.MAX_SAFE_INTEGER) : Date.parse(value);
  if (!Number.isFinite(n)) throw new HttpError(400, 'E_BAD_REQUEST', `${what}: expected ms since the Unix epoch or an ISO date`);
  return n;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'E_BAD_REQUEST', 'request body too large');
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'E_BAD_REQUEST', 'expected a JSON object');
  }
}
