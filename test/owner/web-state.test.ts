/**
 * The viewer page's server keeps the page's stream state in the owner home (POST /state): only
 * the page that opened the link (its session cookie, same origin) may send it, a malformed state
 * is refused with a code, and a state behind the kept one never replaces it (no rollback of the
 * owner's replay protection through the page).
 */
import test from 'ava';
import { Identity, StreamState, systemRandom, type StreamSnapshot } from '../../src/protocol/index.js';
import { startWebViewer, type StreamStore } from '../../src/owner/web/server.js';

function snapshotAt(seq: number): StreamSnapshot {
  const s = new StreamState();
  s.commit(seq, 1, false);
  return s.toJSON();
}

async function viewer(kept: StreamSnapshot | null) {
  let stored = kept;
  const saves: StreamSnapshot[] = [];
  const state: StreamStore = { load: async () => stored, save: async (s) => void saves.push((stored = s)) };
  const owner = Identity.generate(systemRandom);
  const camera = Identity.generate(systemRandom).public;
  const web = await startWebViewer({ identity: owner, camera, cameraName: 'hall', login: { httpUrl: 'http://127.0.0.1:9', account: 'home', username: 'home-owner', password: 'x' }, wsUrl: 'ws://127.0.0.1:9', state });
  const origin = new URL(web.url).origin;
  const configReply = await fetch(web.url.replace('/?t=', '/config.json?t='));
  const config = (await configReply.json()) as { snapshot: StreamSnapshot | null };
  const cookie = configReply.headers.get('set-cookie')!.split(';')[0]!;
  const post = (body: string, headers: Record<string, string> = { cookie }) => fetch(`${origin}/state`, { method: 'POST', body, headers });
  return { web, config, post, saves, stored: () => stored };
}

test('the page gets the kept state with its config, and an advance is kept in the owner home', async (t) => {
  const v = await viewer(snapshotAt(10));
  try {
    t.deepEqual(v.config.snapshot, snapshotAt(10));
    const r = await v.post(JSON.stringify(snapshotAt(12)));
    t.is(r.status, 204);
    t.deepEqual(v.stored(), snapshotAt(12));
  } finally {
    await v.web.close();
  }
});

test('a state behind or equal to the kept one is refused (409) and changes nothing', async (t) => {
  const v = await viewer(snapshotAt(10));
  try {
    for (const seq of [3, 10]) {
      const r = await v.post(JSON.stringify(snapshotAt(seq)));
      t.is(r.status, 409, `seq ${seq}`);
    }
    t.is(v.saves.length, 0);
    t.deepEqual(v.stored(), snapshotAt(10));
  } finally {
    await v.web.close();
  }
});

test('a malformed or oversized state is refused with E_MALFORMED; without the page\'s cookie or from another origin, 403', async (t) => {
  const v = await viewer(null);
  try {
    const bad = await v.post('{"v":1,"highestSeq":"x"}');
    t.is(bad.status, 400);
    t.regex(await bad.text(), /^E_MALFORMED/);
    t.is((await v.post('not json')).status, 400);
    t.is((await v.post('x'.repeat(10_000))).status, 413);
    t.is((await v.post(JSON.stringify(snapshotAt(5)), {})).status, 403, 'no cookie');
    const cookie = (await v.post(JSON.stringify(snapshotAt(5)), { cookie: 'sealcam-viewer-1=nope' })).status;
    t.is(cookie, 403, 'a wrong cookie');
    t.is(v.saves.length, 0);
  } finally {
    await v.web.close();
  }
});
