/**
 * The relay's HTTP API: history for viewers, provisioning for cameras. Viewers authenticate with
 * HTTP Basic (their MQTT login) and see only their own account. Everything served is ciphertext
 * or public header fields.
 *
 *   GET  /v1/info                                        → {mqttUrl, wsUrl} where devices and viewers connect
 *   POST /v1/provision                                   {token, cameraId} → camera login + mqttUrl (token is single-use)
 *   POST /v1/accounts/:a/provisioning-tokens             → {token, expiresAt}               (viewer)
 *   GET  /v1/accounts/:a/cameras                         → [{camera, segments, bytes, firstSeq, lastSeq}]
 *   GET  /v1/accounts/:a/cameras/:c/segments?since&until → [{seq, epoch, captureTime, bytes, final, kind}]
 *   GET  /v1/accounts/:a/cameras/:c/segments/:seq        → the sealed envelope
 *   GET  /v1/accounts/:a/cameras/:c/keys                 → [{epoch}]
 *   GET  /v1/accounts/:a/cameras/:c/keys/:epoch          → the signed epoch announcement
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SealcamError } from '../protocol/errors.js';
import type { Principal } from './acl.js';
import type { AccountStore } from './accounts.js';
import type { OpaqueStore } from './store.js';

export interface HttpApi {
  port: number;
  close(): Promise<void>;
}

const AUTH_CACHE_MS = 5 * 60 * 1000;
const MAX_BODY = 4096;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RelayInfo {
  mqttUrl: string;
  wsUrl: string | null;
}

export async function startHttpApi(o: { accounts: AccountStore; store: OpaqueStore; info: () => RelayInfo; host?: string; port?: number }): Promise<HttpApi> {
  const authCache = new Map<string, { principal: Principal; until: number }>();

  const authenticate = async (req: IncomingMessage): Promise<Principal> => {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    if (!m) throw new HttpError(401, 'authentication required');
    const cacheKey = createHash('sha256').update(m[1]!).digest('hex');
    const hit = authCache.get(cacheKey);
    if (hit && hit.until > Date.now()) return hit.principal;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const principal = i > 0 ? await o.accounts.authenticate(decoded.slice(0, i), decoded.slice(i + 1)) : null;
    if (!principal) throw new HttpError(401, 'bad username or password');
    if (authCache.size > 1000) authCache.clear();
    authCache.set(cacheKey, { principal, until: Date.now() + AUTH_CACHE_MS });
    return principal;
  };

  const viewerOf = async (req: IncomingMessage, account: string): Promise<Principal> => {
    const p = await authenticate(req);
    if (p.role !== 'viewer' || p.account !== account) throw new HttpError(403, `not a viewer of account ${account}`);
    return p;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const parts = url.pathname.split('/').filter(Boolean);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
    };
    const bytes = (body: Uint8Array) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-store' }).end(body);
    };
    if (parts[0] !== 'v1') throw new HttpError(404, 'not found');
    if (req.method === 'GET' && parts.length === 2 && parts[1] === 'info') return json(200, o.info());
    if (req.method === 'POST' && parts.length === 2 && parts[1] === 'provision') {
      const body = await readJson(req);
      if (typeof body.token !== 'string' || typeof body.cameraId !== 'string') throw new HttpError(400, 'expected {"token": string, "cameraId": string}');
      try {
        return json(200, { ...(await o.accounts.redeemProvisioningToken(body.token, body.cameraId)), mqttUrl: o.info().mqttUrl });
      } catch (e) {
        if (SealcamError.is(e, 'E_AUTH')) throw new HttpError(403, e.message);
        if (SealcamError.is(e, 'E_BAD_ARGUMENT')) throw new HttpError(400, e.message);
        throw e;
      }
    }
    if (parts[1] !== 'accounts' || parts.length < 4) throw new HttpError(404, 'not found');
    const account = parts[2]!;
    await viewerOf(req, account);
    if (req.method === 'POST' && parts.length === 4 && parts[3] === 'provisioning-tokens') {
      return json(200, await o.accounts.issueProvisioningToken(account));
    }
    if (req.method !== 'GET') throw new HttpError(405, 'method not allowed');
    if (parts[3] !== 'cameras') throw new HttpError(404, 'not found');
    if (parts.length === 4) {
      return json(
        200,
        o.store.cameras(account).map((camera) => {
          const segs = o.store.list(account, camera);
          return { camera, segments: segs.length, bytes: segs.reduce((n, s) => n + s.bytes, 0), firstSeq: segs[0]?.seq ?? null, lastSeq: segs.at(-1)?.seq ?? null };
        }),
      );
    }
    const camera = parts[4]!;
    if (!/^[0-9a-f]{32}$/.test(camera)) throw new HttpError(400, 'camera id: expected 32 hex digits');
    if (parts[5] === 'segments' && parts.length === 6) {
      const since = optionalTime(url.searchParams.get('since'), 'since');
      const until = optionalTime(url.searchParams.get('until'), 'until');
      return json(200, o.store.list(account, camera, { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) }).map(({ seq, epoch, captureTime, bytes, final, kind }) => ({ seq, epoch, captureTime, bytes, final, kind })));
    }
    if (parts[5] === 'segments' && parts.length === 7) {
      const seq = Number(parts[6]);
      if (!Number.isSafeInteger(seq) || seq < 0) throw new HttpError(400, 'seq: expected a non-negative integer');
      const env = await o.store.readSegment(account, camera, seq);
      if (!env) throw new HttpError(404, `no segment ${seq}`);
      return bytes(env);
    }
    if (parts[5] === 'keys') {
      const anns = await o.store.announcements(account, camera);
      if (parts.length === 6) return json(200, anns.map((a) => ({ epoch: a.epoch })));
      const a = anns.find((x) => x.epoch === Number(parts[6]));
      if (!a) throw new HttpError(404, `no announcement for epoch ${parts[6]}`);
      return bytes(a.bytes);
    }
    throw new HttpError(404, 'not found');
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Basic realm="sealcam"' } : {}) });
      res.end(`${JSON.stringify({ error: message })}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new SealcamError('E_BROKER', `cannot listen for HTTP on ${o.port ?? 0}: ${e.code ?? e.message}`)));
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function optionalTime(value: string | null, what: string): number | undefined {
  if (value === null) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new HttpError(400, `${what}: expected ms since the Unix epoch or an ISO date`);
  return n;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'expected a JSON object');
  }
}
