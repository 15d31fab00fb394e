/**
 * H.264 Annex-B helpers, checked against streams from independent encoders (our node-webcodecs
 * SPS, ffmpeg/libx264) and against synthetic streams built here bit by bit, including a
 * fast-check property that access-unit framing does not depend on how the bytes are chunked.
 */
import test from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { VideoEncoder, VideoFrame } from '../../src/media/webcodecs.js';
import {
  AccessUnitSplitter,
  annexBToLengthPrefixed,
  codecStringFromSps,
  containsIdrSlice,
  nalType,
  parseSps,
  splitNalUnits,
  unescapeRbsp,
} from '../../src/media/annexb.js';
import { concatBytes, fromHex, toHex } from '../../src/protocol/bytes.js';
import { codeOf } from '../helpers/codes.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

/** SPS from our node-webcodecs encoder: 1920×1080 Constrained Baseline, level 4.0. */
const WEBCODECS_SPS = fromHex('6742c0288c680780227e5807844235');
const PPS = fromHex('68ce3c80');
const AUD = fromHex('09f0');
const SEI = fromHex('0605' + '11'.repeat(5) + '80');
const START4 = fromHex('00000001');
const START3 = fromHex('000001');

const FFMPEG = toolWorks('ffmpeg', ['-version']);

/** ffmpeg/libx264 Annex-B output of testsrc2 (an independent encoder). */
function x264(size: string, frames: number, ...extra: string[]): Uint8Array {
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-frames:v', String(frames), '-c:v', 'libx264', ...extra, '-f', 'h264', '-'];
  const r = spawnSync('ffmpeg', args, { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

/** Writes u(n), ue(v) and se(v) (ITU-T H.264 §9.1) for building test NAL units. */
class BitWriter {
  private readonly bits: number[] = [];
  u(n: number, value: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }
  ue(value: number): this {
    const len = Math.floor(Math.log2(value + 1));
    return this.u(len, 0).u(len + 1, value + 1);
  }
  se(value: number): this {
    return this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }
  /** rbsp_trailing_bits (a 1, then zeros to the byte boundary), as bytes. */
  rbsp(): Uint8Array {
    const bits = [...this.bits, 1];
    while (bits.length % 8 !== 0) bits.push(0);
    return Uint8Array.from({ length: bits.length / 8 }, (_, i) => bits.slice(8 * i, 8 * i + 8).reduce((a, b) => a * 2 + b, 0));
  }
}

/** Inserts emulation_prevention_three_byte where §7.4.1 requires it. */
function escapeRbsp(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

const nal = (header: number, rbsp: Uint8Array) => concatBytes(Uint8Array.of(header), escapeRbsp(rbsp));

/** A slice NAL: first_mb_in_slice, then `body` bytes standing in for the rest of the slice. */
function slice(key: boolean, firstMb: number, body: Uint8Array): Uint8Array {
  return concatBytes(nal(key ? 0x65 : 0x41, new BitWriter().ue(firstMb).rbsp()), body);
}

const annexB = (nals: Uint8Array[]) => concatBytes(...nals.flatMap((n) => [START4, n]));

function splitAll(chunks: Uint8Array[], maxAccessUnitBytes?: number): Uint8Array[] {
  const splitter = new AccessUnitSplitter(maxAccessUnitBytes === undefined ? {} : { maxAccessUnitBytes });
  return [...chunks.flatMap((c) => splitter.push(c)), ...splitter.flush()];
}

test('parseSps reads our encoder’s 1920×1080 Constrained Baseline 4.0 SPS', (t) => {
  t.deepEqual(parseSps(WEBCODECS_SPS), { profileIdc: 66, constraintFlags: 0xc0, levelIdc: 40, width: 1920, height: 1080 });
  t.is(codecStringFromSps(WEBCODECS_SPS), 'avc1.42C028');
});

/** Encodes `frames` grey-ramp I420 frames with node-webcodecs (OpenH264); each output chunk is one Annex-B access unit. */
async function webcodecsAccessUnits(width: number, height: number, frames: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let failure: unknown;
  const encoder = new VideoEncoder({
    output: (chunk) => {
      const bytes = new Uint8Array(chunk.byteLength);
      chunk.copyTo(bytes);
      chunks.push(bytes);
    },
    error: (e) => (failure = e),
  });
  encoder.configure({ codec: 'avc1.42C028', width, height, bitrate: 1e6, framerate: 30, latencyMode: 'realtime', hardwareAcceleration: 'prefer-software' });
  for (let i = 0; i < frames; i++) {
    const data = Uint8Array.from({ length: (width * height * 3) / 2 }, (_, j) => (j + 9 * i) & 0xff);
    const frame = new VideoFrame(data, { format: 'I420', codedWidth: width, codedHeight: height, timestamp: (i * 1e6) / 30 });
    encoder.encode(frame, { keyFrame: i === 0 });
    frame.close();
  }
  await encoder.flush();
  encoder.close();
  if (failure !== undefined) throw failure;
  return chunks;
}

test('node-webcodecs output: our SPS vector, and the splitter recovers the encoder’s own access units', async (t) => {
  const [first] = await webcodecsAccessUnits(1920, 1080, 1);
  t.deepEqual(splitNalUnits(first!).find((n) => nalType(n) === 7), WEBCODECS_SPS);
  const chunks = await webcodecsAccessUnits(320, 240, 4);
  t.deepEqual(splitAll([concatBytes(...chunks)]).map(toHex), chunks.map((c) => toHex(concatBytes(...splitNalUnits(c).flatMap((n) => [START4, n])))));
  t.deepEqual(chunks.map(containsIdrSlice), [true, false, false, false]);
  const sps = splitNalUnits(chunks[0]!).find((n) => nalType(n) === 7)!;
  t.like(parseSps(sps), { profileIdc: 66, width: 320, height: 240 });
});

test('ffmpeg/libx264 High profile 1280×720: SPS, 3 access units, the first one key', (t) => {
  if (!requireTool(t, 'ffmpeg', FFMPEG)) return;
  const stream = x264('1280x720', 3, '-profile:v', 'high');
  const units = splitAll([stream]);
  t.is(units.length, 3);
  t.deepEqual(units.map(containsIdrSlice), [true, false, false]);
  t.deepEqual(concatBytes(...units.map((u) => concatBytes(...splitNalUnits(u)))), concatBytes(...splitNalUnits(stream)));
  const sps = splitNalUnits(units[0]!).find((n) => nalType(n) === 7)!;
  const info = parseSps(sps);
  t.like(info, { profileIdc: 100, width: 1280, height: 720 });
  t.is(codecStringFromSps(sps), `avc1.6400${info.levelIdc.toString(16).toUpperCase().padStart(2, '0')}`);
});

test('ffmpeg/libx264 SPS variants: cropping, 4:4:4 (profile 244), interlaced (frame_mbs_only = 0)', (t) => {
  if (!requireTool(t, 'ffmpeg', FFMPEG)) return;
  const cases: Array<[string, string[], number]> = [
    ['640x360', ['-profile:v', 'high'], 100],
    ['330x250', ['-pix_fmt', 'yuv444p', '-profile:v', 'high444'], 244],
    ['320x240', ['-x264-params', 'interlaced=1'], 100],
    ['176x144', ['-profile:v', 'baseline'], 66],
  ];
  for (const [size, args, profileIdc] of cases) {
    const sps = splitNalUnits(x264(size, 1, ...args)).find((n) => nalType(n) === 7)!;
    const [width, height] = size.split('x').map(Number);
    t.like(parseSps(sps), { profileIdc, width, height }, size);
  }
});

test('parseSps skips High-profile scaling lists and reads pic_order_cnt_type 1 fields', (t) => {
  const w = new BitWriter().u(8, 100).u(8, 0).u(8, 31).ue(0); // profile, constraints, level, sps id
  w.ue(1).ue(0).ue(0).u(1, 0); // chroma_format_idc 1, bit depths, qpprime flag
  w.u(1, 1); // seq_scaling_matrix_present_flag
  for (let i = 0; i < 8; i++) {
    w.u(1, i % 2); // every other list present
    if (i % 2 === 1) for (let j = 0; j < (i < 6 ? 16 : 64); j++) w.se(j === 3 ? -8 : 1); // never reaches nextScale 0
  }
  w.ue(0).ue(1).u(1, 0).se(-2).se(3).ue(2).se(1).se(-1); // frame num, poc type 1 with a 2-entry cycle
  w.ue(3).u(1, 0).ue(79).ue(44).u(1, 1).u(1, 1).u(1, 1).ue(0).ue(0).ue(0).ue(4).u(1, 0); // 1280×720 after cropping, no VUI
  const sps = nal(0x67, w.rbsp());
  t.deepEqual(parseSps(sps), { profileIdc: 100, constraintFlags: 0, levelIdc: 31, width: 1280, height: 712 });
});

test('parseSps rejects a cut-off SPS, a non-SPS NAL and an impossible exp-Golomb code', (t) => {
  t.is(codeOf(() => parseSps(WEBCODECS_SPS.subarray(0, 8))), 'E_BITSTREAM');
  t.is(codeOf(() => parseSps(PPS)), 'E_BITSTREAM');
  t.is(codeOf(() => parseSps(fromHex('6742c028000000000001'))), 'E_BITSTREAM');
  t.is(codeOf(() => parseSps(new Uint8Array(0))), 'E_BITSTREAM');
});

test('unescapeRbsp removes emulation_prevention_three_byte only after two zeros', (t) => {
  t.is(toHex(unescapeRbsp(fromHex('0000030100000300000003030003'))), '0000010000000000030003');
});

test('splitNalUnits handles 3- and 4-byte start codes, leading and trailing zeros', (t) => {
  const bytes = concatBytes(fromHex('0000'), START4, WEBCODECS_SPS, START3, PPS, fromHex('0000'), START4, AUD);
  t.deepEqual(splitNalUnits(bytes).map(toHex), [WEBCODECS_SPS, PPS, AUD].map(toHex));
  t.deepEqual(splitNalUnits(new Uint8Array(0)), []);
  t.is(nalType(WEBCODECS_SPS), 7);
});

test('malformed Annex-B is E_BITSTREAM', (t) => {
  t.is(codeOf(() => splitNalUnits(fromHex('ff000001' + '6742'))), 'E_BITSTREAM', 'garbage before the first start code');
  t.is(codeOf(() => splitNalUnits(fromHex('6742c028'))), 'E_BITSTREAM', 'no start code');
  t.is(codeOf(() => splitNalUnits(fromHex('00000001' + '00000001' + '6742'))), 'E_BITSTREAM', 'empty NAL unit');
  t.is(codeOf(() => splitNalUnits(fromHex('00000001' + 'e742'))), 'E_BITSTREAM', 'forbidden_zero_bit');
  t.is(codeOf(() => splitNalUnits(fromHex('00000001' + '6742000002'))), 'E_BITSTREAM', '00 00 02 inside a NAL unit');
  t.is(codeOf(() => splitAll([fromHex('ff00000165')])), 'E_BITSTREAM', 'splitter: garbage first');
  t.is(codeOf(() => splitAll([annexB([AUD, AUD, slice(true, 0, fromHex('11'))])])), 'E_BITSTREAM', 'an access unit without a slice');
});

test('AccessUnitSplitter boundaries: AUD, parameter sets after a slice, first_mb_in_slice == 0', (t) => {
  const idrA = slice(true, 0, fromHex('1122'));
  const idrB = slice(true, 60, fromHex('3344'));
  const p1 = slice(false, 0, fromHex('55'));
  const p2a = slice(false, 0, fromHex('66'));
  const p2b = slice(false, 2 ** 16, fromHex('77')); // long ue(v), with emulation prevention in its header
  const p3 = slice(false, 0, fromHex('88'));
  const stream = annexB([AUD, WEBCODECS_SPS, PPS, SEI, idrA, idrB, p1, AUD, p2a, p2b, SEI, p3]);
  const units = splitAll([stream]);
  t.deepEqual(units.map(toHex), [annexB([AUD, WEBCODECS_SPS, PPS, SEI, idrA, idrB]), annexB([p1]), annexB([AUD, p2a, p2b]), annexB([SEI, p3])].map(toHex));
  t.deepEqual(units.map(containsIdrSlice), [true, false, false, false]);
});

test('AccessUnitSplitter refuses an access unit over its byte limit', (t) => {
  const big = slice(true, 0, new Uint8Array(5000).fill(0x5a));
  t.is(codeOf(() => splitAll([annexB([big, slice(false, 0, fromHex('11'))])], 4096)), 'E_BITSTREAM');
  t.is(codeOf(() => splitAll([annexB([big])], 4096)), 'E_BITSTREAM', 'a single NAL unit in progress counts too');
  t.is(splitAll([annexB([big])], 8192).length, 1);
  t.is(codeOf(() => new AccessUnitSplitter({ maxAccessUnitBytes: 0 })), 'E_BAD_ARGUMENT');
});

/** A random picture: optional AUD/SEI, parameter sets before key pictures, 1-3 slices. */
const pictureArb = fc.record({
  key: fc.boolean(),
  aud: fc.boolean(),
  sei: fc.boolean(),
  slices: fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 3 }),
});
type Picture = typeof pictureArb extends fc.Arbitrary<infer P> ? P : never;

function pictureNals(p: Picture): Uint8Array[] {
  return [
    ...(p.aud ? [AUD] : []),
    ...(p.key ? [WEBCODECS_SPS, PPS] : []),
    ...(p.sei ? [SEI] : []),
    // Slice bodies are escaped and end in a non-zero byte, as real RBSPs do.
    ...p.slices.map((body, i) => slice(p.key, i * 40, concatBytes(escapeRbsp(body), Uint8Array.of(0x80)))),
  ];
}

/** Cuts `bytes` at the given fractions. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  return [0, ...points].map((start, i) => bytes.subarray(start, points[i] ?? bytes.length));
}

test('property: the same access units come out however the byte stream is chunked', (t) => {
  // fc.assert throws (after shrinking) on the first counterexample; node:assert lets it shrink.
  t.notThrows(() => fc.assert(
    fc.property(
      fc.array(pictureArb, { minLength: 1, maxLength: 6 }),
      fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
      (pictures, threeByteStartCodes, cuts) => {
        const nals = pictures.flatMap(pictureNals);
        const stream = concatBytes(...nals.flatMap((n, i) => [threeByteStartCodes[i % 30] ? START3 : START4, n]));
        const expected = pictures.map((p) => toHex(annexB(pictureNals(p))));
        assert.deepEqual(splitAll(chunked(stream, cuts)).map(toHex), expected);
        assert.deepEqual(splitAll([...stream].map((b) => Uint8Array.of(b))).map(toHex), expected, 'one byte at a time');
      },
    ),
    { numRuns: 150, seed: 20261129 },
  ));
});

test('property: the libx264 stream splits identically in any chunking', (t) => {
  if (!requireTool(t, 'ffmpeg', FFMPEG)) return;
  const stream = x264('320x240', 10, '-profile:v', 'high', '-g', '5');
  const whole = splitAll([stream]).map(toHex);
  t.is(whole.length, 10);
  t.notThrows(() => fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 200 }), (cuts) => {
      assert.deepEqual(splitAll(chunked(stream, cuts)).map(toHex), whole);
    }),
    { numRuns: 50, seed: 7 },
  ));
});

test('annexBToLengthPrefixed writes 4-byte big-endian lengths and can drop SPS/PPS/AUD', (t) => {
  const idr = slice(true, 0, fromHex('1122'));
  const au = annexB([AUD, WEBCODECS_SPS, PPS, SEI, idr]);
  const lp = (n: Uint8Array) => n.length.toString(16).padStart(8, '0') + toHex(n);
  t.is(toHex(annexBToLengthPrefixed(au, { dropParameterSets: true })), lp(SEI) + lp(idr));
  t.is(toHex(annexBToLengthPrefixed(au, { dropParameterSets: false })), [AUD, WEBCODECS_SPS, PPS, SEI, idr].map(lp).join(''));
  t.is(codeOf(() => annexBToLengthPrefixed(annexB([WEBCODECS_SPS, PPS]), { dropParameterSets: true })), 'E_BITSTREAM');
});
