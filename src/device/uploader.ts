/**
 * The MQTT uploader: the device's EnvelopeSink once a relay exists. Any MQTT 3.1.1 broker works
 * (the embedded aedes relay, Mosquitto, EMQX, AWS IoT).
 *
 * - segment(): the envelope goes to the spool first (durable), then is published as transport
 *   pieces of <= maxMessageBytes (PROTOCOL.md §10) at QoS 1, in seq order; it leaves the spool only
 *   when every piece is acknowledged. After a reconnect or a restart, the spool is drained first.
 * - announce(): retained QoS 1 on …/keys, kept in the spool and re-published on every connect.
 * - live(): QoS 0 on …/live while connected; dropped (and counted) while not.
 * - status: retained JSON on …/status — "online" with spool figures on connect, and "offline" as
 *   the last will.
 * - reconnect: our own loop with exponential backoff and full jitter (backoff.ts).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { splitForTransport, DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/transport-chunk.js';
import { cameraTopic } from '../protocol/topics.js';
import { SealcamError } from '../protocol/errors.js';
import { tlsOptionsFor, type PinnedTlsOptions } from '../media/pinned-tls.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { Spool } from './spool.js';
import type { EnvelopeSink, SegmentInfo } from './sink.js';

export interface UploaderOptions {
  /** the relay's MQTT URL, or several (comma-separated, the nodes of a cluster): each reconnect tries the next */
  url: string;
  username: string;
  password: string;
  account: string;
  cameraId: string;
  /** the relay's pinned key (`sha256/…`, §15.8): an mqtts:// relay must present it */
  fingerprint?: string | null;
  spool: Spool;
  maxMessageBytes?: number;
  backoff?: BackoffOptions;
  log?: (msg: string) => void;
}

export interface UploaderStats {
  connects: number;
  envelopesUploaded: number;
  piecesPublished: number;
  liveSent: number;
  liveDropped: number;
  lastError: string | null;
}

export class MqttUploader implements EnvelopeSink {
  readonly stats: UploaderStats = { connects: 0, envelopesUploaded: 0, piecesPublished: 0, liveSent: 0, liveDropped: 0, lastError: null };
  private client: MqttClient | null = null;
  private connected = false;
  private closing = false;
  private draining: Promise<void> | null = null;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];
  /** rejects when the current connection closes, so nothing waits on a PUBACK that cannot come */
  private lost: Promise<never> = new Promise(() => undefined);
  private markLost: (e: Error) => void = () => undefined;
  private readonly topics: Record<'seg' | 'live' | 'keys' | 'status' | 'roster', string>;
  private rosterHandler: ((roster: Uint8Array) => void) | null = null;
  private rosterReceived = false;
  private rosterWaiters: (() => void)[] = [];

  /** the brokers to try, in turn (a cluster's nodes); a lost or failed connection moves to the next */
  private readonly urls: string[];
  private urlIndex = 0;

  private get url(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  constructor(private readonly o: UploaderOptions) {
    this.urls = o.url.split(',').map((u) => u.trim()).filter(Boolean);
    if (this.urls.length === 0) throw new SealcamError('E_BAD_ARGUMENT', 'url: expected a broker URL, or several separated by commas');
    this.backoff = new Backoff(o.backoff);
    this.topics = {
      seg: cameraTopic(o.account, o.cameraId, 'seg'),
      live: cameraTopic(o.account, o.cameraId, 'live'),
      keys: cameraTopic(o.account, o.cameraId, 'keys'),
      status: cameraTopic(o.account, o.cameraId, 'status'),
      roster: cameraTopic(o.account, o.cameraId, 'roster'),
    };
  }

  /** Roster updates the owner publishes (retained) on …/roster reach `handler`, on every connect too. */
  onRoster(handler: (roster: Uint8Array) => void): void {
    this.rosterHandler = handler;
    if (this.connected) this.client?.subscribe(this.topics.roster, { qos: 1 });
  }

  rosterArrived(timeoutMs: number): Promise<boolean> {
    if (this.rosterReceived) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.rosterWaiters = this.rosterWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.rosterWaiters.push(done);
    });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Connect (and keep reconnecting). Resolves at the first connection or rejects on bad credentials. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      let first = true;
      this.connect((err) => {
        if (!first) return;
        first = false;
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async announce(announcement: Uint8Array, epoch: number): Promise<void> {
    await this.o.spool.putAnnouncement(epoch, announcement);
    if (this.connected) await this.publish(this.topics.keys, announcement, 1, true).catch(() => undefined);
  }

  async segment(envelope: Uint8Array, info: SegmentInfo): Promise<void> {
    await this.o.spool.put(info.seq, envelope);
    this.kick();
  }

  live(chunk: Uint8Array): void {
    if (!this.connected || !this.client) {
      this.stats.liveDropped++;
      return;
    }
    this.client.publish(this.topics.live, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), { qos: 0 });
    this.stats.liveSent++;
  }

  /** Resolves when the spool is empty (everything acknowledged), or rejects after `timeoutMs`. */
  async flush(timeoutMs = 60_000): Promise<void> {
    if (this.o.spool.pending().length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SealcamError('E_BROKER', `upload not finished after ${timeoutMs} ms: ${this.o.spool.pending().length} envelopes still spooled`)), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.kick();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.draining?.catch(() => undefined);
    const client = this.client;
    if (client && this.connected) {
      await this.publish(this.topics.status, this.statusPayload('offline'), 1, true).catch(() => undefined);
      await client.endAsync().catch(() => undefined);
    } else if (client) {
      client.end(true);
    }
    this.connected = false;
  }

  private connect(onFirst: (err?: Error) => void): void {
    // TLS options first (a pinned relay is probed once per process); a probe that fails, or a key
    // that is not the pinned one, is retried with the same backoff, and nothing is sent meanwhile.
    tlsOptionsFor(this.url, this.o.fingerprint).then(
      (tls) => {
        if (!this.closing) this.connectWith(tls, onFirst);
      },
      (e: Error) => {
        this.stats.lastError = e.message;
        this.o.log?.(e.message);
        if (this.closing) return;
        this.urlIndex++;
        this.reconnectTimer = setTimeout(() => this.connect(onFirst), this.backoff.next());
      },
    );
  }

  private connectWith(tls: PinnedTlsOptions, onFirst: (err?: Error) => void): void {
    const client = mqtt.connect(this.url, {
      ...tls,
      protocolVersion: 4,
      username: this.o.username,
      password: this.o.password,
      clientId: `${this.o.username}:${process.pid}`, // in its login's namespace (PROTOCOL.md §11.3)
      clean: true,
      reconnectPeriod: 0, // our own backoff
      connectTimeout: 10_000,
      keepalive: 30,
      will: { topic: this.topics.status, payload: Buffer.from(this.statusPayload('offline')), qos: 1, retain: true },
    });
    this.client = client;
    this.lost = new Promise<never>((_, reject) => {
      this.markLost = reject;
    });
    this.lost.catch(() => undefined);
    client.on('message', (topic, payload) => {
      if (topic === this.topics.roster && payload.length > 0) {
        this.rosterHandler?.(new Uint8Array(payload));
        this.rosterReceived = true;
        for (const w of this.rosterWaiters.splice(0)) w();
      }
    });
    client.on('connect', () => {
      if (this.rosterHandler) client.subscribe(this.topics.roster, { qos: 1 });
      this.connected = true;
      this.stats.connects++;
      this.backoff.reset();
      this.o.log?.(`connected to ${this.url}`);
      void this.onConnected().catch((e: Error) => (this.stats.lastError = e.message));
      onFirst();
    });
    client.on('error', (e) => {
      this.stats.lastError = e.message;
      // Bad credentials will not get better by retrying quickly: report it on the first attempt.
      if ((e as { code?: number }).code === 4 || (e as { code?: number }).code === 5) onFirst(new SealcamError('E_AUTH', `relay refused the camera's login: ${e.message}`));
    });
    client.on('close', () => {
      const was = this.connected;
      this.connected = false;
      this.markLost(new SealcamError('E_BROKER', 'connection closed'));
      if (was) this.o.log?.('connection lost');
      client.removeAllListeners();
      client.end(true);
      if (this.closing) return;
      this.urlIndex++; // failover: the next node of a cluster (the spool holds what waits meanwhile)
      const delay = this.backoff.next();
      this.reconnectTimer = setTimeout(() => this.connect(onFirst), delay);
    });
  }

  private async onConnected(): Promise<void> {
    await this.publish(this.topics.status, this.statusPayload('online'), 1, true);
    for (const a of await this.o.spool.announcements()) await this.publish(this.topics.keys, a.bytes, 1, true);
    this.kick();
  }

  /** Start draining the spool if not already. */
  private kick(): void {
    if (this.draining || !this.connected) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.connected && this.o.spool.pending().length > 0) this.kick();
      else if (this.o.spool.pending().length === 0) this.notifyIdle();
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.connected) return;
      const seq = this.o.spool.pending()[0];
      if (seq === undefined) return;
      const envelope = await this.o.spool.read(seq);
      if (!envelope) continue;
      const pieces = splitForTransport(envelope, this.o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
      try {
        // All pieces in flight at once on one connection keeps their order; wait for every PUBACK.
        await Promise.race([Promise.all(pieces.map((p) => this.publish(this.topics.seg, p, 1, false))), this.lost]);
      } catch (e) {
        this.stats.lastError = (e as Error).message;
        return; // stays spooled; sent again, whole, after the reconnect
      }
      this.stats.piecesPublished += pieces.length;
      this.stats.envelopesUploaded++;
      await this.o.spool.remove(seq);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private publish(topic: string, payload: Uint8Array | string, qos: 0 | 1, retain: boolean): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return Promise.reject(new SealcamError('E_BROKER', 'not connected'));
    const body = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return new Promise((resolve, reject) => {
      client.publish(topic, body, { qos, retain }, (err) => (err ? reject(new SealcamError('E_BROKER', `publish to ${topic}: ${err.message}`)) : resolve()));
    });
  }

  private statusPayload(state: 'online' | 'offline'): string {
    return JSON.stringify({ state, cameraId: this.o.cameraId, spool: this.o.spool.status, at: new Date().toISOString() });
  }
}
