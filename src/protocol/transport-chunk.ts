/**
 * Transport chunking (PROTOCOL.md §10): an envelope larger than one MQTT message travels as
 * several "SCC1" messages of at most `maxMessageBytes` (128 KiB by default, the AWS IoT Core
 * limit) and is put back together by the receiver, which may be the relay's store: it needs no key.
 *
 *   off  size  field
 *   0    4     magic          "SCC1" (0x53 0x43 0x43 0x31)
 *   4    1     version        1
 *   5    1     flags          0
 *   6    2     index          0..count-1
 *   8    2     count          1..MAX_TRANSPORT_CHUNKS
 *   10   2     reserved       0
 *   12   4     totalLength    length of the whole envelope, <= MAX_ENVELOPE_BYTES
 *   16   4     offset         where this piece starts in the envelope
 *   20   32    envelopeHash   SHA-512(envelope)[0..32]
 *   52   ..    data
 *
 * The header is authenticated by commitment: reassembled bytes must hash to envelopeHash, so a
 * changed index, offset, length or byte anywhere gives E_CHUNK_MISMATCH, and the envelope inside
 * is itself signed by the camera. Reassembly memory is bounded by `maxInFlightBytes` and
 * `maxInFlightEnvelopes`; an incomplete envelope is evicted oldest-first (E_REASSEMBLY_LIMIT is
 * reported for it).
 */
import { ByteReader, ByteWriter, asciiBytes, equalBytes, toHex } from './bytes.js';
import { SealcamError, ensure } from './errors.js';
import { sha512 } from './hash.js';
import { MAX_BODY_BYTES, SEAL_BYTES } from './envelope.js';

export const TRANSPORT_MAGIC = asciiBytes('SCC1');
export const TRANSPORT_VERSION = 1;
export const TRANSPORT_HEADER_BYTES = 52;
export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024;
export const MAX_TRANSPORT_CHUNKS = 0xffff;
export const MAX_ENVELOPE_BYTES = SEAL_BYTES + MAX_BODY_BYTES;
const HASH_PREFIX_BYTES = 32;

export interface TransportChunk {
  index: number;
  count: number;
  totalLength: number;
  offset: number;
  envelopeHash: Uint8Array;
  data: Uint8Array;
}

/** Split `envelope` into messages of at most `maxMessageBytes` each. */
export function splitForTransport(envelope: Uint8Array, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): Uint8Array[] {
  ensure(Number.isInteger(maxMessageBytes) && maxMessageBytes > TRANSPORT_HEADER_BYTES, 'E_BAD_ARGUMENT', `maxMessageBytes must exceed the ${TRANSPORT_HEADER_BYTES}-byte chunk header`);
  ensure(envelope.length >= 1 && envelope.length <= MAX_ENVELOPE_BYTES, 'E_BAD_ARGUMENT', `envelope length ${envelope.length} outside 1..${MAX_ENVELOPE_BYTES}`);
  const piece = maxMessageBytes - TRANSPORT_HEADER_BYTES;
  const count = Math.ceil(envelope.length / piece);
  ensure(count <= MAX_TRANSPORT_CHUNKS, 'E_BAD_ARGUMENT', `envelope needs ${count} chunks, more than ${MAX_TRANSPORT_CHUNKS}`);
  const hash = sha512(envelope).subarray(0, HASH_PREFIX_BYTES);
  const out: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const offset = index * piece;
    const data = envelope.subarray(offset, Math.min(offset + piece, envelope.length));
    out.push(
      new ByteWriter(TRANSPORT_HEADER_BYTES + data.length)
        .raw(TRANSPORT_MAGIC)
        .u8(TRANSPORT_VERSION)
        .u8(0)
        .u16(index)
        .u16(count)
        .u16(0)
        .u32(envelope.length)
        .u32(offset)
        .raw(hash, HASH_PREFIX_BYTES)
        .raw(data)
        .done(),
    );
  }
  return out;
}

export function decodeTransportChunk(message: Uint8Array): TransportChunk {
  const what = 'transport chunk';
  const r = new ByteReader(message, what);
  const fail = (m: string) => new SealcamError('E_CHUNK_HEADER', `${what}: ${m}`);
  if (!equalBytes(message.subarray(0, 4), TRANSPORT_MAGIC)) throw new SealcamError('E_BAD_MAGIC', `${what}: magic is not "SCC1"`);
  if (message.length < TRANSPORT_HEADER_BYTES) throw fail(`${message.length} bytes is shorter than the header`);
  r.raw(4);
  const version = r.u8();
  if (version !== TRANSPORT_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `${what}: version ${version} is not supported`);
  const flags = r.u8();
  if (flags !== 0) throw new SealcamError('E_UNKNOWN_FLAGS', `${what}: unknown flags 0x${flags.toString(16)}`);
  const index = r.u16();
  const count = r.u16();
  const reserved = r.u16();
  const totalLength = r.u32();
  const offset = r.u32();
  const envelopeHash = r.raw(HASH_PREFIX_BYTES);
  const data = r.rest();
  if (reserved !== 0) throw fail('reserved field is not 0');
  if (count < 1 || index >= count) throw fail(`index ${index} / count ${count} out of range`);
  if (totalLength < 1 || totalLength > MAX_ENVELOPE_BYTES) throw fail(`totalLength ${totalLength} outside 1..${MAX_ENVELOPE_BYTES}`);
  if (data.length < 1 || offset + data.length > totalLength) throw fail(`piece [${offset}, ${offset + data.length}) lies outside the ${totalLength}-byte envelope`);
  if (count > totalLength) throw fail(`count ${count} exceeds totalLength ${totalLength}`);
  if (count === 1 && (offset !== 0 || data.length !== totalLength)) throw fail('a single piece must carry the whole envelope');
  return { index, count, totalLength, offset, envelopeHash, data };
}

interface Partial {
  key: string;
  count: number;
  totalLength: number;
  hash: Uint8Array;
  buffer: Uint8Array;
  /** index -> what was received under it: offset, and a digest of the data. */
  seen: Map<number, { offset: number; digest: string }>;
  bytes: number;
}

export interface ReassemblerOptions {
  /** the most bytes held across all incomplete envelopes (default 32 MiB). */
  maxInFlightBytes?: number;
  /** the most incomplete envelopes held at once (default 8). */
  maxInFlightEnvelopes?: number;
  /** told about each incomplete envelope that had to be dropped. */
  onEvict?: (error: SealcamError) => void;
}

/**
 * Puts envelopes back together. `push` returns the whole envelope once its last piece arrives
 * and it hashes correctly; otherwise null. Identical duplicates (QoS 1 redelivery) are ignored;
 * a different piece under an index already held is E_CHUNK_MISMATCH.
 */
export class Reassembler {
  private readonly partials = new Map<string, Partial>();
  private inFlightBytes = 0;
  private readonly maxBytes: number;
  private readonly maxEnvelopes: number;

  constructor(private readonly options: ReassemblerOptions = {}) {
    this.maxBytes = options.maxInFlightBytes ?? 32 * 1024 * 1024;
    this.maxEnvelopes = options.maxInFlightEnvelopes ?? 8;
    ensure(this.maxBytes >= 1 && this.maxEnvelopes >= 1, 'E_BAD_ARGUMENT', 'reassembler limits must be positive');
  }

  get pendingEnvelopes(): number {
    return this.partials.size;
  }
  get pendingBytes(): number {
    return this.inFlightBytes;
  }

  /**
   * The bytes `message` would newly reserve: its envelope's totalLength when it starts an
   * unfinished envelope, else 0. A message that does not decode throws as `push` would.
   */
  reserveFor(message: Uint8Array): number {
    const c = decodeTransportChunk(message);
    return c.count === 1 || this.partials.has(toHex(c.envelopeHash)) ? 0 : c.totalLength;
  }

  /** Drop the oldest unfinished envelope (told to onEvict with `why`); the bytes freed, 0 if none. */
  dropOldest(why: string): number {
    const oldest = this.partials.values().next().value;
    if (!oldest) return 0;
    this.drop(oldest);
    this.options.onEvict?.(new SealcamError('E_REASSEMBLY_LIMIT', `dropped incomplete envelope ${oldest.key.slice(0, 16)} (${oldest.seen.size}/${oldest.count} pieces): ${why}`));
    return oldest.totalLength;
  }

  push(message: Uint8Array): Uint8Array | null {
    const c = decodeTransportChunk(message);
    if (c.count === 1) return this.finish(c.data, c.envelopeHash);
    const key = toHex(c.envelopeHash);
    let p = this.partials.get(key);
    if (!p) {
      if (c.totalLength > this.maxBytes) {
        throw new SealcamError('E_REASSEMBLY_LIMIT', `envelope of ${c.totalLength} bytes exceeds the ${this.maxBytes}-byte reassembly budget`);
      }
      this.makeRoom(c.totalLength);
      p = { key, count: c.count, totalLength: c.totalLength, hash: c.envelopeHash, buffer: new Uint8Array(c.totalLength), seen: new Map(), bytes: 0 };
      this.partials.set(key, p);
      this.inFlightBytes += c.totalLength;
    } else if (p.count !== c.count || p.totalLength !== c.totalLength) {
      throw new SealcamError('E_CHUNK_MISMATCH', `piece ${c.index} disagrees with earlier pieces on count or length`);
    }
    const digest = toHex(sha512(c.data).subarray(0, 16));
    const earlier = p.seen.get(c.index);
    if (earlier !== undefined) {
      // A QoS 1 redelivery is byte-identical; anything else claiming the same index is an attack.
      if (earlier.offset !== c.offset || earlier.digest !== digest) {
        throw new SealcamError('E_CHUNK_MISMATCH', `piece ${c.index} arrived twice with different contents`);
      }
      return null;
    }
    p.seen.set(c.index, { offset: c.offset, digest });
    p.buffer.set(c.data, c.offset);
    p.bytes += c.data.length;
    if (p.seen.size < p.count) return null;
    this.drop(p);
    return this.finish(p.buffer, p.hash);
  }

  private finish(envelope: Uint8Array, hash: Uint8Array): Uint8Array {
    if (!equalBytes(sha512(envelope).subarray(0, HASH_PREFIX_BYTES), hash)) {
      throw new SealcamError('E_CHUNK_MISMATCH', 'reassembled envelope does not match its hash');
    }
    return envelope;
  }

  private drop(p: Partial): void {
    this.partials.delete(p.key);
    this.inFlightBytes -= p.totalLength;
  }

  private makeRoom(incoming: number): void {
    for (const oldest of this.partials.values()) {
      if (this.partials.size < this.maxEnvelopes && this.inFlightBytes + incoming <= this.maxBytes) return;
      this.drop(oldest);
      this.options.onEvict?.(new SealcamError('E_REASSEMBLY_LIMIT', `dropped incomplete envelope ${oldest.key.slice(0, 16)} (${oldest.seen.size}/${oldest.count} pieces) to stay within limits`));
    }
  }
}
