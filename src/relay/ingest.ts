/**
 * What the relay does with camera traffic it stores: put transport pieces (PROTOCOL.md §10) back
 * together per camera, file whole envelopes and epoch announcements in the opaque store. It needs
 * no key: reassembly checks a hash commitment, filing reads public header fields.
 */
import { Reassembler } from '../protocol/transport-chunk.js';
import { SealcamError } from '../protocol/errors.js';
import { toHex } from '../protocol/bytes.js';
import type { OpaqueStore } from './store.js';

/** Reassembly limits per camera (PROTOCOL.md §11.3). */
export interface ReassemblyLimits {
  /** bytes of unfinished envelopes one camera may have in flight (§10.4 maxInFlightBytes) */
  maxInFlightBytes: number;
  /** a camera's reassembly that completes no envelope for this long is dropped, with what it holds */
  stallMs: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = { maxInFlightBytes: 64 * 1024 * 1024, stallMs: 120_000 };

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

  /** Bytes held by unfinished envelopes, over all cameras. */
  get reassemblyBytes(): number {
    let n = 0;
    for (const r of this.reassemblers.values()) n += r.pendingBytes;
    return n;
  }

  /** Drop the reassembly of every camera that has completed nothing for stallMs (at most one sweep a second). */
  private dropStalled(now: number): void {
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [key, r] of this.reassemblers) {
      if (r.pendingEnvelopes === 0 || now - (this.progress.get(key) ?? now) < this.limits.stallMs) continue;
      this.stats.stalled++;
      this.log(`E_REASSEMBLY_LIMIT: ${key}: dropped ${r.pendingEnvelopes} unfinished envelopes (${r.pendingBytes} bytes), no envelope completed in ${this.limits.stallMs} ms`);
      this.reassemblers.delete(key);
      this.progress.delete(key);
    }
  }

  /** Take one message from <account>/<camera>/<channel>. Resolves once anything complete is on disk. */
  async take(account: string, camera: string, channel: 'seg' | 'keys', payload: Uint8Array): Promise<void> {
    // A zero-length retained message is how MQTT clears a retained topic (keys is retained); it
    // carries nothing to store.
    if (channel === 'keys' && payload.length === 0) return;
    try {
      if (channel === 'keys') {
        // Announcements are small and sent whole; the epoch is at bytes 24..28 (PROTOCOL.md §5.2).
        if (payload.length < 28) throw new SealcamError('E_STORE', 'announcement too short');
        // cameraId is at bytes 8..24: it must be the topic's camera, as for envelopes.
        if (toHex(payload.subarray(8, 24)) !== camera) throw new SealcamError('E_STORE', `announcement names camera ${toHex(payload.subarray(8, 24))}`);
        const epoch = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(24);
        await this.store.putAnnouncement(account, camera, payload, epoch);
        this.stats.announcements++;
        return;
      }
      this.stats.pieces++;
      const now = this.now();
      this.dropStalled(now);
      const key = `${account}/${camera}`;
      let r = this.reassemblers.get(key);
      if (!r) {
        r = new Reassembler({ maxInFlightBytes: this.limits.maxInFlightBytes, maxInFlightEnvelopes: 4, onEvict: (e) => this.log(`${key}: ${e.message}`) });
        this.reassemblers.set(key, r);
      }
      const idle = r.pendingEnvelopes === 0;
      const envelope = r.push(payload);
      if (envelope || idle) this.progress.set(key, now);
      if (envelope) {
        await this.store.putSegment(account, camera, envelope);
        this.stats.envelopes++;
      }
    } catch (e) {
      if (!SealcamError.is(e)) throw e;
      this.stats.refused++;
      this.log(`${account}/${camera}/${channel}: refused: ${e.message}`);
    }
  }
}
