/**
 * The browser viewer in Debian's real Chromium (playwright-core): the page connects to the relay
 * over WebSocket, verifies, decrypts and decodes in the page, and draws frames — whose pixels carry
 * the synthetic camera's frame numbers; a stranger's page on the misrouted feed draws zero frames
 * and says why.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { Identity, publicIdentity, systemRandom } from '../../src/protocol/index.js';
import { loadBoard } from '../../src/device/board.js';
import { runAgent } from '../../src/device/agent.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { startWebViewer } from '../../src/owner/web/server.js';
import { embeddedRelay, provisionCamera, tempDir } from '../helpers/relay.js';
import { pairedDevice } from '../helpers/device.js';
import { requireTool } from '../helpers/tools.js';
import { until } from '../relay/uploader-contract.js';

// playwright needs an absolute path: Debian's package installs /usr/bin/chromium.
const chromiumBin = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Stats = { framesDrawn: number; chunksAccepted: number; rejected: Record<string, number>; latenciesMs: number[]; status: string; lastMessage: string };
const statsOf = (page: Page) => page.evaluate(() => (window as unknown as { sealcam: Stats }).sealcam);

test('Chromium draws the owner\'s frames and nothing for a stranger on the misrouted feed', async (t) => {
  if (!requireTool(t, 'chromium (Debian chromium)', chromiumBin !== null)) return;
  const dir = await tempDir('web-viewer');
  const relay = await embeddedRelay(join(dir, 'relay'), { fault: { misroute: { toAccount: 'stranger' } } });
  const context = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'sealcam-chromium-')), { executablePath: chromiumBin!, headless: true, args: ARGS });
  try {
    const ownerLogin = await relay.accounts.addAccount('home');
    const strangerLogin = await relay.accounts.addAccount('stranger');
    const { home, owner } = await pairedDevice('web-cam');
    await provisionCamera(relay, ownerLogin, home);
    const cameraPublic = publicIdentity(home.identity.signPublicKey, home.identity.boxPublicKey);
    const stranger = Identity.generate(systemRandom);
    const strangersCamera = Identity.generate(systemRandom);

    const ownerWeb = await startWebViewer({ identity: owner, camera: cameraPublic, cameraName: 'hall', login: { httpUrl: relay.httpUrl, ...ownerLogin }, wsUrl: relay.wsUrl! });
    const strangerWeb = await startWebViewer({ identity: stranger, camera: strangersCamera.public, cameraName: 'mine', login: { httpUrl: relay.httpUrl, ...strangerLogin }, wsUrl: relay.wsUrl! });
    const ownerPage = await context.newPage();
    const strangerPage = await context.newPage();
    await ownerPage.goto(ownerWeb.url);
    await strangerPage.goto(strangerWeb.url);
    await until(async () => (await statsOf(ownerPage)).status === 'connected' && (await statsOf(strangerPage)).status === 'connected', 20_000, 'both pages to connect over WebSocket');

    const up = new MqttUploader({ ...(await home.relay())!, cameraId: home.identity.idHex, spool: await Spool.open(join(dir, 'spool'), 64 << 20) });
    await up.start();
    const streaming = runAgent({ board: await loadBoard('sim'), home, sink: up, seconds: 5, realtime: true, video: { width: 640, height: 360, bitrate: 800_000 } });
    await until(async () => (await statsOf(ownerPage)).framesDrawn >= 20, 30_000, 'the owner\'s page to draw frames');
    const first = await ownerPage.evaluate(() => (window as unknown as { sealcamFrameCode: () => number | null }).sealcamFrameCode());
    const drawnAt = (await statsOf(ownerPage)).framesDrawn;
    await until(async () => (await statsOf(ownerPage)).framesDrawn >= drawnAt + 10, 20_000, 'more frames');
    const later = await ownerPage.evaluate(() => (window as unknown as { sealcamFrameCode: () => number | null }).sealcamFrameCode());
    await streaming;
    await up.flush(20_000);
    await up.close();

    t.true(first !== null && later !== null, `frame codes read from the canvas: ${first}, ${later}`);
    t.true(later! > first!, 'the picture moves on with the camera clock');
    const own = await statsOf(ownerPage);
    t.deepEqual(own.rejected, {});
    const sorted = [...own.latenciesMs].sort((a, b) => a - b);
    t.log(`owner page: ${own.framesDrawn} frames drawn; glass to glass in Chromium p50 ${sorted[Math.floor(sorted.length / 2)]} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)]} ms`);

    const theirs = await statsOf(strangerPage);
    t.is(theirs.framesDrawn, 0);
    t.true((theirs.rejected.E_FOREIGN_CAMERA ?? 0) > 30, JSON.stringify(theirs.rejected));
    t.deepEqual(Object.keys(theirs.rejected), ['E_FOREIGN_CAMERA']);
    t.regex(await strangerPage.textContent('#message') ?? '', /camera you have not paired/);
    await ownerWeb.close();
    await strangerWeb.close();
  } finally {
    await context.close();
    await relay.close();
  }
});
