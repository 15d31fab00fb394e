/**
 * The owner's phone app (issue 13) in Debian's Chromium on a phone viewport, as one person uses it:
 * owner keys made in the page, the relay login, a sim camera pairs by reading the page's QR code
 * through its lens (the page's pixels rendered into the camera's frames, the demo's optical path),
 * equal confirmation codes, live frames whose pixels carry the synthetic camera's frame numbers,
 * a household viewer added and revoked (the camera's newest epoch excludes them), a recorded segment
 * played and a clip downloaded, a backup restored on another phone, and the app opening offline.
 * A second test: a stranger's app on a misrouting relay draws nothing and says why. A third: the app
 * self-hosted on another origin reaches the relay's API only when allowed (CORS, relay --app-origin).
 */
import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/cli/app.js';
import { join } from 'node:path';
import type { Client, PublishPacket } from 'aedes';
import { Identity, SealcamError, Viewer, cameraTopic, encodeViewerCode, publicIdentity, systemRandom, toHex, type CameraChannel } from '../../src/protocol/index.js';
import { DeviceHome } from '../../src/device/home.js';

import type { Relay } from '../../src/relay/relay.js';
import { provisionCamera } from '../helpers/relay.js';
import { pairedDevice } from '../helpers/device.js';
import { requireTool } from '../helpers/tools.js';
import { until } from '../relay/uploader-contract.js';
import { PHONE, chromiumBin, firstRun, frameCode, openApp, ownerSecret, pairByLens, phone, stream, text } from './rig.js';
import { writeCodeCameraFile } from './camera-file.js';

/** The newest epoch announcement the relay stored for a camera, opened by `viewer`, or its error code. */
async function newestAnnouncement(relay: Relay, login: { account: string; username: string; password: string }, cameraId: string, viewer: Identity, camera: Identity['public']) {
  const auth = { authorization: `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}` };
  const base = `${relay.httpUrl}/v1/accounts/${login.account}/cameras/${cameraId}/keys`;
  const epochs = ((await (await fetch(base, { headers: auth })).json()) as { items: { epoch: number }[] }).items.map((i) => i.epoch);
  const newest = Math.max(...epochs);
  const bytes = new Uint8Array(await (await fetch(`${base}/${newest}`, { headers: auth })).arrayBuffer());
  const v = new Viewer(viewer);
  try {
    return { epoch: newest, info: v.pin(camera).addAnnouncement(bytes), code: null };
  } catch (e) {
    if (!SealcamError.is(e)) throw e;
    return { epoch: newest, info: null, code: e.code };
  }
}

test.serial('one owner, one phone: pair by the lens, watch live, add and revoke a viewer, play history, restore a backup, open offline', async (t) => {
  if (!requireTool(t, 'chromium (Debian chromium)', chromiumBin !== null)) return;
  // The guest's viewer code, shown on their screen, is what the owner's phone camera will see.
  const guest = Identity.generate(systemRandom);
  const cameraFile = join(await mkdtemp(join(tmpdir(), 'sealcam-app-camera-')), 'guest-code.y4m');
  await writeCodeCameraFile(encodeViewerCode(guest.public), cameraFile);
  const { dir, relay, hash, context, login, page } = await openApp('app-story', {}, { cameraFile });
  let relayOpen = true;
  try {
    await firstRun(page, login);

    // Add a camera: the page's QR code, as pixels, in front of the sim camera's lens.
    await page.getByTestId('add-camera').click();
    await page.getByTestId('pair-name').fill('hall');
    await page.getByTestId('pair-start').click();
    const home = await DeviceHome.open(join(dir, 'camera'));
    const { cameraSide, qr } = await pairByLens(page, home);
    await page.getByTestId('confirm-code').waitFor();
    t.is(await text(page, 'confirm-code'), cameraSide.code, 'the page and the camera show the same confirmation code');
    t.log(`paired by the lens from a ${qr.width}×${qr.height} px screenshot of the page's code; confirmation code ${cameraSide.code}`);

    // Live.
    await page.getByTestId('pair-same').click();
    await until(async () => (await page.getByTestId('live-state').getAttribute('data-state')) === 'connected', 20_000, 'the live view to subscribe');
    const streamStart = Date.now();
    const streaming = stream(home, dir, 9);
    await until(async () => Number(await text(page, 'frames-drawn')) >= 20, 30_000, 'frames drawn live');
    const first = await frameCode(page, 'live-canvas');
    // the synthetic clock: frame n is captured n/30 s after the camera starts (+ 1 s of start-up slack)
    const capturedAtFirst = Math.ceil(((Date.now() - streamStart) / 1000) * 30);
    await until(async () => Number(await text(page, 'frames-drawn')) >= 35, 20_000, 'more frames');
    const later = await frameCode(page, 'live-canvas');
    t.true(first !== null && later !== null && later > first, `frame codes read from the page's canvas: ${first} then ${later}`);
    t.true(first! <= capturedAtFirst, `the frame drawn (${first}) is one the camera had captured by then (at most ${capturedAtFirst})`);
    t.regex(await text(page, 'latency-ms'), /^-?\d+$/, 'latency shown in ms');
    t.deepEqual((await page.evaluate(() => (window as unknown as { sealcamLive: { rejected: object } }).sealcamLive)).rejected, {});

    // Fullscreen: the video with its "not yet sealed" mark fills the screen and keeps playing.
    await page.getByTestId('fullscreen').click();
    await until(() => page.evaluate(() => (document.fullscreenElement as HTMLElement | null)?.dataset.testid === 'live-video'), 5_000, 'the live video to go fullscreen');
    const inFullscreen = Number(await text(page, 'frames-drawn'));
    await until(async () => Number(await text(page, 'frames-drawn')) >= inFullscreen + 10, 10_000, 'frames drawn in fullscreen');
    const box = (await page.getByTestId('live-canvas').boundingBox())!;
    t.is(Math.round(box.width), PHONE.viewport.width, `the canvas fills the screen's width in fullscreen: ${JSON.stringify(box)}`);
    t.true(await page.evaluate(() => document.fullscreenElement!.contains(document.querySelector('[data-testid="live-unconfirmed"]'))), 'the unconfirmed mark stays visible in fullscreen');
    await page.evaluate(() => document.exitFullscreen());

    // Household: add a viewer by scanning their code with the phone's camera (getUserMedia gets
    // the code file as the camera; jsQR in the page reads it), then revoke them, while the camera runs.
    await page.getByTestId('tab-household').click();
    await page.getByTestId('viewer-name').fill('guest');
    await page.getByTestId('scan-viewer').click();
    await page.getByTestId('viewer-item').waitFor({ timeout: 15_000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}; the page says: ${await text(page, 'household-message')}`);
    });
    t.regex(await text(page, 'viewer-list'), /guest/);
    t.is(await page.getByTestId('viewer-item').getAttribute('data-viewer'), guest.idHex, 'the viewer added from the phone\'s camera is the guest');
    t.is(await page.locator('[data-testid="scan-video"]').count(), 0, 'the camera is released after the scan');
    const camera = publicIdentity(home.identity.signPublicKey, home.identity.boxPublicKey);
    const owner = Identity.fromSecret(Buffer.from(await ownerSecret(page), 'hex'));
    await until(async () => (await page.getByTestId('roster-status').getAttribute('data-state')) === 'taken', 20_000, 'the camera to take roster v2').catch(async (e: Error) => {
      throw new Error(`${e.message}; the page says: ${await text(page, 'roster-status')} ${await text(page, 'household-message')}`);
    });
    const added = await newestAnnouncement(relay, login, home.identity.idHex, guest, camera);
    t.is(added.code, null, `the guest opens the epoch after being added (${added.code})`);
    await page.getByTestId('revoke-viewer').click();
    await until(async () => (await page.locator('[data-testid="viewer-item"]').count()) === 0, 5_000, 'the list without the guest');
    await until(async () => (await page.getByTestId('roster-status').getAttribute('data-state')) === 'taken' && (await text(page, 'roster-status')).includes('version 3'), 20_000, 'the camera to take roster v3');
    const revoked = await newestAnnouncement(relay, login, home.identity.idHex, guest, camera);
    const ownersView = await newestAnnouncement(relay, login, home.identity.idHex, owner, camera);
    t.true(revoked.epoch > added.epoch, `a new epoch after the revocation: ${added.epoch} → ${revoked.epoch}`);
    t.is(revoked.code, 'E_NOT_ON_ROSTER', `the revoked guest cannot open epoch ${revoked.epoch}`);
    t.is(ownersView.info?.rosterVersion, 3);
    t.deepEqual(ownersView.info?.viewerIds.map(toHex), [toHex(owner.id)], 'the new epoch is wrapped for the owner only');

    // The other way in: a code pasted. A damaged one is explained and adds nobody; the guest's
    // own code adds them back; the same code again is refused as already on the list.
    const pasted = encodeViewerCode(guest.public);
    await page.getByTestId('viewer-code').fill(`${pasted.slice(0, -6)}AAAAAA`);
    await page.getByTestId('add-viewer').click();
    await until(async () => (await text(page, 'household-message')).length > 0, 5_000, 'the damaged code explained');
    t.is(await page.locator('[data-testid="viewer-item"]').count(), 0, `a damaged code adds nobody (the page says: ${await text(page, 'household-message')})`);
    await page.getByTestId('viewer-name').fill('guest again');
    await page.getByTestId('viewer-code').fill(pasted);
    await page.getByTestId('add-viewer').click();
    await page.getByTestId('viewer-item').waitFor({ timeout: 10_000 });
    t.is(await page.getByTestId('viewer-item').getAttribute('data-viewer'), guest.idHex, 'the pasted code adds the guest');
    t.is(await text(page, 'household-message'), '', 'and clears the earlier explanation');
    await page.getByTestId('viewer-code').fill(pasted);
    await page.getByTestId('add-viewer').click();
    await until(async () => (await text(page, 'household-message')).includes('already on the list'), 5_000, 'the same code refused');
    t.is(await page.locator('[data-testid="viewer-item"]').count(), 1, 'still one guest');
    await streaming;

    // History: the timeline, one recorded segment played, the hour downloaded as MP4.
    await page.getByTestId('tab-history').click();
    await page.getByTestId('timeline-segment').first().waitFor({ timeout: 20_000 });
    t.is(await page.locator('[data-testid="timeline-rejected"]').count(), 0, 'no rejected segment');
    await page.getByTestId('timeline-segment').nth(2).click();
    await until(async () => Number(await text(page, 'history-frames')) >= 30, 15_000, 'a recorded segment to play').catch(async (e: Error) => {
      throw new Error(`${e.message}: ${await text(page, 'history-frames')} frames played; ${await text(page, 'history-message')}`);
    });
    await page.getByTestId('history-play').click(); // pause

    // Scrubbing: the frame shown at a moment is the camera's frame of that moment (30 fps, frame codes).
    const seg = page.getByTestId('timeline-segment').nth(3);
    const segStart = Number(await seg.getAttribute('data-start'));
    const segSeq = Number(await seg.getAttribute('data-seq'));
    const clipStart = Number(await page.getByTestId('timeline-segment').first().getAttribute('data-start'));
    const shownMs = async () => Number(await page.getByTestId('history-position').getAttribute('data-ms'));
    /** Scrub to `ms`; resolves with the moment the page shows (the frame starting at or before `ms`) and the frame's code. */
    const scrubTo = async (ms: number) => {
      await page.getByTestId('history-scrub').evaluate((el, v) => {
        const input = el as HTMLInputElement;
        input.value = String(v);
        input.dispatchEvent(new Event('input'));
        input.dispatchEvent(new Event('change'));
      }, ms - clipStart);
      // The seq too: the position paused before the seek can itself lie just before `ms` (the end
      // of the previous segment), and must not pass for the seek's frame.
      await until(async () => { const at = await shownMs(); return at <= ms && at > ms - 100 && (await page.getByTestId('history-position').getAttribute('data-seq')) === String(segSeq); }, 10_000, `the frame at ${ms - segStart} ms into seq ${segSeq}`).catch(async (e: Error) => {
        throw new Error(`${e.message}: the page shows ${(await shownMs()) - segStart} ms into it (seq ${await page.getByTestId('history-position').getAttribute('data-seq')})`);
      });
      return { at: await shownMs(), frame: await frameCode(page, 'history-canvas') };
    };
    const a = await scrubTo(segStart);
    const b = await scrubTo(segStart + 510);
    const framesBetween = Math.round(((b.at - a.at) * 30) / 1000);
    t.is(a.at, segStart, 'the start of a segment shows its first frame');
    t.is(await page.getByTestId('history-position').getAttribute('data-seq'), String(segSeq));
    t.true(a.frame !== null && b.frame === a.frame + framesBetween && framesBetween >= 14, `scrubbed to the start of seq ${segSeq}: frame ${a.frame}; to 510 ms later: the page shows ${b.at - a.at} ms in, frame ${b.frame} (expected ${a.frame === null ? '?' : a.frame + framesBetween})`);
    t.false(await page.getByTestId('timeline-tail').isVisible(), 'no hidden tail while the relay lists everything');

    // A hidden tail: a relay that lists nothing after seq segSeq, though this phone has opened later ones.
    const seenUpTo = Number(await page.getByTestId('timeline-segment').last().getAttribute('data-seq'));
    await page.route(/\/segments\?/, async (route) => {
      const upstream = await route.fetch();
      type Item = { seq: number };
      const listed = (await upstream.json()) as Item[] | { items: Item[]; next: number | null };
      const keep = (items: Item[]) => items.filter((x) => x.seq <= segSeq);
      await route.fulfill({ response: upstream, json: Array.isArray(listed) ? keep(listed) : { items: keep(listed.items), next: null } });
    });
    await page.getByTestId('tab-live').click();
    await page.getByTestId('tab-history').click();
    await page.getByTestId('timeline-tail').waitFor({ timeout: 10_000 });
    const tail = page.getByTestId('timeline-tail');
    t.is(await tail.getAttribute('data-history-ends-at'), String(segSeq));
    t.true(Number(await tail.getAttribute('data-seen-up-to')) >= seenUpTo, `the page remembers seq ${await tail.getAttribute('data-seen-up-to')} (it opened up to ${seenUpTo})`);
    t.regex(await text(page, 'timeline-tail'), /withheld or lost the newest recordings \(E_TRUNCATED\)/);
    await page.unroute(/\/segments\?/);
    await page.getByTestId('tab-live').click();
    await page.getByTestId('tab-history').click();
    await page.getByTestId('timeline-segment').first().waitFor({ timeout: 20_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-clip').click()]);
    const mp4 = await readFile((await download.path())!);
    t.is(mp4.subarray(4, 8).toString('latin1'), 'ftyp', 'the clip is an MP4');

    // Settings: the hash the build printed; a backup, restored on another phone.
    await page.getByTestId('open-settings').click();
    t.is(await text(page, 'app-hash'), hash);
    await page.getByTestId('backup-passphrase').fill('correct horse battery');
    await page.getByTestId('backup-export').click();
    await page.getByTestId('backup-download').waitFor({ timeout: 30_000 });
    const [backup] = await Promise.all([page.waitForEvent('download'), page.getByTestId('backup-download').click()]);
    const otherPhone = await phone();
    try {
      const p2 = await otherPhone.newPage();
      await p2.goto(`${relay.httpUrl}/app/`);
      await p2.locator('summary').click();
      await p2.getByTestId('restore-file').setInputFiles((await backup.path())!);
      await p2.getByTestId('restore-passphrase').fill('wrong passphrase!');
      await p2.getByTestId('restore-submit').click();
      await until(async () => (await text(p2, 'setup-message')).includes('E_DECRYPT'), 30_000, 'a wrong passphrase refused');
      await p2.getByTestId('restore-passphrase').fill('correct horse battery');
      await p2.getByTestId('restore-submit').click();
      await p2.getByTestId('camera-item').waitFor({ timeout: 30_000 });
      t.regex(await text(p2, 'camera-item'), /^hall/);
    } finally {
      await otherPhone.close();
    }

    // Offline: the relay is gone; the installed app still opens and lists the camera.
    await page.goto(`${relay.httpUrl}/app/#/`);
    await page.getByTestId('camera-item').waitFor();
    await until(() => page.evaluate(() => navigator.serviceWorker.controller !== null), 10_000, 'the service worker to control the page');
    await relay.close();
    relayOpen = false;
    await page.reload();
    await page.getByTestId('camera-item').waitFor({ timeout: 10_000 });
    t.regex(await text(page, 'camera-item'), /^hall/, 'the camera kept on the phone is listed offline');
    await until(async () => (await text(page, 'connection')).startsWith('Offline'), 20_000, 'the page to say it is offline');
  } finally {
    await context.close();
    if (relayOpen) await relay.close();
  }
});

test.serial('a stranger\'s app on a misrouting relay: 0 frames drawn, the rejection explained, the foreign status never shown', async (t) => {
  if (!requireTool(t, 'chromium (Debian chromium)', chromiumBin !== null)) return;
  const { dir, relay, context, login: ownerLogin, page } = await openApp('app-misroute', { fault: { misroute: { toAccount: 'stranger' } } });
  try {
    const strangerLogin = await relay.accounts.addAccount('stranger');
    const { home } = await pairedDevice('app-misroute');
    await provisionCamera(relay, ownerLogin, home);
    // The stranger has a camera of their own; the relay also mixes up cameras and delivers the
    // misrouted copies on the stranger's camera's topics (status included).
    const strangersCamera = Identity.generate(systemRandom);
    const aedes = relay.broker!.aedes;
    const misrouted = `sc/v1/stranger/${home.identity.idHex}/`;
    aedes.on('publish', (packet: PublishPacket, client: Client | null) => {
      if (client || !packet.topic.startsWith(misrouted)) return;
      const topic = cameraTopic('stranger', strangersCamera.idHex, packet.topic.slice(misrouted.length) as CameraChannel);
      aedes.publish({ cmd: 'publish', topic, payload: packet.payload, qos: 0, retain: packet.retain, dup: false }, () => undefined);
    });

    await firstRun(page, strangerLogin);
    // The stranger's own camera, as their app keeps it after pairing.
    await page.evaluate(async (cam) => {
      const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('sealcam'); q.onsuccess = () => r(q.result); });
      await new Promise((r) => { const q = db.transaction('kv', 'readwrite').objectStore('kv').put([cam], 'cameras'); q.onsuccess = r; });
    }, { name: 'mine', id: strangersCamera.idHex, signPublicKey: toHex(strangersCamera.signPublicKey), boxPublicKey: toHex(strangersCamera.boxPublicKey), rosterVersion: 1, viewers: [], pairedAt: Date.now() });
    await page.reload();
    await page.getByTestId('camera-item').waitFor();
    let statusSeen = new Set<string>();
    const watchStatus = setInterval(() => void text(page, 'camera-status').then((s) => statusSeen.add(s), () => undefined), 200);
    const streaming = stream(home, dir, 4);
    await until(async () => ((await relay.store.cameraSummaries('stranger')) as unknown[]).length > 0, 20_000, 'the misrouted copies to reach the stranger\'s account');
    clearInterval(watchStatus);
    await page.getByTestId('camera-item').click();
    await until(async () => (await page.getByTestId('live-state').getAttribute('data-state')) === 'connected', 20_000, 'the live view to subscribe');
    await until(async () => (await text(page, 'rejection')).length > 0, 20_000, 'a rejection');
    await streaming;
    const live = await page.evaluate(() => (window as unknown as { sealcamLive: { rejected: Record<string, number> } }).sealcamLive);
    t.is(await text(page, 'frames-drawn'), '0', 'nothing drawn from the misrouted video');
    t.deepEqual(Object.keys(live.rejected), ['E_FOREIGN_CAMERA'], JSON.stringify(live.rejected));
    t.true(live.rejected.E_FOREIGN_CAMERA! > 20, `rejected E_FOREIGN_CAMERA ${live.rejected.E_FOREIGN_CAMERA}`);
    t.regex(await text(page, 'rejection'), /this video is from a camera you have not paired — nothing was decrypted/);
    await page.goBack();
    await page.getByTestId('camera-item').waitFor();
    statusSeen.add(await text(page, 'camera-status'));
    t.deepEqual([...statusSeen], ['status unknown'], `the stranger's list never showed the other camera's status: ${[...statusSeen].join(' | ')}`);
    statusSeen = new Set();
  } finally {
    await context.close();
    await relay.close();
  }
});

test.serial('the app self-hosted on another origin: the relay answers it only once allowed (relay --app-origin), never another origin', async (t) => {
  if (!requireTool(t, 'chromium (Debian chromium)', chromiumBin !== null)) return;
  const { relay, context, login, page } = await openApp('app-cors');
  // `sealcam app build`'s files, hosted by two other origins (other ports of 127.0.0.1).
  const { files } = await buildApp();
  const host = async () => {
    const server = createServer((req, res) => {
      const file = files.get((req.url ?? '/').split('?')[0]!.slice(1) || 'index.html');
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': file.contentType }).end(file.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };
  const selfHosted = await host();
  const other = await host();
  try {
    const info = `${relay.httpUrl}/v1/info`;
    const preflight = (origin: string) => fetch(info, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const before = await preflight(selfHosted.origin);
    t.is(before.status, 403, 'by default no other origin may call the API');
    t.is(((await before.json()) as { code: string }).code, 'E_AUTH');

    relay.http.allowAppOrigins([selfHosted.origin]);
    const ok = await preflight(selfHosted.origin);
    t.is(ok.status, 204);
    t.is(ok.headers.get('access-control-allow-origin'), selfHosted.origin, 'the allowed origin is echoed, never *');
    t.is(ok.headers.get('access-control-allow-credentials'), null, 'no credentials mode');
    t.regex(ok.headers.get('access-control-allow-headers') ?? '', /authorization/);
    t.is((await fetch(info, { headers: { origin: other.origin } })).headers.get('access-control-allow-origin'), null, 'another origin gets no CORS header');
    t.is((await preflight(other.origin)).status, 403);
    t.throws(() => relay.http.allowAppOrigins(['*']), { message: /E_CONFIG/ });

    // The self-hosted app logs in to the relay and lists cameras; the same app on another origin cannot.
    const logIn = async (p: typeof page, origin: string) => {
      await p.goto(`${origin}/`);
      await p.getByTestId('create-owner').click();
      await p.getByTestId('login-url').fill(relay.httpUrl);
      await p.getByTestId('login-account').fill(login.account);
      await p.getByTestId('login-username').fill(login.username);
      await p.getByTestId('login-password').fill(login.password);
      await p.getByTestId('login-submit').click();
    };
    await logIn(page, selfHosted.origin);
    await page.getByTestId('add-camera').waitFor({ timeout: 15_000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}; the page says: ${await text(page, 'login-message')}`);
    });
    t.pass('the app on the allowed origin logged in through the relay\'s API');
    const stranger = await context.newPage();
    await logIn(stranger, other.origin);
    await until(async () => (await text(stranger, 'login-message')).includes('E_RELAY_UNREACHABLE'), 15_000, 'the other origin refused');
    t.is(await stranger.evaluate((url) => fetch(url).then(() => 'read', (e: Error) => e.name), info), 'TypeError', 'the browser blocks the other origin\'s read');
  } finally {
    selfHosted.server.close();
    other.server.close();
    await context.close();
    await relay.close();
  }
});
