/** The app's Chromium rig, shared by test/app/app.test.ts and the screenshot script (test/app/screenshots.ts). */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { loadBoard } from '../../src/device/board.js';
import { runAgent } from '../../src/device/agent.js';
import type { DeviceHome } from '../../src/device/home.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { SyntheticSource, readFrameCode } from '../../src/media/synthetic.js';
import { pairAsCamera, scanForCode } from '../../src/device/pair.js';
import { PNG } from 'pngjs';
import { buildApp } from '../../src/cli/app.js';
import type { Relay, RelayOptions } from '../../src/relay/relay.js';
import { embeddedRelay, tempDir } from '../helpers/relay.js';

export const chromiumBin = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };

/** `cameraFile`: a .y4m or .mjpeg file the page's getUserMedia gets as the phone's camera (no permission prompt). */
export async function phone(o: { cameraFile?: string } = {}): Promise<BrowserContext> {
  const camera = o.cameraFile ? ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${o.cameraFile}`] : [];
  return chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'sealcam-app-chromium-')), { executablePath: chromiumBin!, headless: true, args: [...ARGS, ...camera], ...PHONE, acceptDownloads: true });
}

export const text = async (page: Page, id: string) => ((await page.getByTestId(id).first().textContent()) ?? '').trim();

/** First run in the page: owner keys, then the relay login (the address is the page's own origin). */
export async function firstRun(page: Page, login: { account: string; username: string; password: string }): Promise<void> {
  await page.getByTestId('create-owner').click();
  await page.getByTestId('login-account').fill(login.account);
  await page.getByTestId('login-username').fill(login.username);
  await page.getByTestId('login-password').fill(login.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('add-camera').waitFor();
}

/** The synthetic camera's frame number, read back from a canvas of the page. */
export async function frameCode(page: Page, testid: string): Promise<number | null> {
  const c = await page.evaluate((id) => (window as unknown as { sealcamApp: { canvasLuma(id: string): { width: number; height: number; luma: string } } }).sealcamApp.canvasLuma(id), testid);
  return readFrameCode(new Uint8Array(Buffer.from(c.luma, 'base64')), c.width, c.height);
}

/** The camera streams `seconds` of 640x360 in real time with 1 s segments; resolves when drained. */
export async function stream(home: DeviceHome, dir: string, seconds: number): Promise<void> {
  const up = new MqttUploader({ ...(await home.relay())!, cameraId: home.identity.idHex, spool: await Spool.open(join(dir, 'spool'), 64 << 20) });
  await up.start();
  try {
    await runAgent({ board: await loadBoard('sim'), home, sink: up, seconds, realtime: true, video: { width: 640, height: 360, bitrate: 800_000, segmentSeconds: 1 } });
    await up.flush(20_000);
  } finally {
    await up.close();
  }
}


/** The demo's optical path: the page's QR code, as screen pixels, in front of a sim camera's lens (1080p, 2x). */
export async function pairByLens(page: Page, home: DeviceHome) {
  const shot = PNG.sync.read(await page.getByTestId('pair-qr').screenshot());
  const luma = new Uint8Array(shot.width * shot.height);
  for (let i = 0; i < luma.length; i++) luma[i] = (shot.data[4 * i]! * 66 + shot.data[4 * i + 1]! * 129 + shot.data[4 * i + 2]! * 25 + 4096) >> 8;
  const lens = new SyntheticSource({ realtime: true });
  lens.scene.setOverlay({ luma, width: shot.width, height: shot.height, x: 700, y: 120, scale: 2, noise: 12 });
  const cameraSide = await pairAsCamera(home, await scanForCode(lens, { timeoutMs: 30_000 }));
  return { cameraSide, qr: { width: shot.width, height: shot.height } };
}

export interface AppRig {
  dir: string;
  relay: Relay;
  /** the hash `sealcam app build` prints for the app the relay serves */
  hash: string;
  context: BrowserContext;
  login: { account: string; username: string; password: string };
  /** the owner's phone, at the relay's /app/ */
  page: Page;
}

/** A relay serving the app, account `home`, a phone with the app open; the caller closes context and relay. */
export async function openApp(label: string, relayOptions: Partial<RelayOptions> = {}, phoneOptions: { cameraFile?: string } = {}): Promise<AppRig> {
  const dir = await tempDir(label);
  const app = await buildApp();
  const relay = await embeddedRelay(join(dir, 'relay'), { app: app.files, ...relayOptions });
  const context = await phone(phoneOptions);
  const login = await relay.accounts.addAccount('home');
  const page = await context.newPage();
  await page.goto(`${relay.httpUrl}/app/`);
  return { dir, relay, hash: app.hash, context, login, page };
}

/** The owner's secret as the app keeps it in IndexedDB (hex), for checks from outside the page. */
export function ownerSecret(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('sealcam'); q.onsuccess = () => r(q.result); });
    return new Promise<string>((r) => { const q = db.transaction('kv').objectStore('kv').get('identity'); q.onsuccess = () => r((q.result as { secret: string }).secret); });
  });
}
