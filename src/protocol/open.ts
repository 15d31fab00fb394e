/**
 * The viewer's side (PROTOCOL.md §6.3 and §7): one `CameraView` per pinned camera holds the
 * camera's public keys, the epoch keys unwrapped for this viewer, and the stream state.
 * There is no way to open a segment without a pinned camera: `openSegment` is a method of the
 * view that pinned it, and it always verifies.
 *
 * Verification order (§6.3), each step before the next is attempted:
 *   1. parse the header                 E_MALFORMED, E_BAD_MAGIC, E_UNSUPPORTED_VERSION, ...
 *   2. camera id is the pinned camera   E_FOREIGN_CAMERA (no key is looked at, nothing decrypted)
 *   3. Ed25519 signature                E_BAD_SIGNATURE
 *   4. seq and epoch                    E_REPLAY, E_REORDERED, E_FORWARD_JUMP, E_EPOCH_ROLLBACK, E_UNKNOWN_EPOCH
 *   5. split the body into chunks       E_MALFORMED
 *   6. for each chunk in order: decrypt E_DECRYPT, then check its inner header E_INNER_HEADER
 * and only then is the stream state advanced.
 */
import { concatBytes, equalBytes, toHex } from './bytes.js';
import { SealcamError, ensure } from './errors.js';
import { EpochKeyring, openAnnouncement, type AnnouncementInfo, type EpochKey } from './epoch.js';
import type { Identity, PublicIdentity } from './identity.js';
import { Sha512, secretboxOpen, sha512, verifySignature } from './primitives.js';
import {
  MAX_BODY_BYTES,
  SIGNATURE_CONTEXT,
  checkInner,
  chunkNonce,
  decodeLiveChunk,
  frameChunk,
  parseEnvelope,
  splitBody,
  type SegmentHeader,
} from './envelope.js';
import { StreamState, type StreamOptions, type StreamSnapshot, type StreamVerdict } from './stream-state.js';

export interface OpenedSegment {
  header: SegmentHeader;
  /** the chunk payloads, in order. */
  chunks: Uint8Array[];
  /** all chunk payloads concatenated: the init or media segment bytes. */
  payload: Uint8Array;
  /** 'gap' means segments between the previous accepted one and this one are missing. */
  verdict: StreamVerdict;
}

export interface LiveChunk {
  seq: number;
  chunkIndex: number;
  last: boolean;
  captureTime: number;
  payload: Uint8Array;
  /** Always true here: the chunk is MAC-authentic but not yet covered by the camera's signature. */
  provisional: true;
}

export interface LiveConfirmation {
  header: SegmentHeader;
  verdict: StreamVerdict;
  chunkCount: number;
}

interface PendingLive {
  seq: number;
  kind: SegmentHeader['kind'];
  epoch: number;
  nonce: Uint8Array;
  captureTime: number;
  frames: Uint8Array[];
  bytes: number;
  complete: boolean;
}

/** Limits on what a live viewer buffers while waiting for seals. */
const MAX_PENDING_SEGMENTS = 4;

export class CameraView {
  readonly keyring: EpochKeyring;
  readonly stream: StreamState;
  private readonly pending = new Map<number, PendingLive>();

  constructor(
    readonly camera: PublicIdentity,
    private readonly viewer: Identity,
    options: StreamOptions & { snapshot?: StreamSnapshot; keyringCapacity?: number } = {},
  ) {
    this.keyring = new EpochKeyring(options.keyringCapacity);
    this.stream = new StreamState(options, options.snapshot);
  }

  get cameraIdHex(): string {
    return toHex(this.camera.id);
  }

  /** Take a signed epoch announcement from the keys topic and unwrap our key. */
  addAnnouncement(bytes: Uint8Array): AnnouncementInfo {
    const { info, key } = openAnnouncement(bytes, this.camera, this.viewer);
    this.keyring.add(key);
    return info;
  }

  /** Open and verify a whole envelope (history or the seg topic), in the §6.3 order. */
  openSegment(envelope: Uint8Array): OpenedSegment {
    return this.open(envelope, 'stream');
  }

  /**
   * Open an init segment that arrives outside the seq stream (§7.5): the camera repeats its
   * current init envelope on the live topic before every media segment, so a viewer that joins
   * late can configure its decoder. It is verified exactly as §6.3 (pinned camera, signature,
   * epoch key, decryption, inner header) but only enters the stream state when its seq is above
   * everything committed: a repeat, or the init of a run this viewer already followed, is
   * configuration, never content. A replayed old init can at worst misconfigure the decoder; it
   * cannot make a frame play, because frames only come from chunks that pass §7.3 and §7.4.
   */
  openInit(envelope: Uint8Array): OpenedSegment {
    return this.open(envelope, 'init');
  }

  /** §6.3 in order. `init` mode: kind must be init, and the stream check and commit run only when seq advances. */
  private open(envelope: Uint8Array, mode: 'stream' | 'init'): OpenedSegment {
    const parsed = parseEnvelope(envelope); // 1
    const { header } = parsed;
    this.assertPinned(header.cameraId); // 2
    if (mode === 'init' && header.kind !== 'init') throw new SealcamError('E_UNKNOWN_KIND', `seq ${header.seq}: expected an init segment on the live topic, got ${header.kind}`);
    this.assertSignature(parsed.headerBytes, parsed.signature, sha512(parsed.body!)); // 3
    const top = this.stream.highest;
    const advances = mode === 'stream' || top === null || header.seq > top;
    const verdict: StreamVerdict = advances ? this.stream.check(header.seq, header.epoch) : { kind: 'next' }; // 4
    const key = this.epochKey(header.epoch);
    const chunks = splitBody(parsed.body!, header.chunkCount).map((ct, i) => this.openChunk(ct, header, i, key)); // 5, 6
    if (advances) this.stream.commit(header.seq, header.epoch, header.final);
    this.pending.delete(header.seq);
    return { header, chunks, payload: concatBytes(...chunks), verdict };
  }

  /** Whether chunks of `seq` are being received live (chunk 0 was accepted, no seal yet). */
  hasPending(seq: number): boolean {
    return this.pending.has(seq);
  }

  /**
   * Open a live chunk the moment it arrives (§7). Chunks of one segment must arrive in order
   * from index 0; the result is provisional until `confirmLive` sees the camera's signature.
   */
  acceptLiveChunk(bytes: Uint8Array): LiveChunk {
    const { header, ct } = decodeLiveChunk(bytes);
    this.assertPinned(header.cameraId);
    // The same seq/epoch rules as whole segments (§8): E_REPLAY, E_REORDERED, E_FORWARD_JUMP, E_EPOCH_ROLLBACK.
    this.stream.check(header.seq, header.epoch);
    const key = this.epochKey(header.epoch);
    let p = this.pending.get(header.seq);
    if (!p) {
      if (header.chunkIndex !== 0) throw new SealcamError('E_REORDERED', `live chunk ${header.chunkIndex} of seq ${header.seq} arrived before chunk 0`);
      p = { seq: header.seq, kind: header.kind, epoch: header.epoch, nonce: header.nonce, captureTime: header.captureTime, frames: [], bytes: 0, complete: false };
    } else {
      if (p.kind !== header.kind || p.epoch !== header.epoch || !equalBytes(p.nonce, header.nonce) || p.captureTime !== header.captureTime) {
        throw new SealcamError('E_INNER_HEADER', `live chunk ${header.chunkIndex} of seq ${header.seq} does not belong to the segment begun by chunk 0`);
      }
      if (p.complete || header.chunkIndex < p.frames.length) throw new SealcamError('E_REPLAY', `live chunk ${header.chunkIndex} of seq ${header.seq} was already received`);
      if (header.chunkIndex > p.frames.length) throw new SealcamError('E_REORDERED', `live chunk ${header.chunkIndex} of seq ${header.seq} arrived before chunk ${p.frames.length}`);
    }
    if (p.bytes + 4 + ct.length > MAX_BODY_BYTES) throw new SealcamError('E_REASSEMBLY_LIMIT', `live segment ${header.seq} exceeds ${MAX_BODY_BYTES} bytes`);
    const payload = checkInner(secretboxOpen(ct, chunkNonce(header.nonce, header.chunkIndex), key.key, `live chunk ${header.chunkIndex} of seq ${header.seq}`), {
      kind: header.kind,
      last: header.last,
      cameraId: header.cameraId,
      epoch: header.epoch,
      seq: header.seq,
      captureTime: header.captureTime,
      chunkIndex: header.chunkIndex,
    });
    const frame = frameChunk(ct);
    p.frames.push(frame);
    p.bytes += frame.length;
    p.complete = header.last;
    if (!this.pending.has(p.seq)) this.addPending(p);
    return { seq: header.seq, chunkIndex: header.chunkIndex, last: header.last, captureTime: header.captureTime, payload, provisional: true };
  }

  /**
   * Confirm the live chunks of a segment with its seal (the envelope's first 144 bytes): the
   * body rebuilt from the chunks received must hash to what the camera signed.
   */
  confirmLive(seal: Uint8Array): LiveConfirmation {
    const parsed = parseEnvelope(seal, true);
    const { header } = parsed;
    this.assertPinned(header.cameraId);
    const p = this.pending.get(header.seq);
    if (!p || !p.complete || p.frames.length !== header.chunkCount) {
      throw new SealcamError('E_LIVE_INCOMPLETE', `seal for seq ${header.seq}: have ${p?.frames.length ?? 0} of ${header.chunkCount} chunks`);
    }
    const h = new Sha512();
    for (const f of p.frames) h.update(f);
    if (p.bytes !== header.bodyLength || p.kind !== header.kind || p.epoch !== header.epoch || !equalBytes(p.nonce, header.nonce) || p.captureTime !== header.captureTime) {
      throw new SealcamError('E_BAD_SIGNATURE', `seal for seq ${header.seq} does not match the live chunks received`);
    }
    this.assertSignature(parsed.headerBytes, parsed.signature, h.digest());
    const verdict = this.stream.check(header.seq, header.epoch);
    this.stream.commit(header.seq, header.epoch, header.final);
    this.pending.delete(header.seq);
    return { header, verdict, chunkCount: header.chunkCount };
  }

  /** Keep at most MAX_PENDING_SEGMENTS unconfirmed segments: drop confirmed-over ones, then the oldest others. */
  private addPending(p: PendingLive): void {
    const top = this.stream.highest;
    for (const seq of this.pending.keys()) if (top !== null && seq <= top) this.pending.delete(seq);
    while (this.pending.size >= MAX_PENDING_SEGMENTS) this.pending.delete(Math.min(...this.pending.keys()));
    this.pending.set(p.seq, p);
  }

  private assertPinned(cameraId: Uint8Array): void {
    if (!equalBytes(cameraId, this.camera.id)) {
      throw new SealcamError('E_FOREIGN_CAMERA', `segment from camera ${toHex(cameraId)}, which this viewer has not paired (pinned: ${this.cameraIdHex})`);
    }
  }

  private assertSignature(headerBytes: Uint8Array, signature: Uint8Array, bodyHash: Uint8Array): void {
    if (!verifySignature(this.camera.signPublicKey, concatBytes(SIGNATURE_CONTEXT, headerBytes, bodyHash), signature)) {
      throw new SealcamError('E_BAD_SIGNATURE', 'segment signature does not verify under the pinned camera key');
    }
  }

  private epochKey(epoch: number): EpochKey {
    const key = this.keyring.get(epoch);
    if (!key) throw new SealcamError('E_UNKNOWN_EPOCH', `no key for epoch ${epoch} (not announced to this viewer, or erased)`);
    return key;
  }

  private openChunk(ct: Uint8Array, header: SegmentHeader, chunkIndex: number, key: EpochKey): Uint8Array {
    const what = `chunk ${chunkIndex} of seq ${header.seq}`;
    const plaintext = secretboxOpen(ct, chunkNonce(header.nonce, chunkIndex), key.key, what);
    return checkInner(plaintext, {
      kind: header.kind,
      last: chunkIndex === header.chunkCount - 1,
      cameraId: header.cameraId,
      epoch: header.epoch,
      seq: header.seq,
      captureTime: header.captureTime,
      chunkIndex,
    });
  }
}

/**
 * A viewer with several pinned cameras: routes each message to the view of the camera it names,
 * and refuses with E_FOREIGN_CAMERA before any key is touched when it names none.
 */
export class Viewer {
  private readonly views = new Map<string, CameraView>();
  constructor(readonly identity: Identity) {}

  pin(camera: PublicIdentity, options?: ConstructorParameters<typeof CameraView>[2]): CameraView {
    const view = new CameraView(camera, this.identity, options);
    this.views.set(toHex(camera.id), view);
    return view;
  }

  view(cameraId: Uint8Array): CameraView {
    const view = this.views.get(toHex(cameraId));
    if (!view) throw new SealcamError('E_FOREIGN_CAMERA', `camera ${toHex(cameraId)} is not paired with this viewer`);
    return view;
  }

  get cameras(): CameraView[] {
    return [...this.views.values()];
  }

  openSegment(envelope: Uint8Array): OpenedSegment {
    ensure(envelope instanceof Uint8Array, 'E_BAD_ARGUMENT', 'openSegment: expected bytes');
    const { header } = parseEnvelope(envelope);
    return this.view(header.cameraId).openSegment(envelope);
  }
}
