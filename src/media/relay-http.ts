/**
 * (Shared by every app: media/ is the layer under them.) One way to call the relay's HTTP API
 * (src/relay/http-api.ts), so every caller fails the same actionable way (PROTOCOL.md §9.14):
 *
 * - no answer (refused, DNS, reset, or nothing within the deadline) → E_RELAY_UNREACHABLE naming
 *   the URL and how to start a relay;
 * - 401 → E_AUTH with the caller's next step (e.g. "run sealcam owner login again");
 * - any other non-2xx → E_AUTH (403) or E_RELAY_REPLY, with the relay's own error text;
 * - a body that is not JSON, or JSON without the fields the API defines → E_RELAY_REPLY, so
 *   nothing half-filled is ever stored from it.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { z } from 'zod';
import { SealcamError } from '../protocol/errors.js';
import { tlsOptionsFor } from './pinned-tls.js';

/** How long one request may take when the caller gives no deadline of its own. */
export const RELAY_REQUEST_TIMEOUT_MS = 30_000;

export interface RelayRequest {
  method?: 'GET' | 'POST';
  /** Basic auth; its `fingerprint`, when set, pins the relay's key as `pin` does */
  login?: { username: string; password: string; fingerprint?: string | null };
  json?: unknown;
  /** the request is abandoned after this long (E_RELAY_UNREACHABLE) */
  timeoutMs?: number;
  /** what a person does about a 401 */
  onUnauthorized?: string;
  /** the relay's pinned key (`sha256/…`, §15.8): an https URL is then trusted by this key only */
  pin?: string | null;
}

const START_RELAY = 'is the relay running there? start one with `sealcam relay`, or check the URL';

/** The relay's reply, 2xx only. */
export async function relayFetch(url: string, r: RelayRequest = {}): Promise<Response> {
  const timeoutMs = Math.max(1, Math.round(r.timeoutMs ?? RELAY_REQUEST_TIMEOUT_MS));
  const headers: Record<string, string> = {};
  if (r.login) headers.authorization = `Basic ${Buffer.from(`${r.login.username}:${r.login.password}`).toString('base64')}`;
  if (r.json !== undefined) headers['content-type'] = 'application/json';
  const deadline = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    const tls = await tlsOptionsFor(url, r.pin ?? r.login?.fingerprint);
    res = await send(url, { method: r.method ?? 'GET', headers, body: r.json !== undefined ? JSON.stringify(r.json) : undefined, signal: deadline, tls });
  } catch (e) {
    if (SealcamError.is(e)) throw e; // a pin that does not match, or a bad URL for it
    const why = deadline.aborted ? `no answer within ${(timeoutMs / 1000).toFixed(1)} s` : networkReason(e);
    throw new SealcamError('E_RELAY_UNREACHABLE', `cannot reach the relay at ${originOf(url)} (${why}): ${START_RELAY}`, { cause: e });
  }
  if (res.ok) return res;
  const detail = await relayErrorText(res);
  if (res.status === 401) throw new SealcamError('E_AUTH', `the relay at ${originOf(url)} refused the login (HTTP 401${detail}): ${r.onUnauthorized ?? 'check the username and password'}`);
  if (res.status === 403) throw new SealcamError('E_AUTH', `the relay at ${originOf(url)} refused the request (HTTP 403${detail})`);
  throw new SealcamError('E_RELAY_REPLY', `the relay at ${originOf(url)} answered HTTP ${res.status}${detail} to ${new URL(url).pathname}`);
}

/** The reply's JSON, checked against `schema`: E_RELAY_REPLY when it is not JSON or not that shape. */
export async function relayJson<T>(res: Response, schema: z.ZodType<T>, what: string): Promise<T> {
  const text = await res.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SealcamError('E_RELAY_REPLY', `the relay's reply to ${what} is not JSON (${JSON.stringify(text.slice(0, 40))}…): is that URL a sealcam relay's HTTP API?`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SealcamError('E_RELAY_REPLY', `the relay's reply to ${what} lacks what the API defines (${issue ? `${issue.path.join('.') || 'reply'}: ${issue.message}` : 'wrong shape'}): is that URL a sealcam relay of this version?`);
  }
  return parsed.data;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return JSON.stringify(url);
  }
}

/**
 * One HTTP(S) request through node:http / node:https (fetch cannot take TLS options in Node 20),
 * answered as a fetch Response with the whole body read.
 */
function send(url: string, o: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal; tls: object }): Promise<Response> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : u.protocol === 'http:' ? httpRequest : null;
  if (!request) return Promise.reject(new SealcamError('E_CONFIG', `the relay URL ${JSON.stringify(url.slice(0, 80))} is neither http:// nor https://`));
  return new Promise((resolve, reject) => {
    const req = request(u, { method: o.method, headers: o.headers, signal: o.signal, ...o.tls }, (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        const status = res.statusCode ?? 502;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(parts), { status, headers }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** The reason a request got no answer (ECONNREFUSED, ENOTFOUND, a TLS error, …). */
function networkReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? (e instanceof Error ? e.message : String(e));
}

async function relayErrorText(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).trim();
  if (!text) return '';
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return `: ${body.error.slice(0, 200)}`;
  } catch {
    // not JSON: show the start of it
  }
  return `: ${JSON.stringify(text.slice(0, 80))}`;
}
