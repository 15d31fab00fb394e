import test from 'ava';
import { readdir, utimes, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OpaqueStore } from '../../src/relay/store.js';
import { Ingest } from '../../src/relay/ingest.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/relay.js';
import { receiptId, splitForTransport, toHex, type Receipt } from '../../src/protocol/index.js';

const seal = (h: ReturnType<typeof household>, n: number) => Array.from({ length: n }, (_, i) => h.sealer.seal({ kind: 'media', captureTime: T0 + i * 2000, durationMs: 2000, payload: bytesOf(`segment ${i}`.padEnd(1000, '.')) }));

test('retention by bytes drops the oldest segments; the index survives a restart and ignores crash leftovers', async (t) => {
  const h = household('store-retention');
  const cam = h.camera.idHex;
  const dir = await tempDir('store');
  const store = await OpaqueStore.open(dir, { maxBytes: 5 * 1300 });
  for (const env of seal(h, 8)) await store.putSegment('home', cam, env);
  const kept = store.list('home', cam).map((s) => s.seq);
  t.true(kept.length <= 5);
  t.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => 8 - kept.length + i));
  t.is(store.stats.evicted, 8 - kept.length);
  // A crash mid-write leaves a dot-file; a restart never lists it and cleans it up once it is stale
  // (an hour old here). A fresh one may be another worker's write in progress on a shared store: kept.
  const segDir = join(dir, 'store', 'home', cam, 'seg');
  const stale = join(segDir, '.0000000001-0000000000000099.scs.123.tmp');
  const fresh = join(segDir, '.0000000001-0000000000000098.scs.456.tmp');
  await writeFile(stale, 'half');
  await utimes(stale, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
  await writeFile(fresh, 'being written');
  const again = await OpaqueStore.open(dir, { maxBytes: 5 * 1300 });
  t.deepEqual(again.list('home', cam).map((s) => s.seq), kept);
  t.deepEqual((await readdir(segDir)).filter((f) => f.startsWith('.')), ['.0000000001-0000000000000098.scs.456.tmp']);
  t.deepEqual(await again.readSegment('home', cam, kept[0]!), (await store.readSegment('home', cam, kept[0]!))!);
});

test('retention by age, duplicates ignored, foreign or junk envelopes refused', async (t) => {
  const h = household('store-age');
  const other = household('store-other');
  const cam = h.camera.idHex;
  const dir = await tempDir('store-age');
  await mkdir(dir, { recursive: true });
  const store = await OpaqueStore.open(dir, { maxAgeMs: 10_000 });
  const [a, b] = seal(h, 2);
  await store.putSegment('home', cam, a!, 1_000);
  t.is(await store.putSegment('home', cam, a!, 1_000), null);
  t.is(store.stats.duplicates, 1);
  await store.putSegment('home', cam, b!, 20_000); // a is now 19 s old
  t.deepEqual(store.list('home', cam).map((s) => s.seq), [1]);
  await t.throwsAsync(store.putSegment('home', cam, bytesOf('junk')), { message: /E_STORE/ });
  await t.throwsAsync(store.putSegment('home', cam, seal(other, 1)[0]!), { message: /E_STORE: envelope names camera/ });
  t.is(store.stats.rejected, 2);
});

test('ingest: announcements are filed by camera and epoch, a foreign or short one is refused, a zero-length one (clearing a retained topic) is ignored', async (t) => {
  const h = household('ingest-keys');
  const cam = h.camera.idHex;
  const store = await OpaqueStore.open(await tempDir('ingest'));
  const logged: string[] = [];
  const ingest = new Ingest(store, (m) => logged.push(m));
  await ingest.take('home', cam, 'keys', h.announcement);
  await ingest.take('home', '0'.repeat(32), 'keys', h.announcement);
  await ingest.take('home', cam, 'keys', h.announcement.subarray(0, 20));
  t.is(logged.length, 2);
  await ingest.take('home', cam, 'keys', new Uint8Array(0));
  t.like(ingest.stats, { announcements: 1, refused: 2 });
  t.is(logged.length, 2, 'nothing logged for the empty message');
  t.deepEqual((await store.announcements('home', cam)).map((a) => a.epoch), [1]);
});

test('ingest: the storage receipt (§10.5) of each complete message: stored, already stored, refused with its code; none for a piece', async (t) => {
  const h = household('ingest-receipts');
  const cam = h.camera.idHex;
  const store = await OpaqueStore.open(await tempDir('ingest-receipts'), { accountQuotaBytes: 200_000 });
  const ingest = new Ingest(store);
  const brief = (r: Receipt | null) => r && { channel: r.channel, outcome: r.outcome, id: toHex(r.id), code: r.code };
  t.deepEqual(brief(await ingest.take('home', cam, 'keys', h.announcement)), { channel: 'keys', outcome: 'stored', id: toHex(receiptId(h.announcement)), code: null });
  t.deepEqual(brief(await ingest.take('home', cam, 'keys', h.announcement)), { channel: 'keys', outcome: 'duplicate', id: toHex(receiptId(h.announcement)), code: null });
  t.deepEqual(brief(await ingest.take('home', '0'.repeat(32), 'keys', h.announcement)), { channel: 'keys', outcome: 'refused', id: toHex(receiptId(h.announcement)), code: 'E_STORE' });
  const [env] = seal(h, 1);
  const pieces = splitForTransport(env!, 400);
  t.true(pieces.length >= 3);
  for (const p of pieces.slice(0, -1)) t.is(await ingest.take('home', cam, 'seg', p), null, 'a piece that completes nothing');
  const id = toHex(receiptId(env!));
  t.deepEqual(brief(await ingest.take('home', cam, 'seg', pieces.at(-1)!)), { channel: 'seg', outcome: 'stored', id, code: null });
  t.deepEqual(brief(await ingest.take('home', cam, 'seg', splitForTransport(env!)[0]!)), { channel: 'seg', outcome: 'duplicate', id, code: null });
  // Over the account's quota: refused whole, with the code the camera logs.
  const big = h.sealer.seal({ kind: 'media', captureTime: T0 + 9000, durationMs: 2000, payload: new Uint8Array(300_000) });
  t.deepEqual(brief(await ingest.take('home', cam, 'seg', splitForTransport(big, 1 << 20)[0]!)), { channel: 'seg', outcome: 'refused', id: toHex(receiptId(big)), code: 'E_QUOTA' });
  t.is(await ingest.take('home', cam, 'seg', bytesOf('not a transport piece')), null, 'a piece reassembly refuses gets none (the camera sends again)');
});
