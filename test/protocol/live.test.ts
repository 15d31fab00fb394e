import test from 'ava';
import { SEAL_BYTES, concatBytes } from '../../src/protocol/index.js';
import { codeOf } from '../helpers/codes.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';

/** A segment of `n` live chunks: returns the live messages and the envelope. */
function liveSegment(h: ReturnType<typeof household>, n: number, captureTime = T0) {
  const w = h.sealer.begin({ kind: 'media', captureTime });
  const live = Array.from({ length: n }, (_, i) => w.addChunk(bytesOf(`frame group ${i} @${captureTime}`), { last: i === n - 1 }));
  return { live, envelope: w.finish({ durationMs: n * 33 }) };
}

test('live chunks are shown at once (provisional) and confirmed by the segment seal', (t) => {
  const h = household('live');
  const view = h.ownerViewer.cameras[0]!;
  const { live, envelope } = liveSegment(h, 30);
  const shown = live.map((m) => view.acceptLiveChunk(m));
  t.true(shown.every((c) => c.provisional));
  t.deepEqual(
    shown.map((c) => c.chunkIndex),
    [...Array(30).keys()],
  );
  t.deepEqual(shown[3]!.payload, bytesOf(`frame group 3 @${T0}`));
  const confirmed = view.confirmLive(envelope.subarray(0, SEAL_BYTES));
  t.is(confirmed.chunkCount, 30);
  t.is(confirmed.verdict.kind, 'first');
  // The stored envelope carries the very same ciphertexts: opening it now is a replay.
  t.is(codeOf(() => view.openSegment(envelope)), 'E_REPLAY');
  t.is(codeOf(() => view.acceptLiveChunk(live[0]!)), 'E_REPLAY');
});

test('the envelope body is exactly the live chunk ciphertexts, so video is encrypted once', (t) => {
  const h = household('live-same-ct');
  const { live, envelope } = liveSegment(h, 3);
  const cts = live.map((m) => m.subarray(72));
  const framed = cts.map((ct) => concatBytes(new Uint8Array([0, 0, ct.length >> 8, ct.length & 0xff]), ct));
  t.deepEqual(envelope.subarray(SEAL_BYTES), concatBytes(...framed));
});

test('live chunks out of order, duplicated or for a foreign camera are refused', (t) => {
  const h = household('live-order');
  const other = household('live-other');
  const view = h.ownerViewer.cameras[0]!;
  const { live } = liveSegment(h, 3);
  t.is(codeOf(() => view.acceptLiveChunk(live[1]!)), 'E_REORDERED');
  view.acceptLiveChunk(live[0]!);
  t.is(codeOf(() => view.acceptLiveChunk(live[2]!)), 'E_REORDERED');
  t.is(codeOf(() => view.acceptLiveChunk(live[0]!)), 'E_REPLAY');
  t.is(codeOf(() => view.acceptLiveChunk(liveSegment(other, 1).live[0]!)), 'E_FOREIGN_CAMERA');
});

test('a seal without all the chunks is E_LIVE_INCOMPLETE; a seal for different chunks is E_BAD_SIGNATURE', (t) => {
  const h = household('live-incomplete');
  const view = h.ownerViewer.cameras[0]!;
  const first = liveSegment(h, 3);
  view.acceptLiveChunk(first.live[0]!);
  view.acceptLiveChunk(first.live[1]!);
  t.is(codeOf(() => view.confirmLive(first.envelope.subarray(0, SEAL_BYTES))), 'E_LIVE_INCOMPLETE');
  view.acceptLiveChunk(first.live[2]!);
  const seal = first.envelope.slice(0, SEAL_BYTES);
  seal[100]! ^= 1;
  t.is(codeOf(() => view.confirmLive(seal)), 'E_BAD_SIGNATURE');
  t.is(view.confirmLive(first.envelope.subarray(0, SEAL_BYTES)).verdict.kind, 'first');
});

test('a tampered live chunk is refused (MAC under the epoch key), and so is a forged header field', (t) => {
  const h = household('live-tamper');
  const view = h.ownerViewer.cameras[0]!;
  const { live } = liveSegment(h, 1);
  for (let i = 0; i < live[0]!.length; i++) {
    const m = live[0]!.slice();
    m[i]! ^= 0x04;
    t.truthy(codeOf(() => view.acceptLiveChunk(m)), `byte ${i}`);
  }
  t.is(view.acceptLiveChunk(live[0]!).chunkIndex, 0);
});

test('live viewing: gaps between live segments are reported at confirmation', (t) => {
  const h = household('live-gap');
  const view = h.ownerViewer.cameras[0]!;
  const a = liveSegment(h, 2, T0);
  liveSegment(h, 2, T0 + 66); // lost in transit
  const c = liveSegment(h, 2, T0 + 132);
  a.live.forEach((m) => view.acceptLiveChunk(m));
  view.confirmLive(a.envelope.subarray(0, SEAL_BYTES));
  c.live.forEach((m) => view.acceptLiveChunk(m));
  t.deepEqual(view.confirmLive(c.envelope.subarray(0, SEAL_BYTES)).verdict, { kind: 'gap', missingFrom: 1, missingTo: 1 });
});
