/**
 * The live viewer's promises (PROTOCOL.md §7.5, THREAT-MODEL L1–L5), on the pure LiveSession with
 * an injected clock: late join, confirmation by the seal, replay across a restart, freshness,
 * messages that beat their keys, and the roster alarm.
 */
import test from 'ava';
import { LiveSession, SEAL_BYTES, openRoster, signRoster, type LiveEvent } from '../../src/protocol/index.js';
import { T0, bytesOf, household, pinned, type Household } from '../helpers/fixtures.js';

/** What the camera puts on the live topic for one media segment: its init, its chunks, its seal. */
function liveSegment(h: Household, init: Uint8Array, n: number, captureTime: number): Uint8Array[] {
  const w = h.sealer.begin({ kind: 'media', captureTime });
  const chunks = Array.from({ length: n }, (_, i) => w.addChunk(bytesOf(`seg@${captureTime} frame ${i}`), { last: i === n - 1 }));
  return [init, ...chunks, w.finish({ durationMs: n * 33 }).subarray(0, SEAL_BYTES)];
}

function session(h: Household, clock: { now: number }, extra: Partial<ConstructorParameters<typeof LiveSession>[2]> = {}) {
  return new LiveSession(pinned(h.camera), h.owner, { now: () => clock.now, ...extra });
}

const feed = (s: LiveSession, msgs: Uint8Array[]) => msgs.flatMap((m) => s.handle('live', m));
const types = (events: LiveEvent[]) => events.map((e) => (e.type === 'rejected' ? `rejected ${e.code}` : e.type));

test('late join: a viewer that arrives mid-segment skips to the next segment and plays from there, each segment confirmed', (t) => {
  const h = household('live-session-join');
  const clock = { now: T0 + 5_000 };
  const init = h.sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: bytesOf('ftyp moov') });
  const first = liveSegment(h, init, 5, T0 + 4_000);
  const second = liveSegment(h, init, 5, T0 + 4_200);
  const s = session(h, clock);
  s.handle('keys', h.announcement);
  // It joins after the init and two chunks of the first segment went by.
  const events = feed(s, [...first.slice(3), ...second]);
  t.deepEqual(types(events), ['init', 'chunk', 'chunk', 'chunk', 'chunk', 'chunk', 'confirmed'], 'nothing of the first segment, all of the second');
  t.is(s.stats.skippedBeforeJoin, 3, "chunks 2, 3 and 4 of the first segment");
  t.deepEqual(s.stats.rejected, {}, 'joining late rejects nothing');
  t.is(s.stats.chunksConfirmed, 5);
  t.is(s.chunksUnconfirmed, 0);
  const init0 = events[0]!;
  t.true(init0.type === 'init' && init0.changed);
});

test('chunks are provisional until the seal confirms them; a bad seal leaves them unconfirmed', (t) => {
  const h = household('live-session-seal');
  const clock = { now: T0 + 1_000 };
  const init = h.sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: bytesOf('ftyp moov') });
  const msgs = liveSegment(h, init, 3, T0);
  const s = session(h, clock);
  s.handle('keys', h.announcement);
  feed(s, msgs.slice(0, -1));
  t.is(s.chunksUnconfirmed, 3);
  const forged = msgs.at(-1)!.slice();
  forged[SEAL_BYTES - 1]! ^= 1;
  t.deepEqual(types(s.handle('live', forged)), ['rejected E_BAD_SIGNATURE']);
  t.is(s.chunksUnconfirmed, 3);
  t.deepEqual(types(s.handle('live', msgs.at(-1)!)), ['confirmed']);
  t.is(s.chunksUnconfirmed, 0);
});

test('replay: a recorded stream re-injected into a restarted viewer is rejected, and into a fresh one later it is stale', (t) => {
  const h = household('live-session-replay');
  const clock = { now: T0 + 1_000 };
  const init = h.sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: bytesOf('ftyp moov') });
  const recorded = [...liveSegment(h, init, 4, T0), ...liveSegment(h, init, 4, T0 + 200)];
  const s = session(h, clock);
  s.handle('keys', h.announcement);
  feed(s, recorded);
  t.is(s.stats.segmentsConfirmed, 2);
  // The viewer restarts with its persisted state; the relay replays what it recorded.
  const restarted = session(h, clock, { snapshot: JSON.parse(JSON.stringify(s.snapshot())) });
  restarted.handle('keys', h.announcement);
  const replayed = feed(restarted, recorded);
  t.is(replayed.filter((e) => e.type === 'chunk' || e.type === 'confirmed').length, 0, 'no frame is shown again');
  t.deepEqual(restarted.stats.rejected, { E_REPLAY: 10 }, 'every chunk and seal of both segments');
  // A viewer with no state at all, an hour later: the old recording is not live.
  const fresh = session(h, { now: T0 + 3_600_000 });
  fresh.handle('keys', h.announcement);
  feed(fresh, recorded);
  t.is(fresh.stats.chunksAccepted, 0);
  t.deepEqual(fresh.stats.rejected, { E_STALE_LIVE: 8 });
  // A capture time far in the future is refused too (a camera clock wrong by minutes).
  const early = session(h, { now: T0 - 60_000 });
  early.handle('keys', h.announcement);
  feed(early, recorded.slice(0, 2));
  t.deepEqual(early.stats.rejected, { E_STALE_LIVE: 1 });
});

test('chunks of a new epoch that beat its announcement wait for it, then play; without it they are rejected after the hold', (t) => {
  const h = household('live-session-hold');
  const clock = { now: T0 + 1_000 };
  const init = h.sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: bytesOf('ftyp moov') });
  const s = session(h, clock);
  s.handle('keys', h.announcement);
  feed(s, liveSegment(h, init, 2, T0));
  const roster2 = openRoster(signRoster(h.owner, { cameraId: h.camera.id, rosterVersion: 2, issuedAt: T0, viewers: [h.owner.public] }), h.owner.signPublicKey);
  const announcement2 = h.epochs.rotate(roster2, T0 + 500);
  const init2 = h.sealer.seal({ kind: 'init', captureTime: T0 + 500, durationMs: 0, payload: bytesOf('ftyp moov') });
  const early = liveSegment(h, init2, 3, T0 + 600);
  t.deepEqual(types(feed(s, early)), [], 'held, not rejected');
  const released = s.handle('keys', announcement2);
  t.deepEqual(types(released), ['announcement', 'init', 'chunk', 'chunk', 'chunk', 'confirmed']);
  t.is(s.stats.heldReleased, 5);
  t.deepEqual(s.stats.rejected, {});
  // Another epoch whose announcement never comes: rejected once the hold is over.
  const announcement3 = h.epochs.rotate(roster2, T0 + 700);
  t.true(announcement3.length > 0);
  feed(s, liveSegment(h, init2, 2, T0 + 800));
  clock.now += 3_001;
  t.deepEqual(types(s.tick()), ['rejected E_UNKNOWN_EPOCH', 'rejected E_UNKNOWN_EPOCH', 'rejected E_UNKNOWN_EPOCH']);
});

test('the owner is alarmed when the camera still seals for a roster it replaced (a withheld revocation)', (t) => {
  const h = household('live-session-roster', 1);
  const clock = { now: T0 + 1_000 };
  // The owner revoked the second viewer (roster 2), but the camera announces for roster 1.
  const alarmed = session(h, clock, { expectedRoster: { rosterVersion: 2, viewerIds: [h.owner.id] } });
  const events = alarmed.handle('keys', h.announcement);
  t.deepEqual(types(events), ['announcement', 'alarm']);
  const alarm = events[1]!;
  t.true(alarm.type === 'alarm' && alarm.code === 'E_ROSTER_LAGGING' && /roster version 1.*signed version 2/.test(alarm.message));
  // Same version but other recipients: also an alarm. The right roster: none.
  t.deepEqual(types(session(h, clock, { expectedRoster: { rosterVersion: 1, viewerIds: [h.owner.id] } }).handle('keys', h.announcement)), ['announcement', 'alarm']);
  t.deepEqual(types(session(h, clock, { expectedRoster: { rosterVersion: 1, viewerIds: [h.owner.id, h.others[0]!.id] } }).handle('keys', h.announcement)), ['announcement']);
});

test("a stranger's session opens nothing of a misrouted live feed: every message is E_FOREIGN_CAMERA", (t) => {
  const h = household('live-session-owner');
  const other = household('live-session-stranger');
  const init = h.sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: bytesOf('ftyp moov') });
  const s = new LiveSession(pinned(other.camera), other.owner, { now: () => T0 + 1_000 });
  s.handle('keys', other.announcement);
  const events = feed(s, liveSegment(h, init, 3, T0));
  t.deepEqual(types(events), Array(5).fill('rejected E_FOREIGN_CAMERA'));
});
