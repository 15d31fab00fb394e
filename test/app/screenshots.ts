/**
 * npm run app:screenshots — every screen of the app on a 390×844 phone and on a desktop, into
 * docs/app/ (README shows them). Not part of the test suite: a sim camera paired by the lens and
 * streaming, a guest viewer, a recorded hour.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Identity, encodeViewerCode, systemRandom } from '../../src/protocol/index.js';
import { DeviceHome } from '../../src/device/home.js';
import { until } from '../relay/uploader-contract.js';
import { chromiumBin, openApp, pairByLens, stream, text } from './rig.js';

const OUT = new URL('../../docs/app/', import.meta.url).pathname;
await mkdir(OUT, { recursive: true });
const { dir, relay, context, login, page } = await openApp('app-shots');
try {
  await page.screenshot({ path: join(OUT, 'phone-1-welcome.png') });
  await page.getByTestId('create-owner').click();
  await page.getByTestId('login-account').fill(login.account);
  await page.getByTestId('login-username').fill(login.username);
  await page.screenshot({ path: join(OUT, 'phone-2-login.png') });
  await page.getByTestId('login-password').fill(login.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('add-camera').waitFor();
  await page.getByTestId('add-camera').click();
  await page.getByTestId('pair-name').fill('hall');
  await page.getByTestId('pair-start').click();
  await page.getByTestId('pair-qr').waitFor();
  await page.screenshot({ path: join(OUT, 'phone-3-pair-code.png') });
  const home = await DeviceHome.open(join(dir, 'camera'));
  await pairByLens(page, home);
  await page.getByTestId('confirm-code').waitFor();
  await page.screenshot({ path: join(OUT, 'phone-4-confirm.png') });
  await page.getByTestId('pair-same').click();
  const streaming = stream(home, dir, 12);
  await until(async () => Number(await text(page, 'frames-drawn')) >= 60, 30_000, 'live frames');
  await page.screenshot({ path: join(OUT, 'phone-5-live.png') });
  await page.getByTestId('tab-household').click();
  await page.getByTestId('viewer-name').fill('Sam');
  await page.getByTestId('viewer-code').fill(encodeViewerCode(Identity.generate(systemRandom).public));
  await page.getByTestId('add-viewer').click();
  await until(async () => (await page.getByTestId('roster-status').getAttribute('data-state')) === 'taken', 20_000, 'roster taken');
  await page.screenshot({ path: join(OUT, 'phone-6-household.png') });
  await page.goto(`${relay.httpUrl}/app/#/`);
  await until(async () => (await text(page, 'camera-status')).startsWith('online'), 10_000, 'status');
  await page.screenshot({ path: join(OUT, 'phone-7-cameras.png') });
  await streaming;
  await page.getByTestId('camera-item').click();
  await page.getByTestId('tab-history').click();
  await page.getByTestId('timeline-segment').nth(3).click();
  await until(async () => Number(await text(page, 'history-frames')) > 20, 15_000, 'playback');
  await page.screenshot({ path: join(OUT, 'phone-8-history.png') });
  await page.getByTestId('open-settings').click();
  await page.screenshot({ path: join(OUT, 'phone-9-settings.png') });
  const desktop = await chromium.launch({ executablePath: chromiumBin!, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const d = await (await desktop.newContext({ viewport: { width: 1280, height: 800 }, storageState: await context.storageState({ indexedDB: true }) })).newPage();
  await d.goto(`${relay.httpUrl}/app/#/`);
  await d.getByTestId('camera-item').waitFor();
  await d.screenshot({ path: join(OUT, 'desktop-cameras.png') });
  await d.getByTestId('camera-item').click();
  await d.getByTestId('tab-history').click();
  await d.getByTestId('timeline-segment').first().waitFor({ timeout: 20_000 });
  await d.screenshot({ path: join(OUT, 'desktop-history.png') });
  await desktop.close();
  process.stdout.write(`screenshots in ${OUT}\n`);
} finally {
  await context.close();
  await relay.close();
}
