/**
 * Storage receipts (PROTOCOL.md §10.5): the byte layout as fixed vectors, every way a receipt can
 * be malformed with its stable code, and fuzzing: the parser throws nothing but SealcamError, and
 * a mutated receipt never parses to a different confirmation than the one encoded.
 */
import test from 'ava';
import fc from 'fast-check';
import { SealcamError, decodeReceipt, encodeReceipt, fromHex, receiptId, splitForTransport, toHex, decodeTransportChunk, type Receipt } from '../../src/protocol/index.js';

const ID = fromHex('00112233445566778899aabbccddeeff'.repeat(2));

test('vectors: the layout of a stored, an already-stored and a refused receipt', (t) => {
  t.is(toHex(encodeReceipt({ channel: 'seg', outcome: 'stored', id: ID, code: null })), `5343413101010000${toHex(ID)}`);
  t.is(toHex(encodeReceipt({ channel: 'keys', outcome: 'duplicate', id: ID, code: null })), `5343413101020100${toHex(ID)}`);
  t.is(toHex(encodeReceipt({ channel: 'seg', outcome: 'refused', id: ID, code: 'E_QUOTA' })), `5343413101010207${toHex(ID)}${toHex(new TextEncoder().encode('E_QUOTA'))}`);
  const r: Receipt = { channel: 'seg', outcome: 'refused', id: ID, code: 'E_STORE' };
  t.deepEqual(decodeReceipt(encodeReceipt(r)), r);
});

test("an envelope's receipt id is its transport pieces' envelopeHash (§10.1), so a camera reads it from what it sent", (t) => {
  const envelope = new Uint8Array(300_000).map((_, i) => i * 7);
  const pieces = splitForTransport(envelope, 128 * 1024);
  t.is(pieces.length, 3);
  for (const p of pieces) t.deepEqual(decodeTransportChunk(p).envelopeHash, receiptId(envelope));
});

test('malformed receipts: each gives its stable code', (t) => {
  const good = encodeReceipt({ channel: 'seg', outcome: 'stored', id: ID, code: null });
  const refused = encodeReceipt({ channel: 'seg', outcome: 'refused', id: ID, code: 'E_QUOTA' });
  const set = (b: Uint8Array, at: number, v: number) => {
    const c = b.slice();
    c[at] = v;
    return c;
  };
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'E_BAD_MAGIC'],
    ['another magic (a roster)', set(good, 2, 0x52), 'E_BAD_MAGIC'],
    ['version 2', set(good, 4, 2), 'E_UNSUPPORTED_VERSION'],
    ['channel 0', set(good, 5, 0), 'E_MALFORMED'],
    ['channel 3', set(good, 5, 3), 'E_MALFORMED'],
    ['outcome 3', set(good, 6, 3), 'E_MALFORMED'],
    ['truncated id', good.subarray(0, 39), 'E_MALFORMED'],
    ['a trailing byte', new Uint8Array([...good, 0]), 'E_MALFORMED'],
    ['codeLength 33', set(good, 7, 33), 'E_MALFORMED'],
    ['a code on a stored receipt', set(refused, 6, 0), 'E_MALFORMED'],
    ['a refusal without a code', set(good, 6, 2), 'E_MALFORMED'],
    ['a code that is not an error code', set(refused, 40, 0x61), 'E_MALFORMED'],
    ['codeLength longer than the message', set(refused, 7, 8), 'E_MALFORMED'],
  ];
  for (const [what, bytes, code] of cases) {
    const e = t.throws(() => decodeReceipt(bytes), undefined, what);
    t.true(SealcamError.is(e, code as never), `${what}: expected ${code}, got ${(e as Error).message}`);
  }
});

test('fuzz: any bytes give a receipt or a SealcamError; a mutated receipt never confirms something else', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
      try {
        const r = decodeReceipt(bytes);
        return encodeReceipt(r).length === bytes.length; // what parses re-encodes to the same length
      } catch (e) {
        return SealcamError.is(e);
      }
    }),
    { numRuns: 2000 },
  );
  const good = encodeReceipt({ channel: 'seg', outcome: 'stored', id: ID, code: null });
  fc.assert(
    fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const b = good.slice();
      b[at]! ^= x;
      try {
        const r = decodeReceipt(b);
        // Parsed: only the id or a still-valid channel/outcome byte changed, and it says so.
        return toHex(encodeReceipt(r)) === toHex(b);
      } catch (e) {
        return SealcamError.is(e);
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
