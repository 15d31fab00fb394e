import test from 'ava';
import { StreamState, Viewer, hiddenTail, type StreamSnapshot } from '../../src/protocol/index.js';
import { codeOf } from '../helpers/codes.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';

function sealMany(label: string, n: number, finalLast = false) {
  const h = household(label);
  const envs = Array.from({ length: n }, (_, i) =>
    h.sealer.seal({ kind: i === 0 ? 'init' : 'media', captureTime: T0 + i * 2000, durationMs: 2000, payload: bytesOf(`segment ${i}`), final: finalLast && i === n - 1 }),
  );
  return { h, envs, view: h.ownerViewer.cameras[0]! };
}

test('replay: a segment delivered twice is E_REPLAY the second time', (t) => {
  const { envs, view } = sealMany('replay', 3);
  view.openSegment(envs[0]!);
  view.openSegment(envs[1]!);
  t.is(codeOf(() => view.openSegment(envs[1]!)), 'E_REPLAY');
  t.is(codeOf(() => view.openSegment(envs[0]!)), 'E_REPLAY');
  t.is(view.openSegment(envs[2]!).verdict.kind, 'next');
});

test('replay is still detected after the viewer restarts from its persisted state', (t) => {
  const { h, envs, view } = sealMany('replay-restart', 4);
  view.openSegment(envs[0]!);
  view.openSegment(envs[1]!);
  const saved: StreamSnapshot = JSON.parse(JSON.stringify(view.stream.toJSON()));
  // A new process: new Viewer object, same identity, pinned camera, keys and the saved stream state.
  const restarted = new Viewer(h.owner).pin(view.camera, { snapshot: saved });
  restarted.addAnnouncement(h.announcement);
  t.is(codeOf(() => restarted.openSegment(envs[1]!)), 'E_REPLAY');
  t.is(codeOf(() => restarted.openSegment(envs[0]!)), 'E_REPLAY');
  t.is(restarted.openSegment(envs[2]!).verdict.kind, 'next');
});

test('gap: a missing segment is reported with its range; the late one is then E_REORDERED, never played out of order', (t) => {
  const { envs, view } = sealMany('gap', 5);
  view.openSegment(envs[0]!);
  const r = view.openSegment(envs[3]!);
  t.deepEqual(r.verdict, { kind: 'gap', missingFrom: 1, missingTo: 2 });
  t.is(codeOf(() => view.openSegment(envs[1]!)), 'E_REORDERED');
  t.is(codeOf(() => view.openSegment(envs[2]!)), 'E_REORDERED');
  t.is(view.openSegment(envs[4]!).verdict.kind, 'next');
});

test('reorder: swapping two segments gives a gap then E_REORDERED', (t) => {
  const { envs, view } = sealMany('reorder', 3);
  view.openSegment(envs[0]!);
  t.is(view.openSegment(envs[2]!).verdict.kind, 'gap');
  t.is(codeOf(() => view.openSegment(envs[1]!)), 'E_REORDERED');
});

test('truncation: a stream that stops without FINAL is E_TRUNCATED; with FINAL it is complete', (t) => {
  const cut = sealMany('trunc', 4, true);
  for (const e of cut.envs.slice(0, 3)) cut.view.openSegment(e);
  t.is(codeOf(() => cut.view.stream.assertComplete()), 'E_TRUNCATED');
  cut.view.openSegment(cut.envs[3]!);
  t.notThrows(() => cut.view.stream.assertComplete());
});

test('forward jump beyond the bound is E_FORWARD_JUMP without touching the state', (t) => {
  const s = new StreamState({ maxForwardJump: 100 });
  s.commit(5, 1, false);
  t.is(codeOf(() => s.check(105, 1)), undefined);
  t.is(codeOf(() => s.check(106, 1)), 'E_FORWARD_JUMP');
  t.is(codeOf(() => s.check(Number.MAX_SAFE_INTEGER, 1)), 'E_FORWARD_JUMP');
  t.is(s.highest, 5);
});

test('a huge forward jump is rejected as fast as a small one (no loop over the gap)', (t) => {
  const s = new StreamState({ maxForwardJump: Number.MAX_SAFE_INTEGER - 1 });
  s.commit(0, 1, false);
  // With no loop, committing a jump of 2^53-2 is immediate and the window resets to one bit.
  t.deepEqual(s.check(Number.MAX_SAFE_INTEGER - 1, 1), { kind: 'gap', missingFrom: 1, missingTo: Number.MAX_SAFE_INTEGER - 2 });
  s.commit(Number.MAX_SAFE_INTEGER - 1, 1, false);
  t.is(s.toJSON().window, '1');
  t.is(codeOf(() => s.check(0, 1)), 'E_REPLAY');
});

test('epoch rollback: a newer seq under an older epoch is E_EPOCH_ROLLBACK', (t) => {
  const s = new StreamState();
  s.commit(10, 3, false);
  t.is(codeOf(() => s.check(11, 2)), 'E_EPOCH_ROLLBACK');
  t.is(s.check(11, 3).kind, 'next');
  t.is(s.check(11, 4).kind, 'next');
});

test('the anti-replay window: seqs older than 128 below the highest are refused as replays', (t) => {
  const s = new StreamState();
  s.commit(0, 1, false);
  s.commit(200, 1, false);
  t.is(codeOf(() => s.check(72, 1)), 'E_REPLAY');
  t.is(codeOf(() => s.check(73, 1)), 'E_REORDERED');
  t.is(codeOf(() => s.check(200, 1)), 'E_REPLAY');
});

test('snapshots round-trip and bad snapshots are refused', (t) => {
  const s = new StreamState();
  for (const q of [1, 2, 4, 9]) s.commit(q, 1, q === 9);
  const restored = StreamState.fromJSON(JSON.parse(JSON.stringify(s.toJSON())) as StreamSnapshot);
  t.deepEqual(restored.toJSON(), s.toJSON());
  t.is(codeOf(() => restored.check(4, 1)), 'E_REPLAY');
  t.is(codeOf(() => restored.check(3, 1)), 'E_REORDERED');
  t.true(restored.ended);
  t.is(codeOf(() => StreamState.fromJSON({ ...s.toJSON(), window: 'zz' })), 'E_BAD_ARGUMENT');
  t.is(codeOf(() => StreamState.fromJSON({ ...s.toJSON(), v: 2 as 1 })), 'E_BAD_ARGUMENT');
});

test('a hidden tail (§8.4): a history that ends below the newest seq seen was cut, an empty one too; at or above it, or with nothing seen, it was not', (t) => {
  t.deepEqual(hiddenTail(7, 9), { historyEndsAt: 7, seenUpTo: 9 });
  t.deepEqual(hiddenTail(null, 0), { historyEndsAt: null, seenUpTo: 0 });
  t.is(hiddenTail(9, 9), null);
  t.is(hiddenTail(12, 9), null);
  t.is(hiddenTail(3, null), null);
  t.is(hiddenTail(null, null), null);
});
