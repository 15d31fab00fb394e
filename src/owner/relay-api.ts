/**
 * The owner's calls to the relay's HTTP API (src/relay/http-api.ts), each reply checked for the
 * fields the API defines before anything uses or stores it. A 401 always says to log in again.
 */
import { z } from 'zod';
import { relayFetch, relayJson } from '../media/relay-http.js';
import { isTlsUrl, presentedFingerprint } from '../media/pinned-tls.js';
import { SealcamError } from '../protocol/errors.js';
import type { RelayLogin } from './history.js';

export const LOGIN_AGAIN = 'the stored login is wrong or was removed: run `sealcam owner login` again with the account\'s current password';

const Info = z.object({ mqttUrl: z.string().min(1), wsUrl: z.string().min(1).nullable().optional(), fingerprint: z.string().nullable().optional() });
const Token = z.object({ token: z.string().min(1), expiresAt: z.number().int().positive() });
const Cameras = z.array(z.object({ camera: z.string() }).loose());

/** GET …/v1/accounts/<account><path> as the owner's viewer login. */
export function accountGet(login: RelayLogin, path: string, timeoutMs?: number): Promise<Response> {
  return relayFetch(`${login.httpUrl}/v1/accounts/${encodeURIComponent(login.account)}${path}`, { login, onUnauthorized: LOGIN_AGAIN, ...(timeoutMs ? { timeoutMs } : {}) });
}

/** Where devices and viewers connect (GET /v1/info), asked over the pinned connection when `relay.fingerprint` is set. */
export async function relayInfo(relay: { httpUrl: string; fingerprint?: string | null }, timeoutMs?: number): Promise<{ mqttUrl: string; wsUrl: string | null; fingerprint: string | null }> {
  const info = await relayJson(await relayFetch(`${relay.httpUrl}/v1/info`, { pin: relay.fingerprint ?? null, ...(timeoutMs ? { timeoutMs } : {}) }), Info, 'GET /v1/info');
  return { mqttUrl: info.mqttUrl, wsUrl: info.wsUrl ?? null, fingerprint: info.fingerprint ?? null };
}

/** A one-time provisioning token for a camera of the owner's account. */
export async function issueProvisioningToken(login: RelayLogin, timeoutMs?: number): Promise<{ token: string; expiresAt: number }> {
  const url = `${login.httpUrl}/v1/accounts/${encodeURIComponent(login.account)}/provisioning-tokens`;
  return relayJson(await relayFetch(url, { method: 'POST', login, onUnauthorized: LOGIN_AGAIN, ...(timeoutMs ? { timeoutMs } : {}) }), Token, 'POST provisioning-tokens');
}

/**
 * The key the owner pins for a relay (§15.8): for an https:// relay, the one it presents, which
 * must equal `expected` when the owner has it (from whoever runs the relay); without it, trust on
 * first use, shown for comparison. For http:// nothing (and `expected` is refused).
 */
export async function pinRelay(httpUrl: string, expected?: string): Promise<{ fingerprint?: string; how: string }> {
  if (!isTlsUrl(httpUrl)) {
    if (expected) throw new SealcamError('E_CONFIG', `${httpUrl} is plain HTTP: a fingerprint needs an https:// relay`);
    return { how: 'plain HTTP: the login crosses the network in clear and the relay is not authenticated (use https:// for anything but the loopback address)' };
  }
  const presented = await presentedFingerprint(httpUrl);
  if (expected && expected !== presented) {
    throw new SealcamError('E_RELAY_PIN', `the relay at ${new URL(httpUrl).host} presents key ${presented}, not ${expected}: this is not the relay you were given (another server, or someone in between); nothing was sent`);
  }
  return { fingerprint: presented, how: expected ? `relay key ${presented} matches --fingerprint and is pinned` : `relay key ${presented} pinned on first use: compare it with the fingerprint \`sealcam relay\` printed` };
}

const CameraStatus = z.object({ camera: z.string(), status: z.string().optional(), refused: z.number().optional(), refusedBytes: z.number().optional(), lastRefusedAt: z.number().nullable().optional() }).loose();

/** What the relay says about one camera of the account: E_QUOTA when it refuses its uploads (§15.5). */
export async function cameraRelayStatus(login: RelayLogin, cameraId: string): Promise<{ status: string; refused: number; lastRefusedAt: number | null } | null> {
  const url = `${login.httpUrl}/v1/accounts/${encodeURIComponent(login.account)}/cameras`;
  const all = await relayJson(await relayFetch(url, { login, onUnauthorized: LOGIN_AGAIN }), z.array(CameraStatus), 'GET cameras');
  const c = all.find((x) => x.camera === cameraId);
  return c ? { status: c.status ?? 'ok', refused: c.refused ?? 0, lastRefusedAt: c.lastRefusedAt ?? null } : null;
}

/** The relay's status of a camera as a line a person acts on, or null when all is well. */
export function describeRelayStatus(s: { status: string; refused: number; lastRefusedAt: number | null } | null): string | null {
  if (!s || s.status === 'ok') return null;
  const when = s.lastRefusedAt ? `, the last at ${new Date(s.lastRefusedAt).toISOString()}` : '';
  return `relay: ${s.status}: the relay is refusing this camera's uploads because the account is over its quota (${s.refused} envelopes refused${when}). It already evicts the account's oldest files; ask the relay's operator for a larger --account-quota, or remove cameras you no longer use`;
}

/** The account's cameras; also how `owner login` checks a password before storing it. */
export async function listAccountCameras(login: RelayLogin, onUnauthorized = LOGIN_AGAIN): Promise<string[]> {
  const url = `${login.httpUrl}/v1/accounts/${encodeURIComponent(login.account)}/cameras`;
  return (await relayJson(await relayFetch(url, { login, onUnauthorized }), Cameras, 'GET cameras')).map((c) => c.camera);
}
