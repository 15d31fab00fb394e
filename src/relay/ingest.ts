/**
 * What the relay does with camera traffic it stores: put transport pieces (PROTOCOL.md §10) back
 * together per camera, file whole envelopes and epoch announcements in the opaque store. It needs
 * no key: reassembly checks a hash commitment, filing reads public header fields.
 */
import { Reassembler } from '../protocol/transport-chunk.js';
import { SealcamError } from '../protocol/errors.js';
import { toHex } from '../protocol/bytes.js';
import type { OpaqueStore } from './store.js';

export class Ingest {
  private readonly reassemblers = new Map<string, Reassembler>();
  readonly stats = { pieces: 0, envelopes: 0, announcements: 0, refused: 0 };

  constructor(
    private readonly store: OpaqueStore,
    private readonly log: (msg: string) => void = () => undefined,
  ) {}

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
      const key = `${account}/${camera}`;
      let r = this.reassemblers.get(key);
      if (!r) {
        r = new Reassembler({ maxInFlightBytes: 64 * 1024 * 1024, maxInFlightEnvelopes: 4, onEvict: (e) => this.log(`${key}: ${e.message}`) });
        this.reassemblers.set(key, r);
      }
      const envelope = r.push(payload);
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
