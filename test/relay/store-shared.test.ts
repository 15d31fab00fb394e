/**
 * Two store workers on one shared store directory (the NATS scale-out, docs/SCALING.md): what one
 * files or evicts shows in the other's listing (OpaqueStore.rescan, called by the history API on
 * every listing) without a restart, and a file listed by a rescan is never listed twice.
 */
import test from 'ava';
import { readdir, rm } from 'node:fs/promises';
import { toHex } from '../../src/protocol/index.js';
import { join } from 'node:path';
import { OpaqueStore } from '../../src/relay/store.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/relay.js';

test("a worker's listing shows what another worker on the same store filed and evicted", async (t) => {
  const dir = await tempDir('store-shared');
  const h = household('store-shared');
  const cam = toHex(h.camera.id);
  const envs = Array.from({ length: 6 }, (_, i) => h.sealer.seal({ kind: 'media', captureTime: T0 + i * 2000, durationMs: 2000, payload: bytesOf(`segment ${i}`.padEnd(1000, '.')) }));
  try {
    const a = await OpaqueStore.open(dir);
    const b = await OpaqueStore.open(dir);
    for (const env of envs.slice(0, 3)) await a.putSegment('home', cam, env);
    await a.putAnnouncement('home', cam, h.announcement, 0);
    t.deepEqual(b.list('home', cam), [], 'not yet looked at');
    await b.rescan('home');
    t.deepEqual(b.cameras('home'), [cam]);
    t.deepEqual(b.list('home', cam).map((s) => s.seq), [0, 1, 2], "b lists a's segments");
    t.deepEqual((await b.announcements('home', cam)).map((k) => k.epoch), [0]);
    t.deepEqual(await b.readSegment('home', cam, 1), envs[1]);
    t.is(b.usage('home').usedBytes, a.usage('home').usedBytes, 'the quota counts them too');

    // b files one itself while a rescan runs: listed once.
    await Promise.all([b.putSegment('home', cam, envs[3]!), b.rescan('home', cam)]);
    t.deepEqual(b.list('home', cam).map((s) => s.seq), [0, 1, 2, 3]);

    // a files more and evicts (its own copy of) segment 0; b sees both after its next rescan
    // (a directory is read again at most once a second).
    await a.putSegment('home', cam, envs[4]!);
    const segDir = join(dir, 'store', 'home', cam, 'seg');
    await rm(join(segDir, (await readdir(segDir)).sort()[0]!)); // seq 0, as a's retention would
    await new Promise((r) => setTimeout(r, 1100)); // the rescan bound (RESCAN_MIN_MS) itself, not a wait for a condition
    await b.rescan('home', cam);
    t.deepEqual(b.list('home', cam).map((s) => s.seq), [1, 2, 3, 4], 'b drops the file gone from disk and lists the new one');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
