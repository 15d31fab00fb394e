/**
 * Hostile tenants against the relay's store, accounts and HTTP API (issue 12, rows 1, 2 and 6;
 * PROTOCOL.md §15.5, §15.6). Each test is named after the attack and asserts on what the relay
 * stored, refused and answered, never on speed.
 */
import test from 'ava';
import { join } from 'node:path';
import { OpaqueStore } from '../../src/relay/store.js';
import { splitForTransport } from '../../src/protocol/index.js';
import { Identity } from '../../src/protocol/identity.js';
import { systemRandom } from '../../src/protocol/primitives.js';
import type { Relay } from '../../src/relay/relay.js';
import { T0, bytesOf, household, type Household } from '../helpers/fixtures.js';
import { embeddedRelay, provisionLogin, provisionRequestBody, tempDir } from '../helpers/relay.js';

const KiB = 1024;
const seal = (h: Household, n: number, size: number) => Array.from({ length: n }, (_, i) => h.sealer.seal({ kind: 'media', captureTime: T0 + i * 2000, durationMs: 2000, payload: bytesOf(`segment ${i}`.padEnd(size, '.')) }));
const basic = (l: { username: string; password: string }) => ({ authorization: `Basic ${Buffer.from(`${l.username}:${l.password}`).toString('base64')}` });

async function getJson(relay: Relay, login: { account: string; username: string; password: string }, path: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${relay.httpUrl}/v1/accounts/${login.account}${path}`, { headers: basic(login) });
  return { status: r.status, body: await r.json() };
}

/** An announcement as the relay files it: ≥ 28 bytes, camera id at 8..24, epoch at 24..28 (§11.1). */
function junkAnnouncement(cameraHex: string, epoch: number, size: number): Uint8Array {
  const b = Buffer.alloc(size, 0x55);
  b.write('SCK1', 0, 'ascii');
  Buffer.from(cameraHex, 'hex').copy(b, 8);
  b.writeUInt32BE(epoch, 24);
  return new Uint8Array(b);
}

async function upload(relay: Relay, account: string, h: Household, envelopes: Uint8Array[]): Promise<void> {
  for (const env of envelopes) for (const piece of splitForTransport(env)) await relay.ingest.take(account, h.camera.idHex, 'seg', piece);
}

test("a stranger's camera uploading junk with valid headers evicts only its own account's history, and over its quota it is refused with E_QUOTA its owner sees", async (t) => {
  const dir = await tempDir('tenants-quota');
  // Each account may hold 24 KiB; the whole store 64 KiB.
  const relay = await embeddedRelay(join(dir, 'relay'), { retention: { accountQuotaBytes: 24 * KiB, maxBytes: 64 * KiB } });
  try {
    const home = await relay.accounts.addAccount('home');
    const stranger = await relay.accounts.addAccount('stranger');
    const mine = household('tenants-home');
    const junk = household('tenants-junk');
    await upload(relay, 'home', mine, seal(mine, 4, 4 * KiB));
    const before = relay.store.list('home', mine.camera.idHex).map((s) => s.seq);
    t.deepEqual(before, [0, 1, 2, 3]);
    // 16 × 4 KiB of junk: four times the stranger's quota, more than the whole store.
    await upload(relay, 'stranger', junk, seal(junk, 16, 4 * KiB));
    t.deepEqual(relay.store.list('home', mine.camera.idHex).map((s) => s.seq), before, "home's history is untouched");
    const strangerUse = relay.store.usage('stranger');
    t.true(strangerUse.usedBytes <= 24 * KiB, `stranger uses ${strangerUse.usedBytes} bytes, quota ${24 * KiB}`);
    t.true(strangerUse.evictedSegments >= 10, `stranger evicted ${strangerUse.evictedSegments} of its own segments`);
    t.is(relay.store.usage('home').evictedSegments, 0);

    // One envelope bigger than the whole quota cannot fit even after evicting everything: refused.
    const [huge] = seal(junk, 1, 30 * KiB);
    await upload(relay, 'stranger', junk, [huge!]);
    t.is(relay.store.stats.refusedQuota, 1);
    const usage = await getJson(relay, stranger, '/usage');
    t.is(usage.status, 200);
    t.like(usage.body, { account: 'stranger', quotaBytes: 24 * KiB, status: 'E_QUOTA', refused: 1 });
    const cams = await getJson(relay, stranger, '/cameras');
    t.like(cams.body.find((c: { camera: string }) => c.camera === junk.camera.idHex), { status: 'E_QUOTA', refused: 1 });
    // The owner of home sees a healthy account.
    t.like((await getJson(relay, home, '/usage')).body, { status: 'ok', refused: 0, segments: 4 });
    // The next envelope that fits clears the camera's status (its counters stay).
    await upload(relay, 'stranger', junk, seal(junk, 1, 1 * KiB));
    t.like(relay.store.usage('stranger'), { status: 'ok', refused: 1 });
  } finally {
    await relay.close();
  }
});

test('200 junk announcements count toward the quota and are evicted like segments; GET …/keys is paged with a next cursor', async (t) => {
  const dir = await tempDir('tenants-keys');
  const relay = await embeddedRelay(join(dir, 'relay'), { retention: { accountQuotaBytes: 64 * KiB } });
  try {
    const viewer = await relay.accounts.addAccount('stranger');
    const cam = household('tenants-keys').camera.idHex;
    for (let epoch = 1; epoch <= 200; epoch++) await relay.ingest.take('stranger', cam, 'keys', junkAnnouncement(cam, epoch, 2 * KiB));
    const usage = relay.store.usage('stranger');
    t.true(usage.usedBytes <= 64 * KiB, `announcements use ${usage.usedBytes} bytes, quota ${64 * KiB}`);
    t.true(usage.evictedAnnouncements >= 160, `evicted ${usage.evictedAnnouncements}`);
    const kept = (await relay.store.announcements('stranger', cam)).map((a) => a.epoch);
    t.is(kept.at(-1), 200, 'the newest announcement is kept');
    // Paged: 10 at a time, following `next`, gives every kept epoch once, ascending.
    const seen: number[] = [];
    let after: number | null = null;
    let pages = 0;
    do {
      const r = await getJson(relay, viewer, `/cameras/${cam}/keys?limit=10${after === null ? '' : `&after=${after}`}`);
      t.is(r.status, 200);
      t.true(r.body.items.length <= 10);
      seen.push(...r.body.items.map((i: { epoch: number }) => i.epoch));
      after = r.body.next;
      pages++;
    } while (after !== null && pages < 100);
    t.deepEqual(seen, kept);
    t.is(pages, Math.ceil(kept.length / 10));
    // A page over the maximum, or a non-canonical cursor, is refused.
    for (const q of ['limit=1001', 'limit=0', 'after=007', 'after=1e2', 'after=-1']) {
      const r = await getJson(relay, viewer, `/cameras/${cam}/keys?${q}`);
      t.is(r.status, 400, q);
      t.is(r.body.code, 'E_BAD_REQUEST', q);
    }
  } finally {
    await relay.close();
  }
});

test('a long segment listing is paged: default and maximum page sizes, a next cursor, since/until still apply', async (t) => {
  const dir = await tempDir('tenants-pages');
  const relay = await embeddedRelay(join(dir, 'relay'));
  try {
    const viewer = await relay.accounts.addAccount('home');
    const h = household('tenants-pages');
    await upload(relay, 'home', h, seal(h, 7, 100));
    const all = await getJson(relay, viewer, `/cameras/${h.camera.idHex}/segments`);
    t.deepEqual(all.body, { items: all.body.items, next: null });
    t.deepEqual(all.body.items.map((s: { seq: number }) => s.seq), [0, 1, 2, 3, 4, 5, 6]);
    const p1 = await getJson(relay, viewer, `/cameras/${h.camera.idHex}/segments?limit=3`);
    t.deepEqual([p1.body.items.map((s: { seq: number }) => s.seq), p1.body.next], [[0, 1, 2], 2]);
    const p3 = await getJson(relay, viewer, `/cameras/${h.camera.idHex}/segments?limit=3&after=5`);
    t.deepEqual([p3.body.items.map((s: { seq: number }) => s.seq), p3.body.next], [[6], null]);
    const ranged = await getJson(relay, viewer, `/cameras/${h.camera.idHex}/segments?since=${T0 + 2000}&until=${T0 + 6000}&limit=2`);
    t.deepEqual([ranged.body.items.map((s: { seq: number }) => s.seq), ranged.body.next], [[1, 2], 2]);
  } finally {
    await relay.close();
  }
});

async function tokenFor(relay: Relay, viewer: { account: string; username: string; password: string }): Promise<string> {
  const r = await fetch(`${relay.httpUrl}/v1/accounts/${viewer.account}/provisioning-tokens`, { method: 'POST', headers: basic(viewer) });
  return ((await r.json()) as { token: string }).token;
}

async function provision(relay: Relay, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${relay.httpUrl}/v1/provision`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: r.status, body: await r.json() };
}

test("a provisioning token redeemed with another camera's id does not replace that camera's login", async (t) => {
  const relay = await embeddedRelay(join(await tempDir('tenants-steal'), 'relay'));
  try {
    const home = await relay.accounts.addAccount('home');
    const victim = Identity.generate(systemRandom);
    const victimLogin = await provisionLogin(relay, home, victim);
    // Someone who photographed the owner's next pairing code redeems it with the victim's id.
    const attacker = Identity.generate(systemRandom);
    const token = await tokenFor(relay, home);
    const forged = { ...provisionRequestBody(attacker, token), cameraId: victim.idHex };
    const r = await provision(relay, forged);
    t.is(r.status, 403);
    t.is(r.body.code, 'E_AUTH');
    // The same id with the old request shape (no proof at all).
    t.is((await provision(relay, { token, cameraId: victim.idHex })).status, 400);
    t.truthy(await relay.accounts.authenticate(victimLogin.username, victimLogin.password), "the victim's login still works");
  } finally {
    await relay.close();
  }
});

test('a malformed or rejected redemption does not burn the token; two concurrent redemptions of one token make one login', async (t) => {
  const relay = await embeddedRelay(join(await tempDir('tenants-burn'), 'relay'));
  try {
    const home = await relay.accounts.addAccount('home');
    const camera = Identity.generate(systemRandom);
    const token = await tokenFor(relay, home);
    const good = provisionRequestBody(camera, token);
    for (const bad of [{ ...good, cameraId: 'not-hex' }, { ...good, cameraId: 'ab'.repeat(16) }, { ...good, signature: '00'.repeat(64) }, { token }]) {
      const r = await provision(relay, bad);
      t.true(r.status === 400 || r.status === 403, `status ${r.status}`);
    }
    const [a, b] = await Promise.all([provision(relay, good), provision(relay, provisionRequestBody(Identity.generate(systemRandom), token))]);
    t.deepEqual([a.status, b.status].sort(), [200, 403], 'the good request still works, once');
  } finally {
    await relay.close();
  }
});

test('a refused redemption reveals nothing about which account owns a camera id', async (t) => {
  const relay = await embeddedRelay(join(await tempDir('tenants-oracle'), 'relay'));
  try {
    const home = await relay.accounts.addAccount('home');
    const stranger = await relay.accounts.addAccount('stranger');
    const camera = Identity.generate(systemRandom);
    await provisionLogin(relay, home, camera);
    const taken = await provision(relay, provisionRequestBody(camera, await tokenFor(relay, stranger)));
    const unknownToken = await provision(relay, provisionRequestBody(camera, 'A'.repeat(21) + 'A'));
    t.is(taken.status, 403);
    t.deepEqual(taken.body, unknownToken.body, 'a camera of another account answers exactly like an unknown token');
    t.false(JSON.stringify(taken.body).includes('home'));
  } finally {
    await relay.close();
  }
});

test('unlimited camera logins per account: the cap holds and the refused token stays usable', async (t) => {
  const relay = await embeddedRelay(join(await tempDir('tenants-cap'), 'relay'), { maxCamerasPerAccount: 2 });
  try {
    const home = await relay.accounts.addAccount('home');
    for (let i = 0; i < 2; i++) await provisionLogin(relay, home, Identity.generate(systemRandom));
    const token = await tokenFor(relay, home);
    const third = await provision(relay, provisionRequestBody(Identity.generate(systemRandom), token));
    t.is(third.status, 403);
    t.is(third.body.code, 'E_QUOTA');
    t.is(relay.accounts.cameraCount('home'), 2);
    // A camera already in the account may still be re-paired (fresh credentials in place).
    t.is(relay.accounts.users.filter((u) => u.role === 'camera').length, 2);
  } finally {
    await relay.close();
  }
});
