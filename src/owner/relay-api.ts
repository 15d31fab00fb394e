/**
 * The owner's calls to the relay's HTTP API (src/relay/http-api.ts), each reply checked for the
 * fields the API defines before anything uses or stores it. A 401 always says to log in again.
 */
import { z } from 'zod';
import { relayFetch, relayJson } from '../media/relay-http.js';
import type { RelayLogin } from './history.js';

export const LOGIN_AGAIN = 'the stored login is wrong or was removed: run `sealcam owner login` again with the account\'s current password';

const Info = z.object({ mqttUrl: z.string().min(1), wsUrl: z.string().min(1).nullable().optional() });
const Token = z.object({ token: z.string().min(1), expiresAt: z.number().int().positive() });
const Cameras = z.array(z.object({ camera: z.string() }).loose());

/** GET …/v1/accounts/<account><path> as the owner's viewer login. */
export function accountGet(login: RelayLogin, path: string, timeoutMs?: number): Promise<Response> {
  return relayFetch(`${login.httpUrl}/v1/accounts/${encodeURIComponent(login.account)}${path}`, { login, onUnauthorized: LOGIN_AGAIN, ...(timeoutMs ? { timeoutMs } : {}) });
}

/** Where devices and viewers connect (GET /v1/info). */
export async function relayInfo(httpUrl: string, timeoutMs?: number): Promise<{ mqttUrl: string; wsUrl: string | null }> {
  const info = await relayJson(await relayFetch(`${httpUrl}/v1/info`, timeoutMs ? { timeoutMs } : {}), Info, 'GET /v1/info');
  return { mqttUrl: info.mqttUrl, wsUrl: info.wsUrl ?? null };
}

/** A one-time provisioning token for a camera of the owner's account. */
export async function issueProvisioningToken(login: RelayLogin, timeoutMs?: number): Promise<{ token: string; expiresAt: number }> {
  const url = `${login.httpUrl}/v1/accounts/${encodeURIComponent(login.account)}/provisioning-tokens`;
  return relayJson(await relayFetch(url, { method: 'POST', login, onUnauthorized: LOGIN_AGAIN, ...(timeoutMs ? { timeoutMs } : {}) }), Token, 'POST provisioning-tokens');
}

/** The account's cameras; also how `owner login` checks a password before storing it. */
export async function listAccountCameras(login: RelayLogin, onUnauthorized = LOGIN_AGAIN): Promise<string[]> {
  const url = `${login.httpUrl}/v1/accounts/${encodeURIComponent(login.account)}/cameras`;
  return (await relayJson(await relayFetch(url, { login, onUnauthorized }), Cameras, 'GET cameras')).map((c) => c.camera);
}
