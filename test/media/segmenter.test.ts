/**
 * Segmenting real H.264 from node-webcodecs (small frames to keep it quick): boundaries fall on
 * the keyframes we asked for, extra IDRs do not cut, and a live encoder that falls behind drops
 * and counts frames instead of queueing them.
 */
import test from 'ava';
import { H264Encoder, type EncodedOutput } from '../../src/media/encoder.js';
import { Segmenter, type SegmentEndInfo } from '../../src/media/segmenter.js';
import { SyntheticSource } from '../../src/media/synthetic.js';
import { codeOf } from '../helpers/codes.js';

async function encodeFrames(frames: number, extraKeyAt: number[] = []): Promise<EncodedOutput[]> {
  const out: EncodedOutput[] = [];
  const encoder = new H264Encoder({ width: 640, height: 360, fps: 30, bitrate: 1_000_000, keyframeIntervalUs: 2_000_000 }, (u) => out.push(u));
  for await (const f of new SyntheticSource({ width: 640, height: 360, maxFrames: frames }).units()) {
    await encoder.waitForRoom();
    encoder.encode(f);
  }
  await encoder.flush();
  encoder.close();
  // Simulate openh264 inserting IDRs of its own by marking these as keyframes we did not request.
  return out.map((u) => (extraKeyAt.includes(u.index) ? { ...u, key: true, requestedKey: false } : u));
}

function collect() {
  const log: string[] = [];
  const ends: SegmentEndInfo[] = [];
  const chunks: { bytes: number; last: boolean }[] = [];
  let initBytes = 0;
  return {
    log,
    ends,
    chunks,
    get initBytes() {
      return initBytes;
    },
    events: {
      init: (i: { bytes: Uint8Array }) => {
        initBytes = i.bytes.length;
        log.push('init');
      },
      segmentStart: () => void log.push('start'),
      chunk: (b: Uint8Array, last: boolean) => void chunks.push({ bytes: b.length, last }),
      segmentEnd: (e: SegmentEndInfo) => {
        ends.push(e);
        log.push('end');
      },
    },
  };
}

test('segments are cut at the requested keyframes every 2 s; an extra IDR at frame 20 does not cut', async (t) => {
  const units = await encodeFrames(150, [20]);
  t.deepEqual(units.filter((u) => u.requestedKey).map((u) => u.index), [0, 60, 120]);
  const c = collect();
  const seg = new Segmenter({ width: 640, height: 360, fps: 30 }, c.events);
  for (const u of units) await seg.push(u);
  await seg.end();
  t.deepEqual(c.log, ['init', 'start', 'end', 'start', 'end', 'start', 'end']);
  t.deepEqual(c.ends.map((e) => e.frames), [60, 60, 30]);
  t.deepEqual(c.ends.map((e) => e.durationMs), [2000, 2000, 1000]);
  t.deepEqual(c.ends.map((e) => e.final), [false, false, true]);
  t.true(c.initBytes > 500);
  // One chunk per frame plus the closing chunk of each segment.
  t.is(c.chunks.length, 150 + 3);
  t.is(c.chunks.filter((x) => x.last).length, 3);
  t.is(seg.stats.frames, 150);
});

test('chunkFrames groups frames into live chunks; the last chunk closes the segment', async (t) => {
  const units = await encodeFrames(70);
  const c = collect();
  const seg = new Segmenter({ width: 640, height: 360, fps: 30, chunkFrames: 4 }, c.events);
  for (const u of units) await seg.push(u);
  await seg.end();
  // Segment 1: 60 frames = 15 full chunks + an empty closing chunk; segment 2: 10 frames = 2 full + a closing chunk of 2.
  t.is(c.chunks.length, 16 + 3);
  t.true(c.chunks[15]!.last && c.chunks[15]!.bytes === 0);
  t.true(c.chunks.at(-1)!.last && c.chunks.at(-1)!.bytes > 0);
});

test('access units before the first keyframe are skipped and counted', async (t) => {
  const units = await encodeFrames(65);
  const c = collect();
  const seg = new Segmenter({ width: 640, height: 360, fps: 30 }, c.events);
  const rest = units.slice(1); // lose the first keyframe
  const firstKey = rest.findIndex((u) => u.key); // the next IDR, requested or openh264's own
  t.true(firstKey > 0);
  for (const u of rest) await seg.push(u);
  await seg.end();
  t.is(seg.stats.skippedBeforeFirstKey, firstKey);
  t.is(c.ends.reduce((n, e) => n + e.frames, 0), rest.length - firstKey);
});

test('bad segmenter settings are refused', (t) => {
  const c = collect();
  t.is(codeOf(() => new Segmenter({ width: 640, height: 360, fps: 30, segmentDurationUs: 10 }, c.events)), 'E_CONFIG');
  t.is(codeOf(() => new Segmenter({ width: 640, height: 360, fps: 30, chunkFrames: 0 }, c.events)), 'E_CONFIG');
});

test('a live encoder that falls behind drops and counts frames; it never holds more than maxQueue', async (t) => {
  const out: EncodedOutput[] = [];
  const encoder = new H264Encoder({ width: 1920, height: 1080, fps: 30, bitrate: 4_000_000, keyframeIntervalUs: 2_000_000, maxQueue: 2 }, (u) => out.push(u));
  let accepted = 0;
  let maxInFlight = 0;
  // Submit 60 frames back to back without waiting: far faster than any encoder.
  for await (const f of new SyntheticSource({ maxFrames: 60 }).units()) {
    if (encoder.encode(f)) accepted++;
    maxInFlight = Math.max(maxInFlight, encoder.queueSize);
  }
  await encoder.flush();
  encoder.close();
  t.true(encoder.stats.dropped > 0, 'some frames were dropped');
  t.is(encoder.stats.dropped + accepted, 60);
  t.is(out.length, accepted);
  t.true(maxInFlight <= 2);
  t.is(codeOf(() => new H264Encoder({ width: 641, height: 360, fps: 30, bitrate: 1e6, keyframeIntervalUs: 2e6 }, () => undefined)), 'E_CONFIG');
});

test('the viewer reads our chunks back: init segment codec and avcC, chunk samples with their timestamps and keyframes', async (t) => {
  const { parseChunk, parseInitSegment } = await import('../../src/media/cmaf.js');
  const units = await encodeFrames(35);
  let init: Uint8Array | null = null;
  const chunks: Uint8Array[] = [];
  const seg = new Segmenter(
    { width: 640, height: 360, fps: 30, chunkFrames: 2 },
    { init: (i) => void (init = i.bytes), segmentStart: () => undefined, chunk: (b) => void chunks.push(b), segmentEnd: () => undefined },
  );
  for (const u of units) await seg.push(u);
  await seg.end();
  const info = parseInitSegment(init!);
  t.regex(info.codec, /^avc1\.42C0[0-9A-F]{2}$/); // Constrained Baseline, as the SPS says
  t.true(info.description.length > 10 && info.description[0] === 1, 'an AVCDecoderConfigurationRecord');
  const samples = chunks.flatMap((c) => parseChunk(c, info.timescale));
  t.is(samples.length, 35);
  t.deepEqual(samples.map((s) => s.timestampUs), units.map((u) => u.timestampUs));
  t.deepEqual(samples.map((s) => s.key), units.map((u) => u.key));
  t.deepEqual(parseChunk(new Uint8Array(0), info.timescale), []);
});
