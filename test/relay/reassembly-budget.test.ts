/**
 * Unfinished reassemblies are bounded per account and for the whole relay (issue 12 row 4;
 * bench:abuse found one account's 4 camera logins holding 256 MiB of envelopes that never
 * complete, relay RSS 417 MB). An account's cameras share one budget, and when the relay's budget
 * is reached the account holding the most gives way, so another tenant's upload still completes.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { splitForTransport, toHex } from '../../src/protocol/index.js';
import { Ingest } from '../../src/relay/ingest.js';
import { OpaqueStore } from '../../src/relay/store.js';
import { household, T0 } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/relay.js';

const MiB = 1024 * 1024;
/** The first 64 KiB piece of an envelope of `bytes` random bytes: it reserves `bytes` and never completes. */
const firstPiece = (bytes: number) => splitForTransport(new Uint8Array(randomBytes(bytes)), 64 * 1024)[0]!;

test('one account\'s cameras share one budget for unfinished envelopes; at the relay\'s budget the biggest holder gives way', async (t) => {
  const store = await OpaqueStore.open(join(await tempDir('reassembly-budget'), 'store'));
  const ingest = new Ingest(store, () => undefined, { maxAccountInFlightBytes: 8 * MiB, maxTotalInFlightBytes: 12 * MiB });
  // Mallory: 4 camera logins, each starting three 3 MiB envelopes it never finishes (36 MiB asked for).
  for (let cam = 0; cam < 4; cam++) {
    for (let k = 0; k < 3; k++) await ingest.take('mallory', `${'0'.repeat(31)}${cam}`, 'seg', firstPiece(3 * MiB));
  }
  t.true(ingest.reassemblyBytes <= 8 * MiB, `mallory holds ${ingest.reassemblyBytes} bytes (account budget ${8 * MiB})`);

  // Bob's camera: 2 MiB of unfinished work of its own, then a real envelope; the relay's 12 MiB
  // are reached, and it is mallory's oldest envelopes that go.
  const h = household('reassembly-bob');
  const cam = toHex(h.camera.id);
  await ingest.take('bob', cam, 'seg', firstPiece(2 * MiB));
  const envelope = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: new Uint8Array(randomBytes(3 * MiB)) });
  for (const piece of splitForTransport(envelope, 64 * 1024)) await ingest.take('bob', cam, 'seg', piece);
  t.deepEqual(await store.readSegment('bob', cam, 0), envelope, "bob's envelope completed and was filed");
  t.true(ingest.reassemblyBytes <= 12 * MiB, `the relay holds ${ingest.reassemblyBytes} bytes (budget ${12 * MiB})`);
  t.is(ingest.stats.envelopes, 1);
});
