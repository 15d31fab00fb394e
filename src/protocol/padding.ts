/**
 * Size padding (PROTOCOL.md §6.5). Without it the relay sees every live chunk's and segment's
 * exact size, and a camera that sees nothing sends small P-frames: sizes reveal motion. With a
 * policy on, the camera pads each chunk's ciphertext up to the next of a few fixed sizes
 * (buckets), and each segment's body up to a multiple of a segment bucket, so the relay learns
 * only the bucket.
 *
 * The padding is inside the ciphertext: the chunk plaintext's inner flag PADDED (0x02) says that
 * it ends with `zero(padLength) || u32(padLength)`. The MAC and the camera's signature cover it,
 * and a reader checks that every padding byte is zero.
 */
import { SealcamError } from './errors.js';
import { MAC_BYTES } from './sizes.js';

/** inner flags bit 1: the plaintext ends with zero padding and a u32 padding length. */
export const FLAG_PADDED = 0x02;
/** the u32 padding length at the end of a padded plaintext */
export const PAD_TRAILER_BYTES = 4;
const INNER_BYTES = 48;
/** the smallest ciphertext of a padded chunk: inner header, trailer, tag */
export const MIN_PADDED_CT_BYTES = INNER_BYTES + PAD_TRAILER_BYTES + MAC_BYTES;
const FRAME_PREFIX_BYTES = 4;
const MAX_BUCKET = 64 * 1024 * 1024;

export interface PaddingPolicy {
  /**
   * Chunk ciphertext sizes, ascending. A chunk is padded to the smallest bucket that holds it; a
   * chunk larger than the largest is padded to a multiple of the largest.
   */
  chunkBuckets: number[];
  /** the segment body (every frame with its 4-byte prefix) is padded to a multiple of this; 0: off */
  segmentMultiple: number;
}

/**
 * The `standard` policy: chunk buckets at every half power of two from 1 KiB to 256 KiB (1K,
 * 1.5K, 2K, 3K, 4K, … 192K, 256K; then multiples of 256 KiB), so a chunk grows by at most half,
 * and segment bodies to a multiple of 64 KiB. On the sim board's 4 Mbps 1080p30 H.264 it costs
 * ×1.33 in bytes and leaves 6 P-frame sizes where there were 174 (`npm run bench:seal`).
 */
export const STANDARD_PADDING: Readonly<PaddingPolicy> = Object.freeze({
  chunkBuckets: Object.freeze([1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256].map((k) => k * 1024)) as number[],
  segmentMultiple: 65536,
});

/** The named policies `--pad` accepts besides an explicit one. */
export const PADDING_PRESETS: Readonly<Record<'off' | 'standard', PaddingPolicy | null>> = Object.freeze({ off: null, standard: STANDARD_PADDING });

const SIZE = /^(\d{1,9})([kKmM]?)$/;

function parseSize(text: string, what: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new SealcamError('E_CONFIG', `--pad: ${what} "${text}" is not a size (e.g. 4096, 16K, 1M)`);
  const unit = m[2]!.toLowerCase() === 'k' ? 1024 : m[2]!.toLowerCase() === 'm' ? 1024 * 1024 : 1;
  return Number(m[1]) * unit;
}

/** Check a policy's numbers; throws E_CONFIG. */
export function validatePaddingPolicy(p: PaddingPolicy): PaddingPolicy {
  const b = p.chunkBuckets;
  if (b.length < 1 || b.length > 32) throw new SealcamError('E_CONFIG', `--pad: expected 1..32 chunk buckets, got ${b.length}`);
  b.forEach((size, i) => {
    if (!Number.isSafeInteger(size) || size < MIN_PADDED_CT_BYTES || size > MAX_BUCKET) {
      throw new SealcamError('E_CONFIG', `--pad: chunk bucket ${size} must be ${MIN_PADDED_CT_BYTES}..${MAX_BUCKET} bytes`);
    }
    if (i > 0 && size <= b[i - 1]!) throw new SealcamError('E_CONFIG', `--pad: chunk buckets must be ascending (${b[i - 1]} then ${size})`);
  });
  const m = p.segmentMultiple;
  if (!Number.isSafeInteger(m) || m < 0 || m > MAX_BUCKET || (m > 0 && m < b[0]!)) {
    throw new SealcamError('E_CONFIG', `--pad: segment multiple ${m} must be 0 (off) or ${b[0]}..${MAX_BUCKET} bytes`);
  }
  return { chunkBuckets: [...b], segmentMultiple: m };
}

/**
 * Parse `--pad`: `off`, `standard`, or `chunks=1K,4K,16K[;segment=256K]` (sizes of chunk
 * ciphertexts and of segment bodies in bytes, with K/M = 1024/1048576). Returns null for off.
 */
export function parsePaddingPolicy(spec: string): PaddingPolicy | null {
  const s = spec.trim();
  if (s === 'off' || s === 'standard') {
    const preset = PADDING_PRESETS[s];
    return preset ? validatePaddingPolicy(preset) : null;
  }
  let chunkBuckets: number[] | null = null;
  let segmentMultiple = 0;
  for (const part of s.split(';')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? '' : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (name === 'chunks' && chunkBuckets === null) chunkBuckets = value.split(',').map((v) => parseSize(v, 'chunk bucket'));
    else if (name === 'segment') segmentMultiple = parseSize(value, 'segment multiple');
    else throw new SealcamError('E_CONFIG', `--pad: expected off, standard, or chunks=SIZE,SIZE…[;segment=SIZE], got "${spec}"`);
  }
  if (chunkBuckets === null) throw new SealcamError('E_CONFIG', `--pad: "${spec}" names no chunks= buckets`);
  return validatePaddingPolicy({ chunkBuckets, segmentMultiple });
}

/** A policy in `--pad` syntax, for reports and logs. */
export function formatPaddingPolicy(p: PaddingPolicy | null): string {
  if (!p) return 'off';
  const size = (n: number) => (n % (1024 * 1024) === 0 ? `${n / 1024 / 1024}M` : n % 1024 === 0 ? `${n / 1024}K` : `${n}`);
  return `chunks=${p.chunkBuckets.map(size).join(',')}${p.segmentMultiple ? `;segment=${size(p.segmentMultiple)}` : ''}`;
}

/** The ciphertext size a chunk with this much payload is padded to. */
export function paddedChunkCtLength(p: PaddingPolicy, payloadLength: number): number {
  const needed = MIN_PADDED_CT_BYTES + payloadLength;
  for (const bucket of p.chunkBuckets) if (needed <= bucket) return bucket;
  const largest = p.chunkBuckets[p.chunkBuckets.length - 1]!;
  return Math.ceil(needed / largest) * largest;
}

/**
 * The ciphertext size of a segment's last chunk: its bucket, grown so that the body (the frames
 * so far, `bodyBefore` bytes, plus this frame) is a multiple of the segment bucket.
 */
export function paddedLastChunkCtLength(p: PaddingPolicy, payloadLength: number, bodyBefore: number): number {
  const ct = paddedChunkCtLength(p, payloadLength);
  if (!p.segmentMultiple) return ct;
  const over = (bodyBefore + FRAME_PREFIX_BYTES + ct) % p.segmentMultiple;
  return over === 0 ? ct : ct + (p.segmentMultiple - over);
}
