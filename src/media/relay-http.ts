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
import type { z } from 'zod';
import { SealcamError } from '../protocol/errors.js';

/** How long one request may take when the caller gives no deadline of its own. */
export const RELAY_REQUEST_TIMEOUT_MS = 30_000;

export interface RelayRequest {
  method?: 'GET' | 'POST';
  /** Basic auth */
  login?: { username: string; password: string };
  json?: unknown;
  /** the request is abandoned after this long (E_RELAY_UNREACHABLE) */
  timeoutMs?: number;
  /** what a person does about a 401 */
  onUnauthorized?: string;
}

const START_RELAY = 'is the relay running there? start one with `sealcam relay`, or check the URL';

/** The relay's reply, 2xx only. */
export async function relayFetch(url: string, r: RelayRequest = {}): Promise<Response> {
  const timeoutMs = Math.max(1, Math.round(r.timeoutMs ?? RELAY_REQUEST_TIMEOUT_MS));
  const headers: Record<string, string> = {};
  if (r.login) headers.authorization = `Basic ${Buffer.from(`${r.login.username}:${r.login.password}`).toString('base64')}`;
  if (r.json !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method: r.method ?? 'GET', headers, ...(r.json !== undefined ? { body: JSON.stringify(r.json) } : {}), signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    const why = timedOut ? `no answer within ${(timeoutMs / 1000).toFixed(1)} s` : networkReason(e);
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

/** undici says "fetch failed" and puts the reason in `cause` (ECONNREFUSED, ENOTFOUND, …). */
function networkReason(e: unknown): string {
  const cause = e instanceof Error ? (e.cause as NodeJS.ErrnoException | undefined) : undefined;
  return cause?.code ?? (cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e));
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
