/**
 * Over 10^6 sealed segments across simulated camera restarts, no (key, nonce) pair repeats —
 * including on a board whose random generator repeats itself after every boot, and on one whose
 * persisted seq counter was rolled back. This is why the nonce is random(12) || seq(8) || index(4)
 * (PROTOCOL.md §6.2): either half alone keeps pairs unique.
 */
import test from 'ava';
import { CameraEpochs, Identity, SegmentSealer, openRoster, signRoster, toHex, type RandomSource } from '../../src/protocol/index.js';
import { T0, seededRandom } from '../helpers/fixtures.js';
import { randomBytes } from 'node:crypto';

const payload = new Uint8Array(16);
/** offset of the segment nonce in a live chunk message (§7.1) */
const LIVE_NONCE_AT = 48;

/** The same bytes for the first `n` draws after every boot, fresh entropy after that. */
function repeatsFirstDraws(n: number, label: string): RandomSource {
  const boot = seededRandom(label);
  let draws = 0;
  return (length) => (draws++ < n ? boot(length) : new Uint8Array(randomBytes(length)));
}

interface Boot {
  random: RandomSource;
  lastEpoch: number;
  nextSeq: number;
}

/** Seal `perBoot` segments for each boot; return how many (key, nonce) pairs were seen and how many repeated. */
function run(camera: Identity, owner: Identity, boots: Boot[], perBoot: number, seen: Set<string>) {
  const roster = openRoster(signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: T0, viewers: [owner.public] }), owner.signPublicKey);
  let sealed = 0;
  let repeats = 0;
  const keyIds = new Map<string, number>();
  for (const boot of boots) {
    const epochs = new CameraEpochs(camera, boot.random, boot.lastEpoch);
    epochs.rotate(roster, T0);
    const keyHex = toHex(epochs.epoch.key);
    const keyId = keyIds.get(keyHex) ?? keyIds.size;
    keyIds.set(keyHex, keyId);
    const sealer = new SegmentSealer(camera, epochs, boot.random, boot.nextSeq);
    for (let i = 0; i < perBoot; i++) {
      // The real sealer draws the nonce at begin() and encrypts chunk 0 under it. The live chunk
      // carries that nonce (PROTOCOL.md §7.1); signing the envelope (finish) does not touch it, so
      // the test skips it and runs in a tenth of the time.
      const w = sealer.begin({ kind: 'media', captureTime: T0 + i });
      const live = w.addChunk(payload, { last: true });
      w.abort();
      // Single-chunk segment: the chunk nonce is the segment nonce with index 0 (§6.2).
      const pair = `${keyId}:${toHex(live.subarray(LIVE_NONCE_AT, LIVE_NONCE_AT + 24))}`;
      if (seen.has(pair)) repeats++;
      seen.add(pair);
      sealed++;
    }
  }
  return { sealed, repeats, distinctKeys: keyIds.size };
}

test('no (key, nonce) pair repeats over 1.1 million segments and 20 simulated restarts', (t) => {
  const camera = Identity.generate(seededRandom('nonce-camera'));
  const owner = Identity.generate(seededRandom('nonce-owner'));
  const seen = new Set<string>();

  // A: a board whose RNG restarts from the same state at every boot, so the epoch key and the
  // random nonce bytes repeat; the persisted seq keeps nonces apart.
  const perBootA = 60_000;
  const bootsA: Boot[] = Array.from({ length: 10 }, (_, k) => ({ random: seededRandom('same-every-boot'), lastEpoch: 0, nextSeq: k * perBootA }));
  const a = run(camera, owner, bootsA, perBootA, seen);
  t.is(a.distinctKeys, 1, 'scenario A really reuses one epoch key across boots');

  // B: a seq counter restored from a stale backup (each boot starts 30,000 segments before where
  // the last one ended) on a board whose RNG repeats its first outputs after boot (so the epoch
  // key repeats) and only gains fresh entropy afterwards. The random nonce bytes keep pairs apart.
  const perBootB = 50_000;
  const bootsB: Boot[] = Array.from({ length: 10 }, (_, k) => ({ random: repeatsFirstDraws(3, 'stale-boot'), lastEpoch: 0, nextSeq: 10_000_000 + k * (perBootB - 30_000) }));
  const b = run(camera, owner, bootsB, perBootB, seen);
  t.is(b.distinctKeys, 1, 'scenario B really reuses one epoch key across boots');

  t.is(a.sealed + b.sealed, 1_100_000);
  t.true(a.sealed + b.sealed > 1_000_000);
  t.is(a.repeats, 0);
  t.is(b.repeats, 0);
  t.is(seen.size, 1_100_000);
});
