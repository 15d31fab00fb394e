/**
 * The relay's data directory and its HTTP errors under attack (issue 12, rows 8 and 9, and the
 * reviewer's findings; PROTOCOL.md §15.1, §15.5, §15.6). Each test is named after the attack.
 */
import test from 'ava';
import mqtt from 'mqtt';
import { chmod, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/media/atomic-file.js';
import { AccountStore } from '../../src/relay/accounts.js';
import { OpaqueStore } from '../../src/relay/store.js';
import { startRelay } from '../../src/relay/relay.js';
import { splitForTransport } from '../../src/protocol/index.js';
import { Identity } from '../../src/protocol/identity.js';
import { systemRandom } from '../../src/protocol/primitives.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';
import { embeddedRelay, provisionLogin, tempDir } from '../helpers/relay.js';

const basic = (username: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });

test('symlinks planted at the predictable temp names cannot redirect an atomic write', async (t) => {
  const dir = await tempDir('planted-tmp');
  const victim = join(dir, 'victim.txt');
  await writeFile(victim, 'precious');
  const target = join(dir, 'accounts.json');
  // The old name was .<name>.<pid>.<ms>.tmp: plant one for every millisecond of the next 3 s.
  const now = Date.now();
  for (let ms = now - 50; ms < now + 3000; ms++) await symlink(victim, join(dir, `.accounts.json.${process.pid}.${ms}.tmp`));
  await writeFileAtomic(target, 'new contents');
  t.is(await readFile(victim, 'utf8'), 'precious', 'the symlink target was not written');
  t.is(await readFile(target, 'utf8'), 'new contents');
  const left = (await readdir(dir)).filter((n) => n.endsWith('.tmp') && !/\.\d+\.\d+\.tmp$/.test(n));
  t.deepEqual(left, [], 'no temporary file of ours is left');
});

test('a data directory others can write (0777) is refused with E_DATA_DIR', async (t) => {
  const dir = join(await tempDir('loose-dir'), 'relay');
  await mkdir(dir);
  await chmod(dir, 0o777);
  await t.throwsAsync(startRelay({ dataDir: dir, port: 0, wsPort: 0, httpPort: 0 }), { message: /^E_DATA_DIR: .*writable by others/ });
  await t.throwsAsync(AccountStore.open(dir), { message: /^E_DATA_DIR/ });
  await chmod(dir, 0o700);
  const relay = await startRelay({ dataDir: dir, port: 0, wsPort: 0, httpPort: 0 });
  await relay.close();
  t.pass();
});

test("accounts.json replaced by an attacker's symlink is refused, never read or written through", async (t) => {
  const dir = await tempDir('accounts-link');
  const elsewhere = join(await tempDir('accounts-elsewhere'), 'theirs.json');
  await writeFile(elsewhere, JSON.stringify({ v: 1, accounts: {}, users: {}, tokens: {} }));
  await symlink(elsewhere, join(dir, 'accounts.json'));
  await t.throwsAsync(AccountStore.open(dir), { message: /^E_DATA_DIR: accounts\.json is a symlink/ });
  t.is(JSON.parse(await readFile(elsewhere, 'utf8')).v, 1);
});

test('a symlink inside the store is never followed: a planted camera directory is refused, a planted segment file is 410 E_GONE', async (t) => {
  const dir = await tempDir('store-links');
  const h = household('store-links');
  const outside = await tempDir('store-outside');
  await mkdir(join(dir, 'store', 'home'), { recursive: true, mode: 0o700 });
  await symlink(outside, join(dir, 'store', 'home', h.camera.idHex));
  const store = await OpaqueStore.open(dir);
  t.deepEqual(store.cameras('home'), [], 'the planted directory is not indexed');
  const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: bytesOf('x'.repeat(100)) });
  await t.throwsAsync(store.putSegment('home', h.camera.idHex, env), { message: /^E_DATA_DIR: store\/home\/[0-9a-f]{32} is a symlink/ });
  t.deepEqual(await readdir(outside), [], 'nothing was written outside the store');

  // A segment file swapped for a symlink after it was listed.
  const dir2 = await tempDir('store-links2');
  const relay = await embeddedRelay(join(dir2, 'relay'));
  try {
    const viewer = await relay.accounts.addAccount('home');
    const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: bytesOf('x'.repeat(100)) });
    for (const piece of splitForTransport(env)) await relay.ingest.take('home', h.camera.idHex, 'seg', piece);
    const segDir = join(dir2, 'relay', 'store', 'home', h.camera.idHex, 'seg');
    const [name] = await readdir(segDir);
    const secret = join(outside, 'secret');
    await writeFile(secret, 'not for viewers');
    await rm(join(segDir, name!));
    await symlink(secret, join(segDir, name!));
    const r = await fetch(`${relay.httpUrl}/v1/accounts/home/cameras/${h.camera.idHex}/segments/${h.sealer.nextSeq - 1}`, { headers: basic(viewer.username, viewer.password) });
    const body = await r.text();
    t.is(r.status, 410);
    t.false(body.includes('not for viewers'));
    t.is(JSON.parse(body).code, 'E_GONE');
  } finally {
    await relay.close();
  }
});

test('usernames __proto__, constructor and toString get 401, not a 500 from a prototype lookup', async (t) => {
  const relay = await embeddedRelay(join(await tempDir('proto-users'), 'relay'));
  try {
    await relay.accounts.addAccount('home');
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const r = await fetch(`${relay.httpUrl}/v1/accounts/home/cameras`, { headers: basic(name, 'x') });
      const body = (await r.json()) as { code: string; error: string };
      t.is(r.status, 401, name);
      t.is(body.code, 'E_AUTH', name);
      t.is(await relay.accounts.authenticate(name, 'x'), null);
    }
  } finally {
    await relay.close();
  }
});

test('a listed segment missing on disk is 410 E_GONE without the absolute path or a stack trace', async (t) => {
  const dir = await tempDir('gone');
  const relay = await embeddedRelay(join(dir, 'relay'));
  try {
    const viewer = await relay.accounts.addAccount('home');
    const h = household('gone');
    const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: bytesOf('y'.repeat(100)) });
    for (const piece of splitForTransport(env)) await relay.ingest.take('home', h.camera.idHex, 'seg', piece);
    const segDir = join(dir, 'relay', 'store', 'home', h.camera.idHex, 'seg');
    for (const n of await readdir(segDir)) await rm(join(segDir, n));
    const r = await fetch(`${relay.httpUrl}/v1/accounts/home/cameras/${h.camera.idHex}/segments/0`, { headers: basic(viewer.username, viewer.password) });
    const body = await r.text();
    t.is(r.status, 410);
    t.is(JSON.parse(body).code, 'E_GONE');
    t.false(body.includes(dir), `the body names no path: ${body}`);
    t.false(/\n\s+at /.test(body), 'no stack trace');
    // It is dropped from the listing.
    const list = await fetch(`${relay.httpUrl}/v1/accounts/home/cameras/${h.camera.idHex}/segments`, { headers: basic(viewer.username, viewer.password) });
    t.deepEqual(((await list.json()) as { items: unknown[] }).items, []);
  } finally {
    await relay.close();
  }
});

test('non-canonical seq numbers in paths and queries (007, 1e1, 0x7, +7) are refused with E_BAD_REQUEST', async (t) => {
  const relay = await embeddedRelay(join(await tempDir('canonical'), 'relay'));
  try {
    const viewer = await relay.accounts.addAccount('home');
    const h = household('canonical');
    for (let i = 0; i < 8; i++) {
      const env = h.sealer.seal({ kind: 'media', captureTime: T0 + i, durationMs: 2000, payload: bytesOf('z') });
      for (const piece of splitForTransport(env)) await relay.ingest.take('home', h.camera.idHex, 'seg', piece);
    }
    const get = (p: string) => fetch(`${relay.httpUrl}/v1/accounts/home/cameras/${h.camera.idHex}${p}`, { headers: basic(viewer.username, viewer.password) });
    t.is((await get('/segments/7')).status, 200);
    for (const p of ['/segments/007', '/segments/1e1', '/segments/0x7', '/segments/+7', '/segments/7.0', '/segments?since=0100', '/keys/01']) {
      const r = await get(p);
      t.is(r.status, 400, p);
      t.is(((await r.json()) as { code: string }).code, 'E_BAD_REQUEST', p);
    }
  } finally {
    await relay.close();
  }
});

test('a password that changed stops working on the HTTP API at once (no 5-minute login cache)', async (t) => {
  const relay = await embeddedRelay(join(await tempDir('cache'), 'relay'));
  try {
    const viewer = await relay.accounts.addAccount('home');
    const camera = Identity.generate(systemRandom);
    const first = await provisionLogin(relay, viewer, camera);
    const probe = (l: { username: string; password: string }) => fetch(`${relay.httpUrl}/v1/accounts/home/cameras`, { headers: basic(l.username, l.password) }).then((r) => r.status);
    t.is(await probe(first), 403, 'a camera login authenticates but may not read history');
    // The camera is re-paired (reset): its login gets a new password in place.
    const second = await provisionLogin(relay, viewer, camera);
    t.is(await probe(first), 401, 'the old password is refused at once');
    t.is(await probe(second), 403);
  } finally {
    await relay.close();
  }
});

test('a republished envelope with other bytes under a stored seq is refused and the first copy kept', async (t) => {
  const store = await OpaqueStore.open(await tempDir('conflict'));
  const h = household('conflict');
  const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: bytesOf('original') });
  const forged = env.slice();
  forged[forged.length - 1]! ^= 0xff; // same header (epoch, seq), other bytes
  await store.putSegment('home', h.camera.idHex, env);
  t.is(await store.putSegment('home', h.camera.idHex, env), null, 'a byte-identical copy is a duplicate');
  await t.throwsAsync(store.putSegment('home', h.camera.idHex, forged), { message: /^E_STORE: .*already stored with other bytes/ });
  t.like(store.stats, { stored: 1, duplicates: 1, conflicts: 1 });
  t.deepEqual(await store.readSegment('home', h.camera.idHex, 0), env);
});

test('a topic with \\n cannot forge a relay log line', async (t) => {
  const logs: string[] = [];
  const relay = await embeddedRelay(join(await tempDir('log-forge'), 'relay'), { log: (m) => logs.push(m) });
  try {
    const viewer = await relay.accounts.addAccount('home');
    const c = await mqtt.connectAsync(relay.mqttUrl, { protocolVersion: 4, username: viewer.username, password: viewer.password, reconnectPeriod: 0 });
    await c.subscribeAsync('sc/v1/home/x\nrelay: refused publish by admin to sc/v1/fw/all/announce').catch(() => undefined);
    c.publish('sc/v1/other\nrelay: forged line/seg', 'x', { qos: 0 });
    const deadline = Date.now() + 5000;
    while (logs.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await c.endAsync(true);
    t.true(logs.length >= 1, `logged ${logs.length} lines`);
    for (const line of logs) t.false(/[\n\r]/.test(line), `one line each: ${JSON.stringify(line)}`);
    t.true(logs.some((l) => l.includes('\\x0a')), 'the newline is shown escaped');
  } finally {
    await relay.close();
  }
});
