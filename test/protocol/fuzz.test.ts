/**
 * Property tests (fast-check): random mutations of valid messages are never accepted, and every
 * parser throws nothing but SealcamError on arbitrary input.
 */
import test from 'ava';
import fc from 'fast-check';
import { Reassembler, SEAL_BYTES, SealcamError, decodeLiveChunk, describeMessage, openRoster, splitForTransport } from '../../src/protocol/index.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';

const h = household('fuzz', 1);
const w = h.sealer.begin({ kind: 'media', captureTime: T0 });
w.addChunk(bytesOf('chunk zero of the fuzz segment'));
w.addChunk(bytesOf('chunk one'), { last: true });
const envelope = w.finish({ durationMs: 2000, final: true });
const view = h.ownerViewer.cameras[0]!;

/** A mutation: flips, overwrites, truncations, extensions and splices at random places. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function apply(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let out = bytes.slice();
  for (const m of ms) {
    const at = out.length ? m.op === 'append' ? 0 : m.at % out.length : 0;
    switch (m.op) {
      case 'flip':
        if (out.length) out[at]! ^= 1 << m.bit;
        break;
      case 'set':
        if (out.length) out[at] = out[at] === m.value ? (m.value + 1) & 0xff : m.value;
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'append':
        out = new Uint8Array([...out, ...m.bytes]);
        break;
      case 'splice':
        out = new Uint8Array([...out.subarray(0, at), ...m.bytes, ...out.subarray(at)]);
        break;
    }
  }
  return out;
}

function differs(a: Uint8Array, b: Uint8Array): boolean {
  return a.length !== b.length || a.some((x, i) => x !== b[i]);
}

/** Run `fn`; true if it accepted, false if it threw SealcamError; anything else fails the property. */
function accepted(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof SealcamError) return false;
    throw e;
  }
}

test('mutated envelopes are never accepted and only ever raise SealcamError', (t) => {
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
      const m = apply(envelope, ms);
      fc.pre(differs(m, envelope));
      return !accepted(() => view.openSegment(m));
    }),
    { numRuns: 3000 },
  );
  t.is(view.stream.highest, null, 'no mutation moved the stream state');
  t.is(view.openSegment(envelope).chunks.length, 2);
});

test('mutated live chunks and seals are never accepted', (t) => {
  const fresh = household('fuzz-live');
  const fw = fresh.sealer.begin({ kind: 'media', captureTime: T0 });
  const chunk = fw.addChunk(bytesOf('live chunk under fuzz'), { last: true });
  const seal = fw.finish({ durationMs: 33 }).subarray(0, SEAL_BYTES);
  const fview = fresh.ownerViewer.cameras[0]!;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      const m = apply(chunk, ms);
      fc.pre(differs(m, chunk));
      return !accepted(() => fview.acceptLiveChunk(m));
    }),
    { numRuns: 1500 },
  );
  fview.acceptLiveChunk(chunk);
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      const m = apply(seal, ms);
      fc.pre(differs(m, seal));
      return !accepted(() => fview.confirmLive(m));
    }),
    { numRuns: 1500 },
  );
  t.is(fview.confirmLive(seal).chunkCount, 1);
});

test('mutated announcements and rosters are never accepted', (t) => {
  const ann = h.announcement;
  const v = household('fuzz', 1).ownerViewer.cameras[0]!; // same seed: same camera and owner as `h`
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      const m = apply(ann, ms);
      fc.pre(differs(m, ann));
      return !accepted(() => v.addAnnouncement(m));
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      const m = apply(h.rosterBytes, ms);
      fc.pre(differs(m, h.rosterBytes));
      return !accepted(() => openRoster(m, h.owner.signPublicKey));
    }),
    { numRuns: 1000 },
  );
  t.is(v.addAnnouncement(ann).epoch, 1);
  t.is(openRoster(h.rosterBytes, h.owner.signPublicKey).rosterVersion, 1);
});

test('every parser throws only SealcamError on arbitrary bytes', (t) => {
  const r = new Reassembler();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      for (const parse of [
        () => describeMessage(bytes),
        () => decodeLiveChunk(bytes),
        () => view.openSegment(bytes),
        () => view.confirmLive(bytes),
        () => view.addAnnouncement(bytes),
        () => openRoster(bytes, h.owner.signPublicKey),
        () => r.push(bytes),
      ]) {
        accepted(parse);
      }
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('mutated transport pieces never reassemble into a different envelope', (t) => {
  const pieces = splitForTransport(envelope, 200);
  fc.assert(
    fc.property(fc.nat({ max: pieces.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (which, ms) => {
      const r = new Reassembler();
      const changed = pieces.map((p, i) => (i === which ? apply(p, ms) : p));
      let out: Uint8Array | null = null;
      for (const p of changed) {
        try {
          out = r.push(p) ?? out;
        } catch (e) {
          if (!(e instanceof SealcamError)) throw e;
        }
      }
      return out === null || !differs(out, envelope);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
