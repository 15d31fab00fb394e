/**
 * H.264 Annex-B byte streams: NAL unit splitting, access-unit framing, SPS parsing and the
 * Annex-B → AVCC (length-prefixed) conversion that MP4 samples need.
 *
 * Annex-B byte stream (ITU-T H.264 Annex B.1):
 *
 *   [leading_zero_8bits]*  00 00 00 01  nal_unit  [trailing_zero_8bits]*  00 00 01  nal_unit ...
 *                          └ zero_byte + start_code_prefix_one_3bytes (a 3-byte 00 00 01 is also valid)
 *
 * NAL unit header, 1 byte (§7.3.1):
 *
 *   bit 7     forbidden_zero_bit   must be 0
 *   bits 6-5  nal_ref_idc
 *   bits 4-0  nal_unit_type        1 non-IDR slice, 5 IDR slice, 6 SEI, 7 SPS, 8 PPS, 9 AUD
 *
 * Inside a NAL unit the encoder inserts emulation_prevention_three_byte (00 00 03) so that
 * 00 00 00, 00 00 01 and 00 00 02 never occur (§7.4.1); the RBSP is the payload with those 03
 * bytes removed. A NAL unit never ends in 0x00 (§7.4.1), so zeros before a start code are padding.
 *
 * AVCC sample (ISO/IEC 14496-15 §5.3.3, lengthSizeMinusOne = 3):
 *
 *   offset 0  u32 BE  NAL unit length N
 *   offset 4  N bytes NAL unit (header byte included, no start code)
 *   ...       repeated for every NAL unit of the access unit
 */
import { SealcamError, ensure } from '../protocol/errors.js';

/** nal_unit_type values used here (ITU-T H.264 Table 7-1). */
export const NalType = {
  nonIdrSlice: 1,
  idrSlice: 5,
  sei: 6,
  sps: 7,
  pps: 8,
  accessUnitDelimiter: 9,
} as const;

/** Default bound on one access unit held by AccessUnitSplitter. */
export const DEFAULT_MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024;

const START_CODE = new Uint8Array([0x00, 0x00, 0x00, 0x01]);
const FORBIDDEN_ZERO_BIT = 0x80;
const NAL_TYPE_MASK = 0x1f;
const EMULATION_PREVENTION_BYTE = 0x03;

/** nal_unit_type of a NAL unit (no start code). Rejects an empty unit or a set forbidden_zero_bit (§7.4.1). */
export function nalType(nal: Uint8Array): number {
  const header = nal[0];
  ensure(header !== undefined, 'E_BITSTREAM', 'NAL unit: expected at least the 1-byte header, got 0 bytes');
  ensure((header & FORBIDDEN_ZERO_BIT) === 0, 'E_BITSTREAM', `NAL unit: forbidden_zero_bit is set (header 0x${hex2(header)})`);
  return header & NAL_TYPE_MASK;
}

/** Slice NAL units (§7.4.1.2.3 VCL types 1-5); only 1 and 5 occur in our Baseline/High streams. */
function isVcl(type: number): boolean {
  return type >= NalType.nonIdrSlice && type <= NalType.idrSlice;
}

/**
 * Splits a complete Annex-B buffer into NAL units (subarrays of `bytes`, start codes and
 * trailing zero padding removed). Anything but zeros before the first start code is an error.
 */
export function splitNalUnits(bytes: Uint8Array): Uint8Array[] {
  const scanner = new StartCodeScanner();
  const nals: Uint8Array[] = [];
  let nalStart = -1;
  for (let i = 0; i < bytes.length; i++) {
    const found = scanner.step(bytes[i]!);
    if (found === undefined) continue;
    if (nalStart >= 0) nals.push(nonEmptyNal(bytes.subarray(nalStart, i - found.zeros)));
    else ensure(bytes.subarray(0, i).every((b) => b === 0), 'E_BITSTREAM', 'Annex-B: stream does not begin with a start code (00 00 01)');
    nalStart = i + 1;
  }
  ensure(nalStart >= 0 || bytes.length === 0, 'E_BITSTREAM', 'Annex-B: no start code (00 00 01) found');
  if (nalStart >= 0) nals.push(nonEmptyNal(trimTrailingZeros(bytes.subarray(nalStart))));
  return nals;
}

/** true if the Annex-B access unit holds an IDR slice (nal_unit_type 5). */
export function containsIdrSlice(accessUnit: Uint8Array): boolean {
  return splitNalUnits(accessUnit).some((nal) => nalType(nal) === NalType.idrSlice);
}

/**
 * Converts one Annex-B access unit to an AVCC sample with 4-byte big-endian lengths
 * (ISO/IEC 14496-15 §5.3.3). With `dropParameterSets`, SPS, PPS and AUD NAL units are left out
 * (they travel in the avcC box instead, §5.3.3.1).
 */
export function annexBToLengthPrefixed(accessUnit: Uint8Array, options: { dropParameterSets: boolean }): Uint8Array {
  const dropped: ReadonlySet<number> = new Set([NalType.sps, NalType.pps, NalType.accessUnitDelimiter]);
  const nals = splitNalUnits(accessUnit).filter((nal) => !(options.dropParameterSets && dropped.has(nalType(nal))));
  ensure(nals.length > 0, 'E_BITSTREAM', 'access unit: no NAL units left to write as an AVCC sample');
  const out = new Uint8Array(nals.reduce((sum, nal) => sum + 4 + nal.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const nal of nals) {
    view.setUint32(offset, nal.length);
    out.set(nal, offset + 4);
    offset += 4 + nal.length;
  }
  return out;
}

/**
 * Incremental access-unit framing for a byte stream arriving in arbitrary pieces (a pipe from
 * an encoder). `push()` returns the access units completed by that chunk, `flush()` the last one.
 * Each access unit is Annex-B with 4-byte start codes.
 *
 * First-NAL-of-a-new-access-unit rules, ITU-T H.264 §7.4.1.2.3 in simplified form, applied once
 * the current access unit already holds a VCL NAL unit:
 *   - an AUD (9) always starts a new access unit;
 *   - SEI, SPS, PPS (6, 7, 8) and types 14-18 start one;
 *   - a slice (1 or 5) with first_mb_in_slice == 0 starts one (§7.4.1.2.4 "first VCL NAL unit of
 *     a primary coded picture", simplified to the first-macroblock test).
 * Memory is bounded: the access unit being assembled, including the NAL unit in progress, may
 * not exceed `maxAccessUnitBytes`.
 */
export class AccessUnitSplitter {
  private readonly maxAccessUnitBytes: number;
  private readonly scanner = new StartCodeScanner();
  private readonly nalInProgress = new GrowableBytes();
  private seenStartCode = false;
  private nals: Uint8Array[] = [];
  private accessUnitBytes = 0;
  private hasVcl = false;
  private finished = false;

  constructor(options: { maxAccessUnitBytes?: number } = {}) {
    const max = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
    ensure(Number.isInteger(max) && max > 0, 'E_BAD_ARGUMENT', `maxAccessUnitBytes: expected a positive integer, got ${max}`);
    this.maxAccessUnitBytes = max;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    ensure(!this.finished, 'E_BAD_ARGUMENT', 'AccessUnitSplitter.push: called after flush()');
    const completed: Uint8Array[] = [];
    let copiedUpTo = 0;
    for (let i = 0; i < chunk.length; i++) {
      const found = this.scanner.step(chunk[i]!);
      if (found === undefined) {
        if (!this.seenStartCode && chunk[i] !== 0) throw new SealcamError('E_BITSTREAM', 'Annex-B: stream does not begin with a start code (00 00 01)');
        continue;
      }
      if (this.seenStartCode) {
        this.appendToNal(chunk.subarray(copiedUpTo, i + 1));
        this.endNal(found.zeros + 1, completed);
      }
      copiedUpTo = i + 1;
      this.seenStartCode = true;
    }
    if (this.seenStartCode) this.appendToNal(chunk.subarray(copiedUpTo));
    return completed;
  }

  /** Ends the stream: returns the last access unit (if any). The splitter cannot be reused. */
  flush(): Uint8Array[] {
    ensure(!this.finished, 'E_BAD_ARGUMENT', 'AccessUnitSplitter.flush: called twice');
    this.finished = true;
    const completed: Uint8Array[] = [];
    if (this.seenStartCode) this.endNal(0, completed);
    if (this.nals.length > 0) completed.push(this.takeAccessUnit());
    return completed;
  }

  private appendToNal(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.nalInProgress.append(bytes);
    this.enforceBound();
  }

  /** Closes the NAL unit in progress; `startCodeBytes` of its tail belong to the next start code. */
  private endNal(startCodeBytes: number, completed: Uint8Array[]): void {
    const body = trimTrailingZeros(this.nalInProgress.bytes().subarray(0, this.nalInProgress.length - startCodeBytes));
    const nal = nonEmptyNal(body).slice();
    this.nalInProgress.clear();
    if (this.startsNewAccessUnit(nal) && this.nals.length > 0) completed.push(this.takeAccessUnit());
    this.nals.push(nal);
    this.accessUnitBytes += START_CODE.length + nal.length;
    if (isVcl(nalType(nal))) this.hasVcl = true;
    this.enforceBound();
  }

  /** ITU-T H.264 §7.4.1.2.3, simplified as described on the class. */
  private startsNewAccessUnit(nal: Uint8Array): boolean {
    const type = nalType(nal);
    if (type === NalType.accessUnitDelimiter) return true;
    if (!this.hasVcl) return false;
    if (type === NalType.sei || type === NalType.sps || type === NalType.pps || (type >= 14 && type <= 18)) return true;
    if (type === NalType.nonIdrSlice || type === NalType.idrSlice) return firstMbInSlice(nal) === 0;
    return false;
  }

  private takeAccessUnit(): Uint8Array {
    ensure(this.hasVcl, 'E_BITSTREAM', `access unit: ${this.nals.length} NAL unit(s) but no slice (§7.4.1.2.3 needs a primary coded picture)`);
    const out = new Uint8Array(this.accessUnitBytes);
    let offset = 0;
    for (const nal of this.nals) {
      out.set(START_CODE, offset);
      out.set(nal, offset + START_CODE.length);
      offset += START_CODE.length + nal.length;
    }
    this.nals = [];
    this.accessUnitBytes = 0;
    this.hasVcl = false;
    return out;
  }

  private enforceBound(): void {
    const held = this.accessUnitBytes + this.nalInProgress.length;
    if (held > this.maxAccessUnitBytes) {
      throw new SealcamError('E_BITSTREAM', `access unit: exceeds the ${this.maxAccessUnitBytes}-byte limit (holding ${held} bytes without an access-unit boundary)`);
    }
  }
}

/** The fields of a sequence parameter set (§7.3.2.1.1) that a muxer and a status page need. */
export interface SpsInfo {
  readonly profileIdc: number;
  /** constraint_set0..5_flag and reserved_zero_2bits as one byte, as in the avc1 codec string. */
  readonly constraintFlags: number;
  readonly levelIdc: number;
  /** Displayed size after frame cropping. */
  readonly width: number;
  readonly height: number;
}

/** profile_idc values whose SPS carries chroma_format_idc, bit depths and scaling lists (§7.3.2.1.1). */
const HIGH_PROFILES: ReadonlySet<number> = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses an SPS NAL unit (header byte included, no start code), ITU-T H.264 §7.3.2.1.1. VUI is not read. */
export function parseSps(nal: Uint8Array): SpsInfo {
  ensure(nalType(nal) === NalType.sps, 'E_BITSTREAM', `SPS: expected nal_unit_type 7, got ${nalType(nal)}`);
  const r = new RbspReader(unescapeRbsp(nal.subarray(1)), 'SPS');
  const profileIdc = r.bits(8);
  const constraintFlags = r.bits(8);
  const levelIdc = r.bits(8);
  r.ue(); // seq_parameter_set_id
  const chroma = HIGH_PROFILES.has(profileIdc) ? readHighProfileChroma(r) : { chromaFormatIdc: 1, separateColourPlane: false };
  skipFrameNumAndPicOrder(r);
  r.ue(); // max_num_ref_frames
  r.bits(1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = r.ue() + 1; // pic_width_in_mbs_minus1
  const heightInMapUnits = r.ue() + 1; // pic_height_in_map_units_minus1
  const frameMbsOnly = r.bits(1) === 1;
  if (!frameMbsOnly) r.bits(1); // mb_adaptive_frame_field_flag
  r.bits(1); // direct_8x8_inference_flag
  const crop = r.bits(1) === 1 ? { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() } : { left: 0, right: 0, top: 0, bottom: 0 };
  // Cropping units, equations 7-19..7-22 (ChromaArrayType 0 when separate_colour_plane_flag).
  const chromaArrayType = chroma.separateColourPlane ? 0 : chroma.chromaFormatIdc;
  const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const frameHeightFactor = frameMbsOnly ? 1 : 2;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * frameHeightFactor;
  const width = widthInMbs * 16 - cropUnitX * (crop.left + crop.right);
  const height = frameHeightFactor * heightInMapUnits * 16 - cropUnitY * (crop.top + crop.bottom);
  ensure(width > 0 && height > 0, 'E_BITSTREAM', `SPS: frame cropping leaves ${width}×${height}`);
  return { profileIdc, constraintFlags, levelIdc, width, height };
}

/** RFC 6381 §3.3 codec string for an SPS, e.g. 'avc1.42C028' (uppercase hex). */
export function codecStringFromSps(nal: Uint8Array): string {
  const sps = parseSps(nal);
  return `avc1.${(hex2(sps.profileIdc) + hex2(sps.constraintFlags) + hex2(sps.levelIdc)).toUpperCase()}`;
}

/** High-profile SPS fields up to and including the scaling matrices (§7.3.2.1.1). */
function readHighProfileChroma(r: RbspReader): { chromaFormatIdc: number; separateColourPlane: boolean } {
  const chromaFormatIdc = r.ue();
  ensure(chromaFormatIdc <= 3, 'E_BITSTREAM', `SPS: chroma_format_idc must be 0..3, got ${chromaFormatIdc}`);
  const separateColourPlane = chromaFormatIdc === 3 && r.bits(1) === 1;
  const bitDepthLumaMinus8 = r.ue();
  const bitDepthChromaMinus8 = r.ue();
  ensure(bitDepthLumaMinus8 <= 6 && bitDepthChromaMinus8 <= 6, 'E_BITSTREAM', 'SPS: bit_depth_*_minus8 must be 0..6');
  r.bits(1); // qpprime_y_zero_transform_bypass_flag
  if (r.bits(1) === 1) {
    // seq_scaling_matrix_present_flag: 6 4×4 lists, then 2 (or 6 for 4:4:4) 8×8 lists.
    const lists = chromaFormatIdc === 3 ? 12 : 8;
    for (let i = 0; i < lists; i++) {
      if (r.bits(1) === 1) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  return { chromaFormatIdc, separateColourPlane };
}

/** scaling_list() syntax, §7.3.2.1.1.1: only the delta_scale values are in the bitstream. */
function skipScalingList(r: RbspReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size; j++) {
    if (nextScale !== 0) {
      const deltaScale = r.se();
      ensure(deltaScale >= -128 && deltaScale <= 127, 'E_BITSTREAM', `SPS: delta_scale must be -128..127, got ${deltaScale}`);
      nextScale = (lastScale + deltaScale + 256) % 256;
    }
    lastScale = nextScale === 0 ? lastScale : nextScale;
  }
}

/** log2_max_frame_num_minus4 through the picture-order-count fields, §7.3.2.1.1. */
function skipFrameNumAndPicOrder(r: RbspReader): void {
  r.ue(); // log2_max_frame_num_minus4
  const picOrderCntType = r.ue();
  if (picOrderCntType === 0) {
    r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (picOrderCntType === 1) {
    r.bits(1); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue(); // num_ref_frames_in_pic_order_cnt_cycle
    ensure(cycle <= 255, 'E_BITSTREAM', `SPS: num_ref_frames_in_pic_order_cnt_cycle must be 0..255, got ${cycle}`);
    for (let i = 0; i < cycle; i++) r.se(); // offset_for_ref_frame[i]
  } else {
    ensure(picOrderCntType === 2, 'E_BITSTREAM', `SPS: pic_order_cnt_type must be 0..2, got ${picOrderCntType}`);
  }
}

/** first_mb_in_slice, the first ue(v) of a slice header (§7.3.3). */
function firstMbInSlice(nal: Uint8Array): number {
  const headerBytes = 16; // ue(v) of any legal macroblock address fits well within this
  return new RbspReader(unescapeRbsp(nal.subarray(1, 1 + headerBytes)), 'slice header').ue();
}

/** Removes emulation_prevention_three_byte (00 00 03 → 00 00), §7.4.1. */
export function unescapeRbsp(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length);
  let length = 0;
  let zeros = 0;
  for (const byte of payload) {
    if (zeros >= 2 && byte === EMULATION_PREVENTION_BYTE) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** Bit reader over an RBSP with u(n), ue(v) and se(v) (§7.2, §9.1). Running out of bits is E_BITSTREAM. */
class RbspReader {
  private bitOffset = 0;

  constructor(
    private readonly rbsp: Uint8Array,
    private readonly what: string,
  ) {}

  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }

  /** Exp-Golomb ue(v), §9.1: leadingZeroBits zeros, a 1, then leadingZeroBits bits. */
  ue(): number {
    let leadingZeroBits = 0;
    while (this.bit() === 0) {
      leadingZeroBits++;
      ensure(leadingZeroBits <= 31, 'E_BITSTREAM', `${this.what}: exp-Golomb code longer than 32 bits`);
    }
    return 2 ** leadingZeroBits - 1 + this.bits(leadingZeroBits);
  }

  /** Signed exp-Golomb se(v), §9.1.1: k ↦ (−1)^(k+1) · ceil(k ÷ 2). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }

  private bit(): number {
    const byte = this.rbsp[this.bitOffset >> 3];
    ensure(byte !== undefined, 'E_BITSTREAM', `${this.what}: ends after ${this.rbsp.length} bytes, before all fields were read`);
    const bit = (byte >> (7 - (this.bitOffset & 7))) & 1;
    this.bitOffset++;
    return bit;
  }
}

/**
 * Finds start codes one byte at a time, across chunk boundaries. `step()` returns, when `byte`
 * is the 01 of a start code, how many zero bytes preceded it (≥ 2). It also rejects the byte
 * patterns emulation prevention forbids inside a NAL unit (§7.4.1): 00 00 02, and 00 00 00
 * followed by anything but more zeros or 01.
 */
class StartCodeScanner {
  private zeros = 0;

  step(byte: number): { zeros: number } | undefined {
    if (byte === 0) {
      this.zeros++;
      return undefined;
    }
    const zeros = this.zeros;
    this.zeros = 0;
    if (zeros >= 2 && byte === 1) return { zeros };
    if ((zeros >= 2 && byte === 2) || zeros >= 3) {
      throw new SealcamError('E_BITSTREAM', `Annex-B: forbidden byte sequence ${'00 '.repeat(Math.min(zeros, 3))}${hex2(byte)} (§7.4.1)`);
    }
    return undefined;
  }
}

/** A byte buffer that doubles as it grows, for the NAL unit in progress. */
class GrowableBytes {
  private buffer = new Uint8Array(64 * 1024);
  length = 0;

  append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}

/** Zeros after a NAL unit are trailing_zero_8bits or the zero_byte of the next start code (B.1). */
function trimTrailingZeros(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.subarray(0, end);
}

function nonEmptyNal(nal: Uint8Array): Uint8Array {
  ensure(nal.length > 0, 'E_BITSTREAM', 'Annex-B: empty NAL unit between two start codes');
  nalType(nal);
  return nal;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
