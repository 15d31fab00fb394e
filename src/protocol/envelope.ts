/**
 * The sealed-segment envelope, its chunk body, and the live-chunk message (PROTOCOL.md §6).
 *
 * Segment envelope ("SCS1", all integers big-endian):
 *
 *   off  size  field
 *   0    4     magic          "SCS1" (0x53 0x43 0x53 0x31)
 *   4    1     version        1
 *   5    1     kind           1 = init segment, 2 = media segment (others: E_UNKNOWN_KIND)
 *   6    1     flags          bit 0 FINAL: last segment of this stream; other bits: E_UNKNOWN_FLAGS
 *   7    1     reserved       0
 *   8    16    cameraId       fingerprint of the sealing camera (§2)
 *   24   4     epoch          epoch whose key sealed the body (§5), >= 1
 *   28   8     seq            segment number, strictly increasing over the camera's life, < 2^53
 *   36   8     captureTime    capture time of the first frame, ms since the Unix epoch
 *   44   4     durationMs     duration of the segment in milliseconds
 *   48   4     chunkCount     number of body chunks, 1..MAX_CHUNKS
 *   52   4     bodyLength     length of the body in bytes, <= MAX_BODY_BYTES
 *   56   24    nonce          random(12) || seq(8) || 00 00 00 00
 *   80   64    signature      Ed25519 by the camera over
 *                             "sealcam/segment/v1\0" || bytes[0..80] || SHA-512(body)
 *   144  ..    body           chunkCount × ( ctLength(4) || ct )
 *
 * Chunk i of the body: ct_i = secretbox(inner_i || payload_i, nonce_i, epochKey) where
 * nonce_i = nonce[0..20] || u32(i). Putting seq into the nonce means a (key, nonce) pair cannot
 * repeat even if a board's random generator repeats after a reboot; the random 12 bytes cover a
 * seq counter that was rolled back (restored from an old backup).
 *
 * Inner header inside every chunk's plaintext (checked after opening, because secretbox has no
 * associated data and is not key-committing):
 *
 *   0    4     magic          "SCI1"
 *   4    1     kind           = header.kind
 *   5    1     flags          bit 0 LAST_CHUNK: set on chunk chunkCount-1 only
 *   6    2     reserved       0
 *   8    16    cameraId       = header.cameraId
 *   24   4     epoch          = header.epoch
 *   28   8     seq            = header.seq
 *   36   8     captureTime    = header.captureTime
 *   44   4     chunkIndex     = i
 *   48   ..    payload
 *
 * durationMs and FINAL are not repeated inside: they are only known when the segment closes,
 * after live chunks have left, and the signature covers them.
 *
 * Live chunk ("SCL1"): the same chunk ciphertext, sent on its own as soon as it exists:
 *
 *   0    4     magic          "SCL1" (0x53 0x43 0x4c 0x31)
 *   4    1     version        1
 *   5    1     kind           the segment's kind (1 or 2)
 *   6    1     flags          bit 0 LAST_CHUNK (must equal the inner flag)
 *   7    1     reserved       0
 *   8    16    cameraId
 *   24   4     epoch
 *   28   8     seq
 *   36   8     captureTime
 *   44   4     chunkIndex
 *   48   24    nonce          the segment's nonce (as in the envelope)
 *   72   ..    ct             ct_i, exactly as it appears in the envelope body
 *
 * A live chunk is authenticated by its Poly1305 tag under the epoch key and the inner header;
 * it becomes "confirmed" when the segment's signed header arrives and SHA-512 of the body rebuilt
 * from the chunks matches (§7). The seal message a live viewer receives is bytes[0..144] of the
 * envelope: header and signature, without the body.
 */
import { ByteReader, ByteWriter, asciiBytes, equalBytes, toHex } from './bytes.js';
import { SealcamError } from './errors.js';
import { ID_BYTES, MAC_BYTES, NONCE_BYTES, SIGNATURE_BYTES } from './sizes.js';
import { FLAG_PADDED, PAD_TRAILER_BYTES } from './padding.js';

export const SEGMENT_MAGIC = asciiBytes('SCS1');
export const LIVE_MAGIC = asciiBytes('SCL1');
export const INNER_MAGIC = asciiBytes('SCI1');
export const ENVELOPE_VERSION = 1;
export const HEADER_BYTES = 80;
export const SEAL_BYTES = HEADER_BYTES + SIGNATURE_BYTES;
export const INNER_BYTES = 48;
export const LIVE_HEADER_BYTES = 72;
export const RANDOM_NONCE_BYTES = 12;
export const MAX_CHUNKS = 4096;
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
export const MIN_CHUNK_CT_BYTES = INNER_BYTES + MAC_BYTES;
export const SIGNATURE_CONTEXT = asciiBytes('sealcam/segment/v1\0');

/** 1 fMP4 init segment, 2 media segment, 3 motion event (its payload is an `SCEV` record, §16). */
export const SegmentKind = { init: 1, media: 2, event: 3 } as const;
export type SegmentKind = keyof typeof SegmentKind;
const KIND_BY_CODE = new Map<number, SegmentKind>([
  [1, 'init'],
  [2, 'media'],
  [3, 'event'],
]);

export const FLAG_FINAL = 0x01;
export const FLAG_LAST_CHUNK = 0x01;

export interface SegmentHeader {
  kind: SegmentKind;
  final: boolean;
  cameraId: Uint8Array;
  epoch: number;
  seq: number;
  captureTime: number;
  durationMs: number;
  chunkCount: number;
  bodyLength: number;
  nonce: Uint8Array;
}

export interface LiveChunkHeader {
  kind: SegmentKind;
  last: boolean;
  cameraId: Uint8Array;
  epoch: number;
  seq: number;
  captureTime: number;
  chunkIndex: number;
  nonce: Uint8Array;
}

export interface InnerHeader {
  kind: SegmentKind;
  last: boolean;
  cameraId: Uint8Array;
  epoch: number;
  seq: number;
  captureTime: number;
  chunkIndex: number;
}

function kindFromCode(code: number, what: string): SegmentKind {
  const kind = KIND_BY_CODE.get(code);
  if (!kind) throw new SealcamError('E_UNKNOWN_KIND', `${what}: unknown kind ${code}`);
  return kind;
}

function expectMagic(r: ByteReader, magic: Uint8Array, what: string): void {
  if (!equalBytes(r.raw(4), magic)) throw new SealcamError('E_BAD_MAGIC', `${what}: magic is not "${new TextDecoder().decode(magic)}"`);
}

function expectVersion(r: ByteReader, what: string): void {
  const v = r.u8();
  if (v !== ENVELOPE_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `${what}: version ${v} is not supported (expected ${ENVELOPE_VERSION})`);
}

function expectFlags(flags: number, allowed: number, what: string): void {
  if ((flags & ~allowed) !== 0) throw new SealcamError('E_UNKNOWN_FLAGS', `${what}: unknown flags 0x${flags.toString(16)}`);
}

function expectReserved(r: ByteReader, bytes: 1 | 2, what: string): void {
  const v = bytes === 1 ? r.u8() : r.u16();
  if (v !== 0) throw new SealcamError('E_MALFORMED', `${what}: reserved field is ${v}, expected 0`);
}

/** The nonce of chunk i: nonce[0..20] || u32(i) (§6.2). */
export function chunkNonce(nonce: Uint8Array, chunkIndex: number): Uint8Array {
  const out = nonce.slice(0, NONCE_BYTES);
  new DataView(out.buffer).setUint32(20, chunkIndex);
  return out;
}

/** Check that a header nonce has the §6.2 structure: random(12) || seq(8) || 0(4). */
function checkNonceStructure(nonce: Uint8Array, seq: number, what: string): void {
  const view = new DataView(nonce.buffer, nonce.byteOffset, nonce.byteLength);
  if (view.getBigUint64(RANDOM_NONCE_BYTES) !== BigInt(seq) || view.getUint32(20) !== 0) {
    throw new SealcamError('E_MALFORMED', `${what}: nonce does not carry seq ${seq} (§6.2)`);
  }
}

export function encodeHeader(h: SegmentHeader): Uint8Array {
  return new ByteWriter(HEADER_BYTES)
    .raw(SEGMENT_MAGIC)
    .u8(ENVELOPE_VERSION)
    .u8(SegmentKind[h.kind])
    .u8(h.final ? FLAG_FINAL : 0)
    .u8(0)
    .raw(h.cameraId, ID_BYTES)
    .u32(h.epoch)
    .u64(h.seq)
    .u64(h.captureTime)
    .u32(h.durationMs)
    .u32(h.chunkCount)
    .u32(h.bodyLength)
    .raw(h.nonce, NONCE_BYTES)
    .done();
}

/** Parse the 80-byte header from the start of `bytes` (the rest is not looked at). */
export function decodeHeader(bytes: Uint8Array): SegmentHeader {
  const what = 'segment header';
  const r = new ByteReader(bytes.subarray(0, HEADER_BYTES), what);
  expectMagic(r, SEGMENT_MAGIC, what);
  expectVersion(r, what);
  const kind = kindFromCode(r.u8(), what);
  const flags = r.u8();
  expectFlags(flags, FLAG_FINAL, what);
  expectReserved(r, 1, what);
  const h: SegmentHeader = {
    kind,
    final: (flags & FLAG_FINAL) !== 0,
    cameraId: r.raw(ID_BYTES),
    epoch: r.u32(),
    seq: r.u64(),
    captureTime: r.u64(),
    durationMs: r.u32(),
    chunkCount: r.u32(),
    bodyLength: r.u32(),
    nonce: r.raw(NONCE_BYTES),
  };
  if (h.epoch === 0) throw new SealcamError('E_MALFORMED', `${what}: epoch 0 is reserved`);
  if (h.chunkCount < 1 || h.chunkCount > MAX_CHUNKS) throw new SealcamError('E_MALFORMED', `${what}: chunkCount ${h.chunkCount} outside 1..${MAX_CHUNKS}`);
  if (h.bodyLength > MAX_BODY_BYTES) throw new SealcamError('E_MALFORMED', `${what}: bodyLength ${h.bodyLength} exceeds ${MAX_BODY_BYTES}`);
  if (h.bodyLength < h.chunkCount * (4 + MIN_CHUNK_CT_BYTES)) throw new SealcamError('E_MALFORMED', `${what}: bodyLength ${h.bodyLength} too small for ${h.chunkCount} chunks`);
  checkNonceStructure(h.nonce, h.seq, what);
  return h;
}

export interface ParsedEnvelope {
  header: SegmentHeader;
  headerBytes: Uint8Array;
  signature: Uint8Array;
  /** null for a detached seal (header and signature only). */
  body: Uint8Array | null;
}

/** Split an envelope (or, with `detached`, a 144-byte seal) into header, signature and body. */
export function parseEnvelope(bytes: Uint8Array, detached = false): ParsedEnvelope {
  const what = detached ? 'segment seal' : 'segment envelope';
  if (!equalBytes(bytes.subarray(0, 4), SEGMENT_MAGIC)) throw new SealcamError('E_BAD_MAGIC', `${what}: magic is not "SCS1"`);
  if (bytes.length < SEAL_BYTES) throw new SealcamError('E_MALFORMED', `${what}: ${bytes.length} bytes is shorter than the ${SEAL_BYTES}-byte header and signature`);
  const header = decodeHeader(bytes);
  const expected = detached ? SEAL_BYTES : SEAL_BYTES + header.bodyLength;
  if (bytes.length !== expected) throw new SealcamError('E_MALFORMED', `${what}: length ${bytes.length}, header says ${expected}`);
  return {
    header,
    headerBytes: bytes.subarray(0, HEADER_BYTES),
    signature: bytes.subarray(HEADER_BYTES, SEAL_BYTES),
    body: detached ? null : bytes.subarray(SEAL_BYTES),
  };
}

/** Split a body into its chunk ciphertexts, checking the framing against the header. */
export function splitBody(body: Uint8Array, chunkCount: number): Uint8Array[] {
  const r = new ByteReader(body, 'segment body');
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < chunkCount; i++) {
    const length = r.u32();
    if (length < MIN_CHUNK_CT_BYTES) throw new SealcamError('E_MALFORMED', `segment body: chunk ${i} is ${length} bytes, below ${MIN_CHUNK_CT_BYTES}`);
    chunks.push(r.view_(length));
  }
  r.end();
  return chunks;
}

/** Frame one chunk ciphertext for the body: ctLength(4) || ct. */
export function frameChunk(ct: Uint8Array): Uint8Array {
  return new ByteWriter(4 + ct.length).u32(ct.length).raw(ct).done();
}

/**
 * A chunk plaintext: inner header || payload, and with `padTo` (the ciphertext size the padding
 * policy chose, §6.5) the PADDED flag and `zero(padLength) || u32(padLength)` after the payload.
 */
export function encodeInner(h: InnerHeader, payload: Uint8Array, padTo?: number): Uint8Array {
  const padded = padTo !== undefined;
  const length = padded ? padTo - MAC_BYTES : INNER_BYTES + payload.length;
  const padLength = length - INNER_BYTES - payload.length - PAD_TRAILER_BYTES;
  if (padded && padLength < 0) throw new SealcamError('E_BAD_ARGUMENT', `encodeInner: ${payload.length} payload bytes do not fit a ${padTo}-byte padded chunk`);
  const out = new ByteWriter(length)
    .raw(INNER_MAGIC)
    .u8(SegmentKind[h.kind])
    .u8((h.last ? FLAG_LAST_CHUNK : 0) | (padded ? FLAG_PADDED : 0))
    .u16(0)
    .raw(h.cameraId, ID_BYTES)
    .u32(h.epoch)
    .u64(h.seq)
    .u64(h.captureTime)
    .u32(h.chunkIndex)
    .raw(payload);
  if (padded) out.raw(new Uint8Array(padLength)).u32(padLength);
  return out.done();
}

/**
 * Check a chunk plaintext's inner header against what the outer header says (§6.3 step 6) and
 * return the payload. Any mismatch is E_INNER_HEADER.
 */
export function checkInner(plaintext: Uint8Array, expected: InnerHeader): Uint8Array {
  try {
    return checkInnerFields(plaintext, expected);
  } catch (e) {
    if (SealcamError.is(e, 'E_INNER_HEADER')) throw e;
    throw new SealcamError('E_INNER_HEADER', `chunk ${expected.chunkIndex} of seq ${expected.seq}: inner header does not parse`, { cause: e });
  }
}

function checkInnerFields(plaintext: Uint8Array, expected: InnerHeader): Uint8Array {
  const fail = (field: string) =>
    new SealcamError('E_INNER_HEADER', `chunk ${expected.chunkIndex} of seq ${expected.seq}: inner ${field} does not match the header`);
  if (plaintext.length < INNER_BYTES) throw fail('length');
  const r = new ByteReader(plaintext, 'inner header');
  if (!equalBytes(r.raw(4), INNER_MAGIC)) throw fail('magic');
  if (r.u8() !== SegmentKind[expected.kind]) throw fail('kind');
  const flags = r.u8();
  if ((flags & ~FLAG_PADDED) !== (expected.last ? FLAG_LAST_CHUNK : 0)) throw fail('flags');
  if (r.u16() !== 0) throw fail('reserved');
  if (!equalBytes(r.raw(ID_BYTES), expected.cameraId)) throw fail('cameraId');
  if (r.u32() !== expected.epoch) throw fail('epoch');
  if (r.u64() !== expected.seq) throw fail('seq');
  if (r.u64() !== expected.captureTime) throw fail('captureTime');
  if (r.u32() !== expected.chunkIndex) throw fail('chunkIndex');
  const rest = r.rest();
  return flags & FLAG_PADDED ? unpad(rest, fail) : rest;
}

/** payload || zero(padLength) || u32(padLength) → payload (§6.5); E_INNER_HEADER if malformed. */
function unpad(rest: Uint8Array, fail: (field: string) => SealcamError): Uint8Array {
  if (rest.length < PAD_TRAILER_BYTES) throw fail('padding length');
  const padLength = new DataView(rest.buffer, rest.byteOffset + rest.length - PAD_TRAILER_BYTES, PAD_TRAILER_BYTES).getUint32(0);
  const payloadLength = rest.length - PAD_TRAILER_BYTES - padLength;
  if (payloadLength < 0) throw fail('padding length');
  let nonZero = 0;
  for (let i = payloadLength; i < rest.length - PAD_TRAILER_BYTES; i++) nonZero |= rest[i]!;
  if (nonZero !== 0) throw fail('padding');
  return rest.subarray(0, payloadLength);
}

export function encodeLiveChunk(h: LiveChunkHeader, ct: Uint8Array): Uint8Array {
  return new ByteWriter(LIVE_HEADER_BYTES + ct.length)
    .raw(LIVE_MAGIC)
    .u8(ENVELOPE_VERSION)
    .u8(SegmentKind[h.kind])
    .u8(h.last ? FLAG_LAST_CHUNK : 0)
    .u8(0)
    .raw(h.cameraId, ID_BYTES)
    .u32(h.epoch)
    .u64(h.seq)
    .u64(h.captureTime)
    .u32(h.chunkIndex)
    .raw(h.nonce, NONCE_BYTES)
    .raw(ct)
    .done();
}

export function decodeLiveChunk(bytes: Uint8Array): { header: LiveChunkHeader; ct: Uint8Array } {
  const what = 'live chunk';
  const r = new ByteReader(bytes, what);
  expectMagic(r, LIVE_MAGIC, what);
  expectVersion(r, what);
  const kind = kindFromCode(r.u8(), what);
  const flags = r.u8();
  expectFlags(flags, FLAG_LAST_CHUNK, what);
  expectReserved(r, 1, what);
  const header: LiveChunkHeader = {
    kind,
    last: (flags & FLAG_LAST_CHUNK) !== 0,
    cameraId: r.raw(ID_BYTES),
    epoch: r.u32(),
    seq: r.u64(),
    captureTime: r.u64(),
    chunkIndex: r.u32(),
    nonce: r.raw(NONCE_BYTES),
  };
  if (header.epoch === 0) throw new SealcamError('E_MALFORMED', `${what}: epoch 0 is reserved`);
  if (header.chunkIndex >= MAX_CHUNKS) throw new SealcamError('E_MALFORMED', `${what}: chunkIndex ${header.chunkIndex} >= ${MAX_CHUNKS}`);
  checkNonceStructure(header.nonce, header.seq, what);
  const ct = r.rest();
  if (ct.length < MIN_CHUNK_CT_BYTES) throw new SealcamError('E_MALFORMED', `${what}: ciphertext is ${ct.length} bytes, below ${MIN_CHUNK_CT_BYTES}`);
  return { header, ct };
}

export function describeHeader(h: SegmentHeader): string {
  return `${h.kind} seq ${h.seq} epoch ${h.epoch} camera ${toHex(h.cameraId)}`;
}
