/**
 * What anyone — the relay included — can read from a sealcam message without keys: its type and
 * its public header fields. Used by `sealcam inspect`; never decrypts or verifies.
 */
import { ByteReader, equalBytes, toHex } from './bytes.js';
import { SealcamError } from './errors.js';
import { EPOCH_MAGIC } from './epoch.js';
import { LIVE_MAGIC, SEGMENT_MAGIC, SEAL_BYTES, decodeHeader, decodeLiveChunk } from './envelope.js';
import { ROSTER_MAGIC } from './roster.js';
import { TRANSPORT_MAGIC, decodeTransportChunk } from './transport-chunk.js';

export type MessageDescription = Record<string, string | number | boolean>;

function countField(bytes: Uint8Array, what: string, extra: (r: ByteReader) => MessageDescription): MessageDescription {
  const r = new ByteReader(bytes, what);
  r.raw(4);
  const version = r.u8();
  const flags = r.u8();
  const count = r.u16();
  return { version, flags, count, ...extra(r) };
}

export function describeMessage(bytes: Uint8Array): MessageDescription {
  const magic = bytes.subarray(0, 4);
  if (equalBytes(magic, SEGMENT_MAGIC)) {
    const h = decodeHeader(bytes);
    const detached = bytes.length === SEAL_BYTES;
    return {
      type: detached ? 'segment seal (header and signature)' : 'segment envelope',
      kind: h.kind,
      final: h.final,
      cameraId: toHex(h.cameraId),
      epoch: h.epoch,
      seq: h.seq,
      captureTime: new Date(h.captureTime).toISOString(),
      durationMs: h.durationMs,
      chunkCount: h.chunkCount,
      bodyLength: h.bodyLength,
      totalLength: bytes.length,
    };
  }
  if (equalBytes(magic, LIVE_MAGIC)) {
    const { header: h, ct } = decodeLiveChunk(bytes);
    return { type: 'live chunk', kind: h.kind, last: h.last, cameraId: toHex(h.cameraId), epoch: h.epoch, seq: h.seq, chunkIndex: h.chunkIndex, ciphertextLength: ct.length };
  }
  if (equalBytes(magic, EPOCH_MAGIC)) {
    return {
      type: 'epoch announcement',
      ...countField(bytes, 'epoch announcement', (r) => ({ cameraId: toHex(r.raw(16)), epoch: r.u32(), rosterVersion: r.u32(), createdAt: new Date(r.u64()).toISOString() })),
    };
  }
  if (equalBytes(magic, ROSTER_MAGIC)) {
    return {
      type: 'roster',
      ...countField(bytes, 'roster', (r) => ({ cameraId: toHex(r.raw(16)), rosterVersion: r.u32(), issuedAt: new Date(r.u64()).toISOString() })),
    };
  }
  if (equalBytes(magic, TRANSPORT_MAGIC)) {
    const c = decodeTransportChunk(bytes);
    return { type: 'transport chunk', index: c.index, count: c.count, totalLength: c.totalLength, offset: c.offset, envelopeHash: toHex(c.envelopeHash), dataLength: c.data.length };
  }
  throw new SealcamError('E_BAD_MAGIC', `not a sealcam message: starts with ${toHex(magic)}`);
}
