/**
 * A motion event (PROTOCOL.md §16): the payload of a kind-3 sealed segment (`SCS1`, §6), so an
 * event is encrypted for the roster and signed exactly like video, takes its place in the camera's
 * seq order (replay, reordering and a hidden tail are detected as for segments) and is stored,
 * retained and listed by the relay like any envelope. The record inside:
 *
 *   off  size  field
 *   0    4     magic "SCEV"
 *   4    1     version 1
 *   5    1     thumbnailType: 0 none, 1 PNG
 *   6    2     peakPermille: the largest moving area, per mille of the picture, 0..1000
 *   8    8     startTime   capture time (ms since the Unix epoch) of the first frame in motion
 *   16   8     endTime     of the last frame in motion, ≥ startTime
 *   24   8     firstSeq    the media segment holding startTime
 *   32   8     lastSeq     the media segment holding endTime, ≥ firstSeq
 *   40   4     thumbnailLength
 *   44   …     thumbnail (a PNG at most 320 pixels wide), nothing after it
 */
import { ByteReader, ByteWriter, asciiBytes, equalBytes } from './bytes.js';
import { SealcamError } from './errors.js';

export const EVENT_MAGIC = asciiBytes('SCEV');
export const EVENT_VERSION = 1;
export const EVENT_HEADER_BYTES = 44;
export const MAX_THUMBNAIL_BYTES = 512 * 1024;
export const ThumbnailType = { none: 0, png: 1 } as const;

export interface MotionEventRecord {
  startTime: number;
  endTime: number;
  peakPermille: number;
  firstSeq: number;
  lastSeq: number;
  thumbnail: { type: 'png'; bytes: Uint8Array } | null;
}

export function encodeEvent(e: MotionEventRecord): Uint8Array {
  const safe = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (![e.startTime, e.endTime, e.firstSeq, e.lastSeq].every(safe) || e.endTime < e.startTime || e.lastSeq < e.firstSeq) {
    throw new SealcamError('E_BAD_ARGUMENT', 'event: times and seqs must be safe integers with end ≥ start and lastSeq ≥ firstSeq');
  }
  if (!Number.isInteger(e.peakPermille) || e.peakPermille < 0 || e.peakPermille > 1000) throw new SealcamError('E_BAD_ARGUMENT', 'event: peakPermille must be 0..1000');
  const thumb = e.thumbnail?.bytes ?? new Uint8Array(0);
  if (thumb.length > MAX_THUMBNAIL_BYTES) throw new SealcamError('E_BAD_ARGUMENT', `event: thumbnail over ${MAX_THUMBNAIL_BYTES} bytes`);
  return new ByteWriter(EVENT_HEADER_BYTES + thumb.length)
    .raw(EVENT_MAGIC)
    .u8(EVENT_VERSION)
    .u8(e.thumbnail ? ThumbnailType.png : ThumbnailType.none)
    .u16(e.peakPermille)
    .u64(e.startTime)
    .u64(e.endTime)
    .u64(e.firstSeq)
    .u64(e.lastSeq)
    .u32(thumb.length)
    .raw(thumb)
    .done();
}

/**
 * Read an event record (the opened payload of a kind-3 segment), in order: magic
 * (E_BAD_MAGIC), version (E_UNSUPPORTED_VERSION), thumbnail type (E_UNKNOWN_KIND), then every
 * field; a read past the end, a u64 above 2^53 − 1, peakPermille over 1000, end before start,
 * lastSeq before firstSeq, a thumbnail type 0 with bytes, or trailing bytes are E_MALFORMED.
 */
export function decodeEvent(bytes: Uint8Array): MotionEventRecord {
  const r = new ByteReader(bytes, 'event');
  if (!equalBytes(r.raw(4), EVENT_MAGIC)) throw new SealcamError('E_BAD_MAGIC', 'event: magic is not "SCEV"');
  const version = r.u8();
  if (version !== EVENT_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `event version ${version}`);
  const type = r.u8();
  if (type !== ThumbnailType.none && type !== ThumbnailType.png) throw new SealcamError('E_UNKNOWN_KIND', `event: thumbnail type ${type}`);
  const peakPermille = r.u16();
  const startTime = r.u64();
  const endTime = r.u64();
  const firstSeq = r.u64();
  const lastSeq = r.u64();
  const thumb = r.raw(r.u32());
  r.end();
  if (peakPermille > 1000) throw new SealcamError('E_MALFORMED', `event: peakPermille ${peakPermille} over 1000`);
  if (endTime < startTime || lastSeq < firstSeq) throw new SealcamError('E_MALFORMED', 'event: it ends before it starts');
  if (type === ThumbnailType.none && thumb.length > 0) throw new SealcamError('E_MALFORMED', 'event: thumbnail bytes without a thumbnail type');
  return { startTime, endTime, peakPermille, firstSeq, lastSeq, thumbnail: type === ThumbnailType.png ? { type: 'png', bytes: thumb } : null };
}
