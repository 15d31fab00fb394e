import test from 'ava';
import { DEFAULT_MAX_MESSAGE_BYTES, Reassembler, SealcamError, TRANSPORT_HEADER_BYTES, splitForTransport } from '../../src/protocol/index.js';
import { codeOf } from '../helpers/codes.js';
import { T0, household, seededRandom } from '../helpers/fixtures.js';

const envelope = (bytes: number) => {
  const h = household(`transport-${bytes}`);
  return h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: seededRandom('payload')(bytes) });
};

test('a 1 MB envelope travels as messages of at most 128 KiB and comes back byte for byte', (t) => {
  const env = envelope(1_000_000);
  const messages = splitForTransport(env);
  t.is(messages.length, Math.ceil(env.length / (DEFAULT_MAX_MESSAGE_BYTES - TRANSPORT_HEADER_BYTES)));
  t.true(messages.every((m) => m.length <= 128 * 1024));
  const r = new Reassembler();
  const results = messages.map((m) => r.push(m));
  t.true(results.slice(0, -1).every((x) => x === null));
  t.deepEqual(results.at(-1), env);
  t.is(r.pendingEnvelopes, 0);
  t.is(r.pendingBytes, 0);
});

test('pieces may arrive in any order and twice (QoS 1 redelivery)', (t) => {
  const env = envelope(300_000);
  const messages = splitForTransport(env, 32 * 1024);
  const shuffled = [...messages].reverse();
  shuffled.splice(2, 0, messages[0]!);
  const r = new Reassembler();
  const done = shuffled.map((m) => r.push(m)).filter((x) => x !== null);
  t.is(done.length, 1);
  t.deepEqual(done[0], env);
});

test('changing any header field or data byte of a piece never yields an envelope', (t) => {
  const env = envelope(50_000);
  const messages = splitForTransport(env, 16 * 1024);
  for (const offset of [6, 7, 8, 9, 12, 15, 16, 19, 20, 51, 52, 1000]) {
    const r = new Reassembler();
    const changed = messages.map((m, i) => {
      if (i !== 1) return m;
      const c = m.slice();
      c[offset]! ^= 0x01;
      return c;
    });
    let error: SealcamError | undefined;
    let produced = 0;
    for (const m of changed) {
      try {
        if (r.push(m)) produced++;
      } catch (e) {
        if (!SealcamError.is(e)) throw e;
        error = e;
      }
    }
    t.is(produced, 0, `offset ${offset}`);
    if (offset >= 20 && offset < 52) {
      // A changed envelope hash makes the piece start a different envelope: both stay incomplete
      // until evicted, and nothing is delivered.
      t.is(r.pendingEnvelopes, 2);
    } else {
      t.true(['E_CHUNK_HEADER', 'E_CHUNK_MISMATCH'].includes(error?.code ?? ''), `offset ${offset}: ${error?.code}`);
    }
  }
});

test('reassembly memory is bounded: oversize envelopes are refused and old partials evicted', (t) => {
  const evicted: string[] = [];
  const r = new Reassembler({ maxInFlightBytes: 200_000, maxInFlightEnvelopes: 2, onEvict: (e) => evicted.push(e.code) });
  const big = splitForTransport(envelope(250_000), 16 * 1024);
  t.is(codeOf(() => r.push(big[0]!)), 'E_REASSEMBLY_LIMIT');
  const envs = [1, 2, 3].map((i) => splitForTransport(envelope(40_000 + i), 16 * 1024));
  for (const e of envs) r.push(e[0]!);
  t.is(r.pendingEnvelopes, 2);
  t.deepEqual(evicted, ['E_REASSEMBLY_LIMIT']);
  t.true(r.pendingBytes <= 200_000);
});

test('truncated pieces are E_CHUNK_HEADER, foreign ones E_BAD_MAGIC', (t) => {
  const m = splitForTransport(envelope(1000))[0]!;
  const r = new Reassembler();
  t.is(codeOf(() => r.push(m.subarray(0, 20))), 'E_CHUNK_HEADER');
  t.is(codeOf(() => r.push(m.subarray(0, TRANSPORT_HEADER_BYTES))), 'E_CHUNK_HEADER');
  t.is(codeOf(() => r.push(new Uint8Array(100))), 'E_BAD_MAGIC');
  t.is(codeOf(() => splitForTransport(new Uint8Array(10), 40)), 'E_BAD_ARGUMENT');
});
