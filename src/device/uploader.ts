/**
 * The MQTT uploader: the device's EnvelopeSink once a relay exists. Any MQTT 3.1.1 broker works
 * (the embedded aedes relay, Mosquitto, EMQX, AWS IoT).
 *
 * - segment(): the envelope goes to the spool first (durable), then is published as transport
 *   pieces of <= maxMessageBytes (PROTOCOL.md §10) at QoS 1, in seq order; it leaves the spool only
 *   when the relay's storage receipt names it (§10.5, on …/stored): a PUBACK says only that a
 *   broker received the pieces, and a cluster node can acknowledge a message its stream never
 *   keeps. An envelope acknowledged but not confirmed is sent again after `receiptTimeoutMs`
 *   (doubling per attempt) and after every reconnect; the relay files each (epoch, seq) once.
 *   After a reconnect or a restart, the spool is drained first.
 * - announce(): retained QoS 1 on …/keys, kept in the spool and re-published on every connect, and
 *   again while the relay has not confirmed storing it.
 * - live(): QoS 0 on …/live while connected; dropped (and counted) while not.
 * - status: retained JSON on …/status — "online" with spool figures on connect, and "offline" as
 *   the last will.
 * - reconnect: our own loop with exponential backoff and full jitter (backoff.ts).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { splitForTransport, decodeTransportChunk, DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/transport-chunk.js';
import { decodeReceipt, receiptId, type Receipt } from '../protocol/receipt.js';
import { toHex } from '../protocol/bytes.js';
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
  /**
   * Keep each envelope until the relay's storage receipt (§10.5) names it (default true). false:
   * drop it at the PUBACK, for a broker with no sealcam store behind it (nothing is kept then).
   */
  receipts?: boolean;
  /** how long an acknowledged envelope waits for its receipt before it is sent again (default 15 s; doubles per attempt, up to 4×) */
  receiptTimeoutMs?: number;
  backoff?: BackoffOptions;
  log?: (msg: string) => void;
}

export interface UploaderStats {
  connects: number;
  /** envelopes that left the spool confirmed: by a storage receipt (or by a PUBACK with `receipts: false`) */
  envelopesUploaded: number;
  /** envelopes the relay confirmed it already had (a copy sent again) */
  duplicatesConfirmed: number;
  /** envelopes the relay's store refused (its receipt said so, with the code); they leave the spool */
  refusedByRelay: number;
  /** envelopes published again because no receipt came in time, or after a reconnect */
  resent: number;
  /** announcements the relay confirmed storing */
  announcementsConfirmed: number;
  piecesPublished: number;
  liveSent: number;
  liveDropped: number;
  lastError: string | null;
}

export class MqttUploader implements EnvelopeSink {
  readonly stats: UploaderStats = { connects: 0, envelopesUploaded: 0, duplicatesConfirmed: 0, refusedByRelay: 0, resent: 0, announcementsConfirmed: 0, piecesPublished: 0, liveSent: 0, liveDropped: 0, lastError: null };
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
  private readonly topics: Record<'seg' | 'live' | 'keys' | 'status' | 'roster' | 'stored', string>;
  private readonly receipts: boolean;
  private readonly receiptTimeoutMs: number;
  /** what was published and awaits its receipt, by receipt id (hex): a spooled seq or an announced epoch */
  private readonly unconfirmed = new Map<string, { channel: 'seg'; seq: number } | { channel: 'keys'; epoch: number }>();
  /** per spooled seq that was acknowledged on this connection: when to send it again, and how often it was sent */
  private readonly resendAt = new Map<number, { at: number; attempts: number }>();
  /** announcements published and not yet confirmed: when to publish again */
  private readonly keysResendAt = new Map<number, { at: number; attempts: number; bytes: Uint8Array }>();
  private resendTimer: NodeJS.Timeout | null = null;
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
      stored: cameraTopic(o.account, o.cameraId, 'stored'),
    };
    this.receipts = o.receipts ?? true;
    this.receiptTimeoutMs = o.receiptTimeoutMs ?? 15_000;
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
    if (this.connected) await this.publishAnnouncement(epoch, announcement).catch(() => undefined);
  }

  /** Publish an announcement (retained) and, with receipts, watch for its confirmation. */
  private async publishAnnouncement(epoch: number, bytes: Uint8Array, attempts = 0): Promise<void> {
    if (this.receipts) {
      this.unconfirmed.set(toHex(receiptId(bytes)), { channel: 'keys', epoch });
      this.keysResendAt.set(epoch, { at: Date.now() + this.retryDelay(attempts), attempts: attempts + 1, bytes });
    }
    await this.publish(this.topics.keys, bytes, 1, true);
    this.armResend();
  }

  /** Waiting time before attempt n+1 without a receipt: receiptTimeoutMs, doubling, at most 4×. */
  private retryDelay(attempts: number): number {
    return this.receiptTimeoutMs * 2 ** Math.min(attempts, 2);
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

  /** Resolves when the spool is empty (everything confirmed stored), or rejects after `timeoutMs`. */
  async flush(timeoutMs = 60_000): Promise<void> {
    if (this.o.spool.pending().length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const waiting = this.resendAt.size;
        const why = waiting ? ` (${waiting} of them acknowledged by the broker but not yet confirmed stored by the relay)` : '';
        reject(new SealcamError('E_BROKER', `upload not finished after ${timeoutMs} ms: ${this.o.spool.pending().length} envelopes still spooled${why}`));
      }, timeoutMs);
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
    if (this.resendTimer) clearTimeout(this.resendTimer);
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
      if (topic === this.topics.stored) return void this.onReceipt(new Uint8Array(payload)).catch((e: Error) => (this.stats.lastError = e.message));
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
      void this.onConnected().catch((e: Error) => {
        this.stats.lastError = e.message;
        this.o.log?.(e.message);
      });
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
    // A new connection: whatever the last one had acknowledged but not confirmed is sent again
    // (the node that acknowledged it may be the one that went away).
    this.resendAt.clear();
    this.keysResendAt.clear();
    // Subscribed (SUBACK) before anything is published, so no receipt can pass unheard.
    if (this.receipts) await this.subscribe(this.topics.stored);
    await this.publish(this.topics.status, this.statusPayload('online'), 1, true);
    for (const a of await this.o.spool.announcements()) await this.publishAnnouncement(a.epoch, a.bytes);
    this.kick();
  }

  /** A storage receipt (§10.5): the envelope it names leaves the spool; an announcement stops being re-sent. */
  private async onReceipt(payload: Uint8Array): Promise<void> {
    let receipt: Receipt;
    try {
      receipt = decodeReceipt(payload);
    } catch (e) {
      this.o.log?.(`ignored a message on ${this.topics.stored}: ${(e as Error).message}`);
      return;
    }
    const key = toHex(receipt.id);
    const what = this.unconfirmed.get(key);
    if (!what || what.channel !== receipt.channel) return; // not ours, or already confirmed
    this.unconfirmed.delete(key);
    if (receipt.outcome === 'refused') this.o.log?.(`relay refused to store ${what.channel === 'seg' ? `seq ${what.seq}` : `the announcement of epoch ${what.epoch}`}: ${receipt.code}`);
    if (what.channel === 'keys') {
      this.keysResendAt.delete(what.epoch);
      if (receipt.outcome !== 'refused') this.stats.announcementsConfirmed++;
      return;
    }
    this.resendAt.delete(what.seq);
    if (!this.o.spool.has(what.seq)) return;
    if (receipt.outcome === 'refused') this.stats.refusedByRelay++;
    else this.stats.envelopesUploaded++;
    if (receipt.outcome === 'duplicate') this.stats.duplicatesConfirmed++;
    await this.o.spool.remove(what.seq);
    if (this.o.spool.pending().length === 0) this.notifyIdle();
  }

  /** Wake the drain when the earliest unconfirmed envelope or announcement is due again. */
  private armResend(): void {
    if (this.resendTimer) clearTimeout(this.resendTimer);
    this.resendTimer = null;
    // Forget what left the spool meanwhile (evicted when full), so nothing waits on it.
    for (const seq of this.resendAt.keys()) if (!this.o.spool.has(seq)) this.resendAt.delete(seq);
    for (const [id, w] of this.unconfirmed) {
      if (w.channel === 'seg' ? !this.o.spool.has(w.seq) : !this.keysResendAt.has(w.epoch)) this.unconfirmed.delete(id);
    }
    let next = Infinity;
    for (const r of this.resendAt.values()) next = Math.min(next, r.at);
    for (const r of this.keysResendAt.values()) next = Math.min(next, r.at);
    if (next === Infinity || this.closing) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = null;
      void this.resendAnnouncements().finally(() => this.kick());
    }, Math.max(0, next - Date.now()) + 5);
    this.resendTimer.unref?.();
  }

  private async resendAnnouncements(): Promise<void> {
    const now = Date.now();
    for (const [epoch, r] of [...this.keysResendAt]) {
      if (r.at > now || !this.connected) continue;
      await this.publishAnnouncement(epoch, r.bytes, r.attempts).catch(() => undefined);
    }
  }

  /** The oldest spooled seq that is not waiting for its receipt (or whose wait is over). */
  private nextToSend(): number | undefined {
    const now = Date.now();
    return this.o.spool.pending().find((seq) => (this.resendAt.get(seq)?.at ?? 0) <= now);
  }

  /** Start draining the spool if not already. */
  private kick(): void {
    if (this.draining || !this.connected) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      // Again only if something can be sent now; what waits for a receipt is woken by its timer.
      if (this.connected && this.nextToSend() !== undefined) this.kick();
      else if (this.o.spool.pending().length === 0) this.notifyIdle();
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.connected) return;
      const seq = this.nextToSend();
      if (seq === undefined) return this.armResend();
      const envelope = await this.o.spool.read(seq);
      if (!envelope) continue;
      const pieces = splitForTransport(envelope, this.o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
      const previous = this.resendAt.get(seq);
      if (this.receipts) {
        // Every piece carries the envelope's commitment (§10.1), which is also its receipt id.
        const id = toHex(decodeTransportChunk(pieces[0]!).envelopeHash);
        if (this.unconfirmed.has(id)) this.stats.resent++; // sent before (on this connection or an earlier one)
        this.unconfirmed.set(id, { channel: 'seg', seq });
      }
      try {
        // All pieces in flight at once on one connection keeps their order; wait for every PUBACK.
        await Promise.race([Promise.all(pieces.map((p) => this.publish(this.topics.seg, p, 1, false))), this.lost]);
      } catch (e) {
        this.stats.lastError = (e as Error).message;
        return; // stays spooled; sent again, whole, after the reconnect
      }
      this.stats.piecesPublished += pieces.length;
      if (!this.receipts) {
        this.stats.envelopesUploaded++;
        await this.o.spool.remove(seq);
      } else if (this.o.spool.has(seq)) {
        // Acknowledged by the broker; it stays spooled until its receipt (which may already have come).
        const attempts = previous?.attempts ?? 0;
        this.resendAt.set(seq, { at: Date.now() + this.retryDelay(attempts), attempts: attempts + 1 });
      }
    }
  }

  private subscribe(topic: string): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return Promise.reject(new SealcamError('E_BROKER', 'not connected'));
    return new Promise((resolve, reject) => {
      client.subscribe(topic, { qos: 0 }, (err, granted) => {
        if (err) return reject(new SealcamError('E_BROKER', `subscribe to ${topic}: ${err.message}`));
        if (granted?.some((g) => g.qos === 128)) return reject(new SealcamError('E_ACL', `the relay refused the subscription to ${topic}: its ACL predates storage receipts (PROTOCOL.md §10.5); regenerate it with "sealcam relay mosquitto-config" or "sealcam relay nats-config"`));
        resolve();
      });
    });
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
