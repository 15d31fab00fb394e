/**
 * What the relay does with camera traffic it stores: put transport pieces (PROTOCOL.md §10) back
 * together per camera, file whole envelopes and epoch announcements in the opaque store. It needs
 * no key: reassembly checks a hash commitment, filing reads public header fields.
 */
import { Reassembler, decodeTransportChunk } from '../protocol/transport-chunk.js';
import { receiptId, type Receipt } from '../protocol/receipt.js';
import { SealcamError } from '../protocol/errors.js';
import { toHex } from '../protocol/bytes.js';
import type { OpaqueStore } from './store.js';

/** Reassembly limits per camera (PROTOCOL.md §11.3). */
export interface ReassemblyLimits {
  /** bytes of unfinished envelopes one camera may have in flight (§10.4 maxInFlightBytes) */
  maxInFlightBytes: number;
  /** a camera's reassembly that completes no envelope for this long is dropped, with what it holds */
  stallMs: number;
  /** bytes of unfinished envelopes all cameras of one account may hold together */
  maxAccountInFlightBytes: number;
  /** bytes of unfinished envelopes the whole relay holds; past it the account holding the most gives way */
  maxTotalInFlightBytes: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  maxInFlightBytes: 64 * 1024 * 1024,
  stallMs: 120_000,
  maxAccountInFlightBytes: 64 * 1024 * 1024,
  maxTotalInFlightBytes: 256 * 1024 * 1024,
};

export class Ingest {
  private readonly reassemblers = new Map<string, Reassembler>();
  /** per camera: when its reassembly last completed an envelope, or began one from empty */
  private readonly progress = new Map<string, number>();
  private lastSweep = 0;
  readonly stats = { pieces: 0, envelopes: 0, announcements: 0, refused: 0, stalled: 0 };
  private readonly limits: ReassemblyLimits;

  constructor(
    private readonly store: OpaqueStore,
    private readonly log: (msg: string) => void = () => undefined,
    limits: Partial<ReassemblyLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_REASSEMBLY_LIMITS, ...limits };
  }

  /** per account: the keys (<account>/<camera>) of its cameras' reassemblers */
  private readonly byAccount = new Map<string, Set<string>>();
  /** bytes held by unfinished envelopes, over all cameras (kept up to date on every change) */
  private held = 0;

  /** Bytes held by unfinished envelopes, over all cameras. */
  get reassemblyBytes(): number {
    return this.held;
  }

  /** Drop the reassembly of every camera that has completed nothing for stallMs (at most one sweep a second). */
  private dropStalled(now: number): void {
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [key, r] of this.reassemblers) {
      if (r.pendingEnvelopes === 0 || now - (this.progress.get(key) ?? now) < this.limits.stallMs) continue;
      this.stats.stalled++;
      this.log(`E_REASSEMBLY_LIMIT: ${key}: dropped ${r.pendingEnvelopes} unfinished envelopes (${r.pendingBytes} bytes), no envelope completed in ${this.limits.stallMs} ms`);
      this.held -= r.pendingBytes;
      this.forget(key);
    }
  }

  private forget(key: string): void {
    this.reassemblers.delete(key);
    this.progress.delete(key);
    const account = key.slice(0, key.indexOf('/'));
    const keys = this.byAccount.get(account);
    keys?.delete(key);
    if (keys?.size === 0) this.byAccount.delete(account);
  }

  /** Drop `r`'s oldest unfinished envelope; the bytes freed. */
  private dropOldest(r: Reassembler, why: string): number {
    const freed = r.dropOldest(why);
    this.held -= freed;
    return freed;
  }

  /** Bytes of unfinished envelopes held for `account`'s cameras, and its camera holding the most. */
  private accountHold(account: string): { bytes: number; biggest: Reassembler | null } {
    let bytes = 0;
    let biggest: Reassembler | null = null;
    for (const key of this.byAccount.get(account) ?? []) {
      const r = this.reassemblers.get(key)!;
      bytes += r.pendingBytes;
      if (!biggest || r.pendingBytes > biggest.pendingBytes) biggest = r;
    }
    return { bytes, biggest };
  }

  /**
   * Room for `need` more bytes of a new envelope of `account` (§11.3): first within the account's
   * own budget (its oldest unfinished envelopes go), then within the relay's, where the account
   * holding the most gives way, so one tenant's unfinished uploads never push out another's. What
   * cannot be made room for is refused (E_REASSEMBLY_LIMIT).
   */
  private makeRoom(account: string, need: number): void {
    for (;;) {
      const own = this.accountHold(account);
      if (own.bytes + need <= this.limits.maxAccountInFlightBytes) break;
      if (!own.biggest || !this.dropOldest(own.biggest, `account ${account} holds ${own.bytes} bytes of unfinished envelopes (budget ${this.limits.maxAccountInFlightBytes})`)) {
        throw new SealcamError('E_REASSEMBLY_LIMIT', `an envelope of ${need} bytes exceeds account ${account}'s reassembly budget`);
      }
    }
    for (;;) {
      const total = this.reassemblyBytes;
      if (total + need <= this.limits.maxTotalInFlightBytes) return;
      let hog: { account: string; bytes: number; biggest: Reassembler | null } | null = null;
      for (const a of this.byAccount.keys()) {
        const h = this.accountHold(a);
        if (!hog || h.bytes > hog.bytes) hog = { account: a, ...h };
      }
      if (!hog?.biggest || !this.dropOldest(hog.biggest, `the relay holds ${total} bytes of unfinished envelopes (budget ${this.limits.maxTotalInFlightBytes}); account ${hog.account} holds the most`)) {
        throw new SealcamError('E_REASSEMBLY_LIMIT', `no room for an envelope of ${need} bytes within the relay's reassembly budget`);
      }
    }
  }

  /**
   * Take one message from <account>/<camera>/<channel>. Resolves once anything complete is on disk,
   * with the storage receipt (§10.5) for the camera when the message completed an envelope or was
   * an announcement: stored, already stored, or refused by the store. A piece that completes
   * nothing, or that reassembly refuses, gets no receipt (the camera sends the envelope again).
   */
  async take(account: string, camera: string, channel: 'seg' | 'keys', payload: Uint8Array): Promise<Receipt | null> {
    // A zero-length retained message is how MQTT clears a retained topic (keys is retained); it
    // carries nothing to store.
    if (channel === 'keys' && payload.length === 0) return null;
    let id: Uint8Array | null = null;
    try {
      if (channel === 'keys') {
        id = receiptId(payload);
        // Announcements are small and sent whole; the epoch is at bytes 24..28 (PROTOCOL.md §5.2).
        if (payload.length < 28) throw new SealcamError('E_STORE', 'announcement too short');
        // cameraId is at bytes 8..24: it must be the topic's camera, as for envelopes.
        if (toHex(payload.subarray(8, 24)) !== camera) throw new SealcamError('E_STORE', `announcement names camera ${toHex(payload.subarray(8, 24))}`);
        const epoch = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(24);
        const fresh = await this.store.putAnnouncement(account, camera, payload, epoch);
        this.stats.announcements++;
        return { channel, outcome: fresh ? 'stored' : 'duplicate', id, code: null };
      }
      this.stats.pieces++;
      const now = this.now();
      this.dropStalled(now);
      const key = `${account}/${camera}`;
      let r = this.reassemblers.get(key);
      if (!r) {
        r = new Reassembler({ maxInFlightBytes: this.limits.maxInFlightBytes, maxInFlightEnvelopes: 4, onEvict: (e) => this.log(`${key}: ${e.message}`) });
        this.reassemblers.set(key, r);
        let keys = this.byAccount.get(account);
        if (!keys) this.byAccount.set(account, (keys = new Set()));
        keys.add(key);
      }
      const need = r.reserveFor(payload);
      if (need > 0) this.makeRoom(account, need);
      const idle = r.pendingEnvelopes === 0;
      const before = r.pendingBytes;
      let envelope: Uint8Array | null;
      try {
        envelope = r.push(payload);
      } finally {
        this.held += r.pendingBytes - before;
      }
      if (envelope || idle) this.progress.set(key, now);
      if (!envelope) return null;
      // Reassembly checked the envelope against this commitment (§10.4): it is the receipt's id.
      id = decodeTransportChunk(payload).envelopeHash;
      const entry = await this.store.putSegment(account, camera, envelope);
      this.stats.envelopes++;
      return { channel, outcome: entry ? 'stored' : 'duplicate', id, code: null };
    } catch (e) {
      // Not a refusal: the store could not be reached (E_BROKER, a cluster electing a leader) or a
      // disk failed. Thrown, so the message is not acknowledged and no receipt tells the camera to
      // drop it; it comes again.
      if (!SealcamError.is(e) || e.code === 'E_BROKER') throw e;
      this.stats.refused++;
      this.log(`${account}/${camera}/${channel}: refused: ${e.message}`);
      return id ? { channel, outcome: 'refused', id, code: e.code } : null;
    }
  }
}
