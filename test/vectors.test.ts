/** The JSON vectors (test/vectors/segments.json) against this implementation. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { CameraView, Identity, LiveSession, decodeEvent, Reassembler, type LiveEvent, type StreamSnapshot, acceptRosterUpdate, concatBytes, fromHex, openRoster, parsePaddingPolicy, publicIdentity, toHex } from '../src/protocol/index.js';
import { codeOf } from './helpers/codes.js';

interface Step {
  type: 'announcement' | 'segment' | 'live' | 'seal' | 'transport' | 'roster';
  hex: string;
}
type Who = 'viewer' | 'stranger';
const V = JSON.parse(readFileSync(new URL('./vectors/segments.json', import.meta.url), 'utf8')) as {
  source: string;
  camera: { signPublicKey: string; boxPublicKey: string; id: string };
  viewer: { identitySecret: string; id: string; signPublicKey: string };
  stranger: { identitySecret: string; id: string };
  roster: string;
  announcement: string;
  recipients: { announcement: string; epoch: number; epochKey: string; segment: string; expect: { seq: number; epoch: number; chunks: string[] } };
  valid: { name: string; hex: string; expect: { kind: string; seq: number; epoch: number; final: boolean; captureTime: number; durationMs: number; chunks: string[] } }[];
  live: { chunks: string[]; seal: string; expectPayloads: string[] };
  transport: { pieces: string[]; envelope: string };
  padded: { policy: string; envelope: string; live: string[]; seal: string; ctLengths: number[]; bodyLength: number; expect: { seq: number; epoch: number; chunks: string[] } };
  sessions: SessionCase[];
  event: { envelope: string; expect: Record<string, unknown> };
  invalid: { name: string; viewer?: 'stranger'; steps: Step[]; error: string }[];
};

interface SessionCase {
  name: string;
  options: { maxAgeMs?: number; maxSkewMs?: number; snapshot?: StreamSnapshot; expectedRoster?: { rosterVersion: number; viewerIds: string[] } };
  steps: { channel: 'keys' | 'live' | 'tick'; hex?: string; now: number; events: string[] }[];
  stats: { chunksAccepted: number; chunksConfirmed: number; skippedBeforeJoin: number; heldReleased: number; rejected: Record<string, number> };
  snapshot?: StreamSnapshot;
}

/** A session event as the vectors write it (§12). */
function eventString(e: LiveEvent): string {
  switch (e.type) {
    case 'announcement':
      return `announcement ${e.info.epoch}`;
    case 'init':
      return `init ${e.seq}`;
    case 'chunk':
      return `chunk ${e.chunk.seq}/${e.chunk.chunkIndex}`;
    case 'confirmed':
      return `confirmed ${e.seq}`;
    case 'rejected':
      return `rejected ${e.what} ${e.code}`;
    case 'alarm':
      return `alarm ${e.code}`;
  }
}

const freshView = (who: Who = 'viewer') => {
  const viewer = Identity.fromSecret(fromHex(V[who].identitySecret));
  const camera = publicIdentity(fromHex(V.camera.signPublicKey), fromHex(V.camera.boxPublicKey));
  return new CameraView(camera, viewer);
};

/** What a case feeds its steps to: a viewer, a reassembler, and the camera's roster check (§4.4). */
interface Case {
  view: CameraView;
  r: Reassembler;
  /** the rosterVersion the camera holds: `roster`'s, then each accepted roster step's. */
  rosterVersion: number;
}
const freshCase = (who?: Who): Case => ({ view: freshView(who), r: new Reassembler(), rosterVersion: openRoster(fromHex(V.roster), fromHex(V.viewer.signPublicKey)).rosterVersion });

function feed(c: Case, step: Step): void {
  const { view, r } = c;
  if (step.hex === 'end') return view.stream.assertComplete();
  const b = fromHex(step.hex);
  if (step.type === 'roster') c.rosterVersion = acceptRosterUpdate(b, { ownerSignPublicKey: fromHex(V.viewer.signPublicKey), cameraId: fromHex(V.camera.id), currentVersion: c.rosterVersion }).rosterVersion;
  else if (step.type === 'announcement') view.addAnnouncement(b);
  else if (step.type === 'segment') {
    const o = view.openSegment(b);
    if (o.header.kind === 'event') decodeEvent(o.payload); // §16: a viewer reads the record it opened
  }
  else if (step.type === 'live') view.acceptLiveChunk(b);
  else if (step.type === 'seal') view.confirmLive(b);
  else {
    const envelope = r.push(b);
    if (envelope) view.openSegment(envelope);
  }
}

test('the vectors file is what the generator produces (npm run vectors)', (t) => {
  const out = execFileSync(process.execPath, ['--import=tsx', 'test/vectors/generate.ts', '--check'], { encoding: 'utf8' });
  t.regex(out, /up to date/);
});

test('ids in the vectors are the fingerprints of the keys', (t) => {
  t.is(toHex(publicIdentity(fromHex(V.camera.signPublicKey), fromHex(V.camera.boxPublicKey)).id), V.camera.id);
  t.is(Identity.fromSecret(fromHex(V.viewer.identitySecret)).idHex, V.viewer.id);
});

test('valid segments open in order with the expected fields and payloads, and the stream is complete', (t) => {
  const view = freshView();
  view.addAnnouncement(fromHex(V.announcement));
  for (const v of V.valid) {
    const o = view.openSegment(fromHex(v.hex));
    const { chunks, ...fields } = v.expect;
    t.deepEqual({ kind: o.header.kind, seq: o.header.seq, epoch: o.header.epoch, final: o.header.final, captureTime: o.header.captureTime, durationMs: o.header.durationMs }, fields, v.name);
    t.deepEqual(o.chunks.map(toHex), chunks, v.name);
  }
  t.notThrows(() => view.stream.assertComplete());
});

test('live chunks open and their seal confirms them', (t) => {
  const view = freshView();
  view.addAnnouncement(fromHex(V.announcement));
  view.openSegment(fromHex(V.valid[0]!.hex));
  const payloads = V.live.chunks.map((c) => toHex(view.acceptLiveChunk(fromHex(c)).payload));
  t.deepEqual(payloads, V.live.expectPayloads);
  t.is(view.confirmLive(fromHex(V.live.seal)).chunkCount, V.live.chunks.length);
});

test('transport pieces reassemble to the envelope', (t) => {
  const r = new Reassembler();
  const out = V.transport.pieces.map((p) => r.push(fromHex(p))).filter((x) => x !== null);
  t.deepEqual(out.map((x) => toHex(concatBytes(x!))), [V.transport.envelope]);
});

test('an announcement for two recipients gives each the same epoch key, and each opens the segment', (t) => {
  const { recipients: R } = V;
  for (const who of ['viewer', 'stranger'] as const) {
    const view = freshView(who);
    t.is(view.addAnnouncement(fromHex(R.announcement)).epoch, R.epoch, who);
    t.is(toHex(view.keyring.get(R.epoch)!.key), R.epochKey, who);
    const o = view.openSegment(fromHex(R.segment));
    t.deepEqual({ seq: o.header.seq, epoch: o.header.epoch, chunks: o.chunks.map(toHex) }, R.expect, who);
  }
});

test('a padded segment (§6.5) opens to its payloads, as an envelope and as live chunks; the relay sees only the buckets', (t) => {
  const { padded: P } = V;
  const policy = parsePaddingPolicy(P.policy)!;
  const whole = freshView();
  whole.addAnnouncement(fromHex(V.announcement));
  const o = whole.openSegment(fromHex(P.envelope));
  t.deepEqual({ seq: o.header.seq, epoch: o.header.epoch, chunks: o.chunks.map(toHex) }, P.expect);
  t.is(o.header.bodyLength, P.bodyLength);
  t.is(P.bodyLength % policy.segmentMultiple, 0, `body ${P.bodyLength} is a multiple of ${policy.segmentMultiple}`);
  P.ctLengths.slice(0, -1).forEach((n) => t.true(policy.chunkBuckets.includes(n), `chunk ct ${n} is one of ${policy.chunkBuckets.join(', ')}`));
  const live = freshView();
  live.addAnnouncement(fromHex(V.announcement));
  t.deepEqual(P.live.map((m) => toHex(live.acceptLiveChunk(fromHex(m)).payload)), P.expect.chunks);
  t.is(live.confirmLive(fromHex(P.seal)).header.seq, P.expect.seq);
});

test('a motion event (§16) opens as a kind-3 segment and its record decodes to the expected fields', (t) => {
  const { event: E } = V;
  const view = freshView();
  view.addAnnouncement(fromHex(V.announcement));
  const o = view.openSegment(fromHex(E.envelope));
  const r = decodeEvent(o.payload);
  t.deepEqual(
    { seq: o.header.seq, epoch: o.header.epoch, kind: o.header.kind, startTime: r.startTime, endTime: r.endTime, peakPermille: r.peakPermille, firstSeq: r.firstSeq, lastSeq: r.lastSeq, thumbnailType: r.thumbnail?.type, thumbnail: toHex(r.thumbnail!.bytes) },
    E.expect,
  );
  t.is(o.header.captureTime, r.startTime);
  t.is(o.header.durationMs, r.endTime - r.startTime);
});

for (const c of V.sessions) {
  test(`session (§7.5): ${c.name}`, (t) => {
    let now = 0;
    const { expectedRoster, ...rest } = c.options;
    const session = new LiveSession(publicIdentity(fromHex(V.camera.signPublicKey), fromHex(V.camera.boxPublicKey)), Identity.fromSecret(fromHex(V.viewer.identitySecret)), {
      ...rest,
      now: () => now,
      ...(expectedRoster ? { expectedRoster: { rosterVersion: expectedRoster.rosterVersion, viewerIds: expectedRoster.viewerIds.map((id) => fromHex(id)) } } : {}),
    });
    c.steps.forEach((step, i) => {
      now = step.now;
      const events = step.channel === 'tick' ? session.tick() : session.handle(step.channel, fromHex(step.hex!));
      t.deepEqual(events.map(eventString), step.events, `step ${i} (${step.channel})`);
    });
    const { chunksAccepted, chunksConfirmed, skippedBeforeJoin, heldReleased, rejected } = session.stats;
    t.deepEqual({ chunksAccepted, chunksConfirmed, skippedBeforeJoin, heldReleased, rejected }, c.stats);
    if (c.snapshot) t.deepEqual(session.snapshot(), c.snapshot);
  });
}

for (const c of V.invalid) {
  test(`invalid: ${c.name} -> ${c.error}`, (t) => {
    const state = freshCase(c.viewer);
    c.steps.slice(0, -1).forEach((s) => feed(state, s));
    t.is(codeOf(() => feed(state, c.steps.at(-1)!)), c.error as never);
  });
}
