/**
 * §6.5 size padding: what the relay sees of a padded stream is only the bucket, the padding is
 * inside the ciphertext (MAC and signature cover it), and every reader strips it exactly.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  CameraEpochs,
  Identity,
  LIVE_HEADER_BYTES,
  SEAL_BYTES,
  STANDARD_PADDING,
  SegmentSealer,
  Viewer,
  formatPaddingPolicy,
  openRoster,
  parsePaddingPolicy,
  signRoster,
  type PaddingPolicy,
} from '../../src/protocol/index.js';
import { T0, seededRandom } from '../helpers/fixtures.js';
import { codeOf } from '../helpers/codes.js';

function setup(label: string, padding: PaddingPolicy | null) {
  const random = seededRandom(label);
  const camera = Identity.generate(random);
  const owner = Identity.generate(random);
  const roster = openRoster(signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: T0, viewers: [owner.public] }), owner.signPublicKey);
  const epochs = new CameraEpochs(camera, random, 0);
  const announcement = epochs.rotate(roster, T0);
  const sealer = new SegmentSealer(camera, epochs, random, 0, { padding });
  const view = () => {
    const v = new Viewer(owner).pin(camera.public);
    v.addAnnouncement(announcement);
    return v;
  };
  return { random, sealer, view };
}

/** Seal one media segment of these chunk payloads; return its live messages and envelope. */
function sealSegment(sealer: SegmentSealer, payloads: Uint8Array[], captureTime = T0) {
  const w = sealer.begin({ kind: 'media', captureTime });
  const live = payloads.map((p, i) => w.addChunk(p, { last: i === payloads.length - 1 }));
  return { live, envelope: w.finish({ durationMs: 2000 }) };
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

test('--pad parses off, standard and explicit buckets, and formats back', (t) => {
  t.is(parsePaddingPolicy('off'), null);
  t.deepEqual(parsePaddingPolicy('standard'), STANDARD_PADDING);
  const p = parsePaddingPolicy('chunks=512,2K,1M;segment=4M')!;
  t.deepEqual(p, { chunkBuckets: [512, 2048, 1048576], segmentMultiple: 4194304 });
  t.is(formatPaddingPolicy(p), 'chunks=512,2K,1M;segment=4M');
  t.deepEqual(parsePaddingPolicy(formatPaddingPolicy(STANDARD_PADDING)), STANDARD_PADDING);
  t.deepEqual(parsePaddingPolicy('chunks=1K'), { chunkBuckets: [1024], segmentMultiple: 0 });
});

test('--pad refuses bad policies with E_CONFIG, never anything else (fuzzed)', (t) => {
  for (const bad of ['', 'on', 'chunks=', 'chunks=1K,1K', 'chunks=4K,1K', 'chunks=16', 'chunks=1K;segment=512', 'chunks=1K;colour=red', 'chunks=65M', 'chunks=-1', 'chunks=1.5K', 'segment=1M']) {
    t.is(codeOf(() => parsePaddingPolicy(bad)), 'E_CONFIG', bad);
  }
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (spec) => {
      try {
        const p = parsePaddingPolicy(spec);
        return p === null || (p.chunkBuckets.length > 0 && p.chunkBuckets.every((b, i) => i === 0 || b > p.chunkBuckets[i - 1]!));
      } catch (e) {
        return codeOf(() => {
          throw e;
        }) === 'E_CONFIG';
      }
    }),
    { numRuns: 2000 },
  );
});

test('padded chunks and segments open to exactly their payloads; the relay sees only buckets (property)', (t) => {
  const policy = parsePaddingPolicy('chunks=256,1K,4K;segment=16K')!;
  const { sealer, view } = setup('padding-property', policy);
  let checked = 0;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 12 }), (sizes) => {
      const payloads = sizes.map((n, i) => bytes(n, i + 1));
      const { live, envelope } = sealSegment(sealer, payloads);
      const cts = live.map((m) => m.length - LIVE_HEADER_BYTES);
      for (const ct of cts.slice(0, -1)) {
        if (!(policy.chunkBuckets.includes(ct) || ct % 4096 === 0)) return false;
      }
      if ((envelope.length - SEAL_BYTES) % policy.segmentMultiple !== 0) return false;
      const whole = view().openSegment(envelope);
      if (whole.chunks.length !== payloads.length || whole.chunks.some((c, i) => c.length !== sizes[i] || c.some((b) => b !== i + 1))) return false;
      const v = view();
      const got = live.map((m) => v.acceptLiveChunk(m).payload);
      v.confirmLive(envelope.subarray(0, SEAL_BYTES));
      checked++;
      return got.every((c, i) => c.length === sizes[i]);
    }),
    { numRuns: 60 },
  );
  t.is(checked, 60);
});

test('two scenes whose frames differ in size but share buckets look the same to the relay', (t) => {
  const { sealer } = setup('padding-still-moving', STANDARD_PADDING);
  // 60 frames: a keyframe, then 3.2 KB P-frames (calm) or 3.3-3.9 KB P-frames (busier): all in the 4 KiB bucket.
  const still = sealSegment(sealer, [bytes(40_000), ...Array.from({ length: 58 }, () => bytes(3200)), new Uint8Array(0)]);
  const moving = sealSegment(sealer, [bytes(41_000), ...Array.from({ length: 58 }, (_, i) => bytes(3300 + i * 10)), new Uint8Array(0)]);
  t.deepEqual(
    moving.live.map((m) => m.length),
    still.live.map((m) => m.length),
  );
  t.is(moving.envelope.length, still.envelope.length);
  t.true(still.live.slice(1, -1).every((m) => m.length === LIVE_HEADER_BYTES + 4096), 'every P-frame went to the 4 KiB bucket');
  // Without padding the same two segments differ in every P-frame.
  const plain = setup('padding-off', null).sealer;
  const a = sealSegment(plain, [bytes(40_000), ...Array.from({ length: 58 }, () => bytes(3200)), new Uint8Array(0)]);
  const b = sealSegment(plain, [bytes(41_000), ...Array.from({ length: 58 }, (_, i) => bytes(3300 + i * 10)), new Uint8Array(0)]);
  t.notDeepEqual(
    a.live.map((m) => m.length),
    b.live.map((m) => m.length),
  );
});

test('the padding is authenticated: a changed padding byte in a live chunk or an envelope is refused', (t) => {
  const { sealer, view } = setup('padding-tamper', STANDARD_PADDING);
  const { live, envelope } = sealSegment(sealer, [bytes(10), new Uint8Array(0)]);
  const chunk = live[0]!.slice();
  chunk[chunk.length - 20]! ^= 0x01; // inside the zero padding of chunk 0's ciphertext
  t.is(codeOf(() => view().acceptLiveChunk(chunk)), 'E_DECRYPT');
  const env = envelope.slice();
  env[SEAL_BYTES + 4 + 500]! ^= 0x01;
  t.is(codeOf(() => view().openSegment(env)), 'E_BAD_SIGNATURE');
});

test('an unpadded viewer path still opens old, unpadded streams byte for byte', (t) => {
  const { sealer, view } = setup('padding-none', null);
  const { live, envelope } = sealSegment(sealer, [bytes(100), bytes(5), new Uint8Array(0)]);
  t.deepEqual(
    live.map((m) => m.length - LIVE_HEADER_BYTES),
    [164, 69, 64],
  );
  t.deepEqual(
    view().openSegment(envelope).chunks.map((c) => c.length),
    [100, 5, 0],
  );
});
