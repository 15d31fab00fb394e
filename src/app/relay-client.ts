/**
 * The app's calls to the relay: its HTTP API (PROTOCOL.md §15.6, HTTP Basic with the owner's viewer
 * login) and MQTT over WebSocket. Everything that comes back is ciphertext or public header fields;
 * every failure becomes a SealcamError with a stable code (E_AUTH, E_RELAY_UNREACHABLE,
 * E_RELAY_REPLY, …) that the page explains (explain.ts).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { SealcamError, type ErrorCode } from '../protocol/index.js';
import type { AppLogin } from './store.js';

export interface RelayInfo {
  mqttUrl: string;
  wsUrl: string | null;
  fingerprint: string | null;
}

export interface SegmentItem {
  seq: number;
  epoch: number;
  captureTime: number;
  bytes: number;
  final: boolean;
  kind: 'init' | 'media';
}

const STATUS_CODES: Record<number, ErrorCode> = { 401: 'E_AUTH', 403: 'E_AUTH', 404: 'E_NOT_FOUND', 410: 'E_GONE', 429: 'E_RATE_LIMITED', 503: 'E_OVERLOADED' };

/** `sha256/` + 43 base64url characters → the 32 bytes a pairing code carries (§15.8). */
export function fingerprintBytes(fingerprint: string): Uint8Array {
  const b64 = fingerprint.replace(/^sha256\//, '').replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(`${b64}=`), (c) => c.charCodeAt(0));
  if (!fingerprint.startsWith('sha256/') || bytes.length !== 32) throw new SealcamError('E_RELAY_REPLY', 'the relay sent a key fingerprint that is not sha256/…');
  return bytes;
}

export function base64urlToBytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

export class RelayClient {
  constructor(readonly login: AppLogin) {}

  private async call(path: string, init: RequestInit = {}, auth = true): Promise<Response> {
    const headers: Record<string, string> = auth ? { authorization: `Basic ${btoa(`${this.login.username}:${this.login.password}`)}` } : {};
    let res: Response;
    try {
      res = await fetch(`${this.login.httpUrl}${path}`, { ...init, headers, cache: 'no-store' });
    } catch {
      throw new SealcamError('E_RELAY_UNREACHABLE', `${new URL(this.login.httpUrl).host} did not answer`);
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { code?: string };
      throw new SealcamError(STATUS_CODES[res.status] ?? 'E_RELAY_REPLY', `HTTP ${res.status}${body.code ? ` ${body.code}` : ''} for ${path.split('?')[0]}`);
    }
    return res;
  }

  private account(path: string): string {
    return `/v1/accounts/${encodeURIComponent(this.login.account)}${path}`;
  }

  private async json<T>(res: Response, check: (v: unknown) => boolean, what: string): Promise<T> {
    const v = (await res.json().catch(() => null)) as unknown;
    if (!check(v)) throw new SealcamError('E_RELAY_REPLY', `${what}: not the reply the API defines`);
    return v as T;
  }

  async info(): Promise<RelayInfo> {
    return this.json(await this.call('/v1/info', {}, false), (v) => typeof (v as RelayInfo)?.mqttUrl === 'string', 'GET /v1/info');
  }

  /** Checks the login (GET cameras answers only to the account's viewer login). */
  async checkLogin(): Promise<void> {
    await this.call(this.account('/cameras'));
  }

  async provisioningToken(): Promise<{ token: string; expiresAt: number }> {
    return this.json(await this.call(this.account('/provisioning-tokens'), { method: 'POST' }), (v) => typeof (v as { token?: unknown })?.token === 'string' && Number.isSafeInteger((v as { expiresAt?: unknown }).expiresAt), 'POST provisioning-tokens');
  }

  /** Every item of a paged listing (`{items, next}`, §15.6). */
  private async listAll<T>(path: string, what: string): Promise<T[]> {
    const all: T[] = [];
    for (let after: number | null = null; ; ) {
      const sep = path.includes('?') ? '&' : '?';
      const page: { items: T[]; next: number | null } = await this.json<{ items: T[]; next: number | null }>(await this.call(this.account(after === null ? path : `${path}${sep}after=${after}`)), (v) => Array.isArray((v as { items?: unknown })?.items), what);
      all.push(...page.items);
      if (page.next === null || page.next === after) return all;
      after = page.next;
    }
  }

  segments(cameraId: string, since?: number, until?: number): Promise<SegmentItem[]> {
    const q = new URLSearchParams();
    if (since !== undefined) q.set('since', String(since));
    if (until !== undefined) q.set('until', String(until));
    return this.listAll(`/cameras/${cameraId}/segments?${q}`, 'GET segments');
  }

  async epochs(cameraId: string): Promise<number[]> {
    return (await this.listAll<{ epoch: number }>(`/cameras/${cameraId}/keys`, 'GET keys')).map((k) => k.epoch);
  }

  async segment(cameraId: string, seq: number): Promise<Uint8Array> {
    return new Uint8Array(await (await this.call(this.account(`/cameras/${cameraId}/segments/${seq}`))).arrayBuffer());
  }

  async announcement(cameraId: string, epoch: number): Promise<Uint8Array> {
    return new Uint8Array(await (await this.call(this.account(`/cameras/${cameraId}/keys/${epoch}`))).arrayBuffer());
  }

  /** MQTT 3.1.1 over WebSocket (wss when the relay runs TLS), reconnecting. */
  async mqtt(): Promise<MqttClient> {
    const { wsUrl } = await this.info();
    if (!wsUrl) throw new SealcamError('E_RELAY_UNREACHABLE', 'this relay offers no WebSocket for browsers');
    const client = mqtt.connect(wsUrl, { protocolVersion: 4, username: this.login.username, password: this.login.password, reconnectPeriod: 2000, connectTimeout: 10_000 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', () => reject(new SealcamError('E_AUTH', 'the relay refused the MQTT login')));
      setTimeout(() => reject(new SealcamError('E_RELAY_UNREACHABLE', `no MQTT connection to ${new URL(wsUrl).host}`)), 15_000);
    });
    return client;
  }
}
