/**
 * bench:live --web — glass to glass in the owner's phone app in Chromium (capture → frame drawn on
 * the canvas) at 1080p30, beside the Node viewer (LiveWatch, node-webcodecs) on the same stream in
 * the same run: a sim camera paired through the app by its lens streams in real time over the
 * loopback relay; the page is the relay's /app/ on a 390×844 phone viewport.
 */
import { join } from 'node:path';
import { Identity, cameraTopic, publicIdentity } from '../src/protocol/index.js';
import { loadBoard } from '../src/device/board.js';
import { runAgent } from '../src/device/agent.js';
import { DeviceHome } from '../src/device/home.js';
import { Spool } from '../src/device/spool.js';
import { MqttUploader } from '../src/device/uploader.js';
import { connectMqtt } from '../src/media/mqtt.js';
import { LiveWatch, percentile } from '../src/owner/live-watch.js';
import { until } from '../test/relay/uploader-contract.js';
import { firstRun, openApp, ownerSecret, pairByLens, text } from '../test/app/rig.js';

export interface WebLiveResult {
  seconds: number;
  framesCaptured: number;
  page: { framesDrawn: number; p50: number | null; p95: number | null };
  node: { framesDecoded: number; p50: number | null; p95: number | null };
}

export async function benchLiveWeb(seconds: number, log: (m: string) => void): Promise<WebLiveResult> {
  const { dir, relay, context, login, page } = await openApp('bench-live-web');
  try {
    await firstRun(page, login);
    await page.getByTestId('add-camera').click();
    await page.getByTestId('pair-start').click();
    const home = await DeviceHome.open(join(dir, 'camera'));
    await pairByLens(page, home);
    await page.getByTestId('pair-same').click();
    await until(async () => (await page.getByTestId('live-state').getAttribute('data-state')) === 'connected', 20_000, 'the page to subscribe');
    log('paired by the lens; the page and the Node viewer watch live');
    const secret = await ownerSecret(page);
    const camera = publicIdentity(home.identity.signPublicKey, home.identity.boxPublicKey);
    const watch = new LiveWatch({ identity: Identity.fromSecret(Buffer.from(secret, 'hex')), camera });
    const viewer = await connectMqtt(relay.mqttUrl, login);
    viewer.on('message', (topic, payload) => watch.handle(topic, new Uint8Array(payload)));
    await viewer.subscribeAsync(['keys', 'live'].map((c) => cameraTopic(login.account, home.identity.idHex, c as 'keys' | 'live')), { qos: 1 });
    const board = await loadBoard('sim');
    const up = new MqttUploader({ ...(await home.relay())!, cameraId: home.identity.idHex, spool: await Spool.open(join(dir, 'spool'), board.spool.maxBytes) });
    await up.start();
    log(`streaming ${seconds} s of ${board.video.width}x${board.video.height}@${board.video.fps}`);
    const agent = await runAgent({ board, home, sink: up, seconds, realtime: true });
    await up.flush(30_000);
    await up.close();
    await new Promise((r) => setTimeout(r, 1000)); // the last frames drain through both viewers
    await watch.close();
    await viewer.endAsync();
    const latencies = await page.evaluate(() => (window as unknown as { sealcamPlayer: { latenciesMs: number[] } }).sealcamPlayer.latenciesMs);
    const node = watch.summary();
    return {
      seconds,
      framesCaptured: agent.framesCaptured,
      page: { framesDrawn: Number(await text(page, 'frames-drawn')), p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
      node: { framesDecoded: node.framesDecoded, p50: node.glassToGlassMs.p50, p95: node.glassToGlassMs.p95 },
    };
  } finally {
    await context.close();
    await relay.close();
  }
}
