/**
 * The camera's sealer (PROTOCOL.md §6.2). It owns nonce generation: there is no way for a
 * caller to pass a nonce in. One segment is open at a time; its chunks leave as live chunks the
 * moment they are sealed, and `finish()` returns the signed envelope that carries the same
 * ciphertexts, so each byte of video is encrypted exactly once.
 */
import { ByteWriter, concatBytes, wipe } from './bytes.js';
import { SealcamError, ensure } from './errors.js';
import type { EpochKey } from './epoch.js';
import type { Identity } from './identity.js';
import { NONCE_BYTES, Sha512, draw, secretboxSeal, type RandomSource } from './primitives.js';
import {
  MAX_BODY_BYTES,
  MAX_CHUNKS,
  RANDOM_NONCE_BYTES,
  SIGNATURE_CONTEXT,
  chunkNonce,
  encodeHeader,
  encodeInner,
  encodeLiveChunk,
  frameChunk,
  type SegmentKind,
} from './envelope.js';
import { paddedChunkCtLength, paddedLastChunkCtLength, validatePaddingPolicy, type PaddingPolicy } from './padding.js';

export interface SegmentStart {
  kind: SegmentKind;
  /** ms since the Unix epoch of the first frame. */
  captureTime: number;
}

export interface SegmentEnd {
  durationMs: number;
  /** Set on the last segment of a stream, so a viewer can tell a clean end from truncation. */
  final?: boolean;
}

export interface SealOptions extends SegmentStart, SegmentEnd {
  payload: Uint8Array;
}

/** Where the sealer gets the current epoch key: the device passes its `CameraEpochs`. */
export interface EpochSource {
  readonly epoch: EpochKey;
}

export class SegmentSealer {
  private open: SegmentWriter | null = null;
  /** §6.5: the size padding every chunk gets, or null */
  readonly padding: PaddingPolicy | null;

  /**
   * @param nextSeq the seq of the next segment. The device persists a high-water mark so seq
   *   never goes back across reboots; the nonce also contains fresh randomness in case it does.
   */
  constructor(
    private readonly camera: Identity,
    private readonly epochs: EpochSource,
    private readonly random: RandomSource,
    private seq: number,
    options: { padding?: PaddingPolicy | null } = {},
  ) {
    this.padding = options.padding ? validatePaddingPolicy(options.padding) : null;
    ensure(Number.isSafeInteger(seq) && seq >= 0, 'E_BAD_ARGUMENT', `nextSeq: expected a safe non-negative integer, got ${seq}`);
  }

  get nextSeq(): number {
    return this.seq;
  }

  /** The epoch the next segment will be sealed under. */
  get epoch(): number {
    return this.epochs.epoch.epoch;
  }

  /** Open a segment; seal its chunks with `addChunk`, close it with `finish`. */
  begin(start: SegmentStart): SegmentWriter {
    ensure(this.open === null, 'E_BAD_ARGUMENT', 'begin: the previous segment is still open; finish it first');
    ensure(Number.isSafeInteger(start.captureTime) && start.captureTime >= 0, 'E_BAD_ARGUMENT', 'captureTime: expected ms since the Unix epoch');
    const epochKey = this.epochs.epoch; // throws before a seq is used if there is no epoch yet
    const seq = this.seq++;
    const nonce = new ByteWriter(NONCE_BYTES).raw(draw(this.random, RANDOM_NONCE_BYTES)).u64(seq).u32(0).done();
    const writer = new SegmentWriter(this.camera, epochKey, seq, nonce, start, this.padding, () => {
      this.open = null;
    });
    this.open = writer;
    return writer;
  }

  /** Seal a whole segment as a single chunk. */
  seal(options: SealOptions): Uint8Array {
    const w = this.begin(options);
    w.addChunk(options.payload, { last: true });
    return w.finish(options);
  }
}

export class SegmentWriter {
  readonly seq: number;
  readonly epoch: number;
  private readonly key: Uint8Array;
  private readonly frames: Uint8Array[] = [];
  private readonly bodyHash = new Sha512();
  private bodyLength = 0;
  private lastAdded = false;
  private closed = false;

  constructor(
    private readonly camera: Identity,
    epochKey: EpochKey,
    seq: number,
    private readonly nonce: Uint8Array,
    private readonly start: SegmentStart,
    private readonly padding: PaddingPolicy | null,
    private readonly onClose: () => void,
  ) {
    this.seq = seq;
    this.epoch = epochKey.epoch;
    // A private copy, wiped at finish, so an epoch rotation mid-segment cannot break this segment.
    this.key = epochKey.key.slice();
  }

  get chunkCount(): number {
    return this.frames.length;
  }

  /** Seal the next chunk and return its live-chunk message (§6.4). Mark the last chunk. */
  addChunk(payload: Uint8Array, options: { last?: boolean } = {}): Uint8Array {
    ensure(!this.closed, 'E_BAD_ARGUMENT', 'addChunk: segment is already finished');
    ensure(!this.lastAdded, 'E_BAD_ARGUMENT', 'addChunk: the last chunk was already added');
    ensure(this.frames.length < MAX_CHUNKS, 'E_BAD_ARGUMENT', `addChunk: a segment holds at most ${MAX_CHUNKS} chunks`);
    const last = options.last === true;
    const chunkIndex = this.frames.length;
    const common = { kind: this.start.kind, last, cameraId: this.camera.id, epoch: this.epoch, seq: this.seq, captureTime: this.start.captureTime, chunkIndex };
    const padTo = this.padding
      ? last
        ? paddedLastChunkCtLength(this.padding, payload.length, this.bodyLength)
        : paddedChunkCtLength(this.padding, payload.length)
      : undefined;
    const plaintext = encodeInner(common, payload, padTo);
    const ct = secretboxSeal(plaintext, chunkNonce(this.nonce, chunkIndex), this.key);
    wipe(plaintext);
    const frame = frameChunk(ct);
    ensure(this.bodyLength + frame.length <= MAX_BODY_BYTES, 'E_BAD_ARGUMENT', `addChunk: a segment body holds at most ${MAX_BODY_BYTES} bytes`);
    this.frames.push(frame);
    this.bodyHash.update(frame);
    this.bodyLength += frame.length;
    this.lastAdded = last;
    return encodeLiveChunk({ ...common, nonce: this.nonce }, ct);
  }

  /** Sign and return the envelope. The last chunk must have been added with `{last: true}`. */
  finish(end: SegmentEnd): Uint8Array {
    ensure(!this.closed, 'E_BAD_ARGUMENT', 'finish: segment is already finished');
    if (!this.lastAdded) throw new SealcamError('E_BAD_ARGUMENT', 'finish: add the last chunk with {last: true} first');
    ensure(Number.isInteger(end.durationMs) && end.durationMs >= 0 && end.durationMs <= 0xffff_ffff, 'E_BAD_ARGUMENT', 'durationMs: expected a u32');
    this.closed = true;
    wipe(this.key);
    this.onClose();
    const header = encodeHeader({
      kind: this.start.kind,
      final: end.final === true,
      cameraId: this.camera.id,
      epoch: this.epoch,
      seq: this.seq,
      captureTime: this.start.captureTime,
      durationMs: end.durationMs,
      chunkCount: this.frames.length,
      bodyLength: this.bodyLength,
      nonce: this.nonce,
    });
    const signature = this.camera.signer.sign(concatBytes(SIGNATURE_CONTEXT, header, this.bodyHash.digest()));
    return concatBytes(header, signature, ...this.frames);
  }

  /** Abandon the segment (e.g. the encoder failed): wipes the key, frees the sealer. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    wipe(this.key);
    this.onClose();
  }
}

