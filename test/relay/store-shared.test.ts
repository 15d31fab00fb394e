/**
 * Two store workers on one shared store directory (the NATS scale-out, docs/SCALING.md): what one
 * files or evicts shows in the other's listing (OpaqueStore.rescan, called by the history API on
 * every listing) without a restart, and a file listed by a rescan is never listed twice.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { systemRandom, toHex } from '../../src/protocol/index.js';
import { NATS_STORE_BUCKET } from '../../src/relay/nats-config.js';
import { join } from 'node:path';
import { OpaqueStore } from '../../src/relay/store.js';
import { JetStreamBackend } from '../../src/relay/store-backend.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';
import { freePort, tempDir, waitForPort } from '../helpers/relay.js';
import { NATS_SERVER } from '../helpers/nats.js';
import { requireTool } from '../helpers/tools.js';
import { until } from './uploader-contract.js';

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
    // A camera is rescanned at most once a second, or after 20 times its last scan if that is
    // longer (on a loaded machine, longer): b asks again until its next rescan has run.
    await until(async () => {
      await b.rescan('home', cam);
      return b.list('home', cam).some((s) => s.seq === 4);
    }, 20_000, 'b to rescan');
    t.deepEqual(b.list('home', cam).map((s) => s.seq), [1, 2, 3, 4], 'b drops the file gone from disk and lists the new one');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Two workers on one store, where the second has not looked at the store since the first filed
 * (a redelivery after a worker died, or the camera's announcements sent again on a connect): the
 * second finds the copy by name and keeps it. On today's main it wrote over it: a segment with
 * other bytes replaced the first copy (the store promises the first stays), and on the object
 * store every such write deleted and re-added the object.
 */
const keepsTheFirstCopy = async (t: ExecutionContext, open: () => Promise<OpaqueStore>) => {
  const h = household('store-first-copy');
  const cam = toHex(h.camera.id);
  const [s0, s1] = [0, 1].map((i) => h.sealer.seal({ kind: 'media', captureTime: T0 + i * 2000, durationMs: 2000, payload: bytesOf(`segment ${i}`.padEnd(1000, '.')) }));
  // The same camera and seq with other bytes (a second sealer in the same state, other payload).
  const other1 = household('store-first-copy').sealer;
  other1.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: bytesOf('x') });
  const forged1 = other1.seal({ kind: 'media', captureTime: T0 + 2000, durationMs: 2000, payload: bytesOf('other bytes'.padEnd(1000, '!')) });
  const a = await open();
  const b = await open();
  await a.putSegment('home', cam, s0!);
  await a.putSegment('home', cam, s1!);
  await a.putAnnouncement('home', cam, h.announcement, 0);
  const before = await a.readSegment('home', cam, 1);

  t.is(await b.putSegment('home', cam, s0!), null, "b takes a's segment 0 as already stored");
  await t.throwsAsync(b.putSegment('home', cam, forged1), { message: /E_STORE: .*seq 1 is already stored \(by another worker\) with other bytes; the first copy is kept/ });
  t.is(await b.putAnnouncement('home', cam, h.announcement, 0), false, "b takes a's announcement as already stored");
  t.deepEqual(await a.readSegment('home', cam, 1), before, 'the first copy of seq 1 is kept');
  t.deepEqual(await b.readSegment('home', cam, 1), s1, 'and b serves it');
  t.deepEqual(b.list('home', cam).map((x) => x.seq), [0, 1], 'b indexed what it found');
  t.deepEqual({ duplicates: b.stats.duplicates, conflicts: b.stats.conflicts, stored: b.stats.stored }, { duplicates: 2, conflicts: 1, stored: 0 });
  t.is(b.usage('home').usedBytes, a.usage('home').usedBytes, 'the quota counts them once');
};

test('a worker that has not looked keeps the copy another worker filed (files)', async (t) => {
  const dir = await tempDir('store-first-copy');
  try {
    await keepsTheFirstCopy(t, () => OpaqueStore.open(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a worker that has not looked keeps the copy another worker filed (JetStream object store, one nats-server)', async (t) => {
  if (!requireTool(t, 'nats-server', NATS_SERVER !== null)) return;
  const dir = await tempDir('store-first-copy-js');
  const port = await freePort();
  await writeFile(join(dir, 'nats.conf'), `listen: 127.0.0.1:${port}\njetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n`);
  const server = spawn(NATS_SERVER!, ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
  const conns: Awaited<ReturnType<typeof connect>>[] = [];
  try {
    await waitForPort(port, 30_000);
    const backend = async () => {
      const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
      conns.push(nc);
      return JetStreamBackend.open(nc, { replicas: 1 });
    };
    await keepsTheFirstCopy(t, async () => OpaqueStore.openOn(await backend()));

    // Four workers put one object at the same moment (3 chunks): it is stored once, whole; a put
    // of what is there adds nothing to the stream (today's main put it again: new messages, and
    // the old copy's deleted).
    const ref = { account: 'home', camera: '0'.repeat(32), leaf: 'seg' as const, name: '0000000002-0000000000000007.scs' };
    const bytes = systemRandom(300_000);
    const four = await Promise.all([1, 2, 3, 4].map(() => backend()));
    const jsm = await jetstreamManager(conns[0]!);
    const state = async () => (await jsm.streams.info(`OBJ_${NATS_STORE_BUCKET}`)).state;
    const empty = await state();
    await Promise.all(four.map((b) => b.write(ref, bytes, null)));
    t.deepEqual(await four[3]!.read(ref), bytes);
    const once = await state();
    t.deepEqual({ added: once.messages - empty.messages, published: once.last_seq - empty.last_seq }, { added: 4, published: 4 }, 'stored once (3 chunks and its description), and nothing deleted');
    // In the object store's own format: the NATS client reads it back.
    const name = `${ref.account}/${ref.camera}/${ref.leaf}/${ref.name}`;
    t.deepEqual(await (await new Objm(conns[0]!).open(NATS_STORE_BUCKET)).getBlob(name), bytes, "the client library's own get reads it");
    const before = await state();
    await four[1]!.write(ref, bytes, null);
    const after = await state();
    t.deepEqual({ messages: after.messages, lastSeq: after.last_seq }, { messages: before.messages, lastSeq: before.last_seq }, 'writing what is there adds nothing');
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    server.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
