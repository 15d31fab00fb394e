import test from 'ava';
import { SEAL_BYTES, concatBytes, openRoster } from '../../src/protocol/index.js';
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

test('live chunks obey the stream rules: an older epoch for a newer seq is E_EPOCH_ROLLBACK, a late seq E_REORDERED', (t) => {
  const h = household('live-rules');
  const view = h.ownerViewer.cameras[0]!;
  liveSegment(h, 1, T0); // seq 0, never delivered
  const b = liveSegment(h, 1, T0 + 33);
  const c = liveSegment(h, 1, T0 + 66);
  c.live.forEach((m) => view.acceptLiveChunk(m));
  view.confirmLive(c.envelope.subarray(0, SEAL_BYTES));
  t.is(codeOf(() => view.acceptLiveChunk(b.live[0]!)), 'E_REORDERED');
  t.is(codeOf(() => view.acceptLiveChunk(c.live[0]!)), 'E_REPLAY');
  // Epoch 2 for the next segment, then a chunk of a later seq still under epoch 1 (a relay holding back a rotation).
  const roster = openRoster(h.rosterBytes, h.owner.signPublicKey);
  const early = h.sealer.begin({ kind: 'media', captureTime: T0 + 99 }); // seq 3, sealed under epoch 1
  const earlyChunk = early.addChunk(bytesOf('x'), { last: true });
  early.finish({ durationMs: 33 });
  view.addAnnouncement(h.epochs.rotate(roster, T0 + 100));
  const d = liveSegment(h, 1, T0 + 132); // seq 4, epoch 2
  d.live.forEach((m) => view.acceptLiveChunk(m));
  view.confirmLive(d.envelope.subarray(0, SEAL_BYTES));
  t.is(codeOf(() => view.acceptLiveChunk(earlyChunk)), 'E_REORDERED');
  t.is(view.stream.toJSON().highestEpoch, 2);
});

test('unconfirmed live segments are bounded: the oldest pending one is dropped, never the newest', (t) => {
  const h = household('live-bound');
  const view = h.ownerViewer.cameras[0]!;
  const segs = Array.from({ length: 6 }, (_, i) => liveSegment(h, 1, T0 + i * 33));
  for (const s of segs) t.is(view.acceptLiveChunk(s.live[0]!).chunkIndex, 0);
  // The two oldest were dropped to keep four pending: their seals can no longer confirm.
  t.is(codeOf(() => view.confirmLive(segs[0]!.envelope.subarray(0, SEAL_BYTES))), 'E_LIVE_INCOMPLETE');
  t.is(view.confirmLive(segs[5]!.envelope.subarray(0, SEAL_BYTES)).verdict.kind, 'first');
  t.is(codeOf(() => view.confirmLive(segs[4]!.envelope.subarray(0, SEAL_BYTES))), 'E_REORDERED');
});
