/**
 * The browser viewer in Debian's real Chromium (playwright-core): the page connects to the relay
 * over WebSocket, verifies, decrypts and decodes in the page, and draws frames — whose pixels carry
 * the synthetic camera's frame numbers; a stranger's page on the misrouted feed draws zero frames
 * and says why. The page keeps the live promises of LiveSession (THREAT-MODEL L1–L5, issue 11): it
 * joins a stream already under way, marks what the camera's seal has not yet confirmed, and keeps
 * its stream state across a reload, so a relay that replays recorded live traffic shows nothing.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, PublishPacket } from 'aedes';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Identity, LIVE_MAGIC, toHex, SEAL_BYTES, cameraTopic, decodeHeader, decodeLiveChunk, equalBytes, publicIdentity, systemRandom, type CameraChannel, type PublicIdentity } from '../../src/protocol/index.js';
import { loadBoard } from '../../src/device/board.js';
import { readFrameCode } from '../../src/media/synthetic.js';
import { runAgent } from '../../src/device/agent.js';
import type { DeviceHome } from '../../src/device/home.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { connectMqtt } from '../../src/media/mqtt.js';
import type { Relay } from '../../src/relay/relay.js';
import { startWebViewer, type StreamStore } from '../../src/owner/web/server.js';
import { OwnerHome } from '../../src/owner/home.js';
import { embeddedRelay, provisionCamera, tempDir } from '../helpers/relay.js';
import { pairedDevice } from '../helpers/device.js';
import { requireTool } from '../helpers/tools.js';
import { until } from '../relay/uploader-contract.js';

// playwright needs an absolute path: Debian's package installs /usr/bin/chromium.
const chromiumBin = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** window.sealcam of the page (src/owner/web/app.ts) */
type Stats = {
  status: string;
  framesDrawn: number;
  framesDrawnUnconfirmed: number;
  chunksAccepted: number;
  chunksConfirmed: number;
  chunksUnconfirmed: number;
  segmentsConfirmed: number;
  msToFirstFrame: number | null;
  skippedBeforeJoin: number;
  joinedSeq: number | null;
  rejected: Record<string, number>;
  alarms: string[];
  cameraLastSeen: string | null;
  cameraStatus: string | null;
  restoredState: boolean;
  latenciesMs: number[];
  lastMessage: string;
};
const statsOf = (page: Page) => page.evaluate(() => (window as unknown as { sealcam: Stats }).sealcam);
/** The synthetic camera's frame number drawn on the page's canvas, read back here. */
const frameCode = async (page: Page) => {
  const c = await page.evaluate(() => (window as unknown as { sealcamCanvasLuma: () => { width: number; height: number; luma: string } }).sealcamCanvasLuma());
  return readFrameCode(new Uint8Array(Buffer.from(c.luma, 'base64')), c.width, c.height);
};
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Rig {
  dir: string;
  relay: Relay;
  context: BrowserContext;
  home: DeviceHome;
  owner: Identity;
  ownerLogin: { account: string; username: string; password: string };
  camera: PublicIdentity;
  /** a page of the owner's viewer on a new local server (a new origin: its own localStorage) */
  ownerPage(options?: { state?: StreamStore }): Promise<{ page: Page; url: string }>;
  /** closed with the rig, after the browser */
  closers: { close(): Promise<void> }[];
}

/** A relay, a paired and provisioned camera, Chromium; closes them all after `body`. */
async function withRig(label: string, relayOptions: Parameters<typeof embeddedRelay>[1], body: (r: Rig) => Promise<void>): Promise<void> {
  const dir = await tempDir(label);
  const relay = await embeddedRelay(join(dir, 'relay'), relayOptions);
  const context = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'sealcam-chromium-')), { executablePath: chromiumBin!, headless: true, args: ARGS });
  const closers: { close(): Promise<void> }[] = [];
  try {
    const ownerLogin = await relay.accounts.addAccount('home');
    const { home, owner } = await pairedDevice(label);
    await provisionCamera(relay, ownerLogin, home);
    const camera = publicIdentity(home.identity.signPublicKey, home.identity.boxPublicKey);
    const ownerPage = async (options: { state?: StreamStore } = {}) => {
      const web = await startWebViewer({ identity: owner, camera, cameraName: 'hall', login: { httpUrl: relay.httpUrl, ...ownerLogin }, wsUrl: relay.wsUrl!, expectedRoster: { rosterVersion: 1, viewerIds: [owner.id] }, ...options });
      closers.push(web);
      const page = await context.newPage();
      await page.goto(web.url);
      await until(async () => (await statsOf(page)).status === 'connected', 20_000, 'the page to connect over WebSocket');
      return { page, url: web.url };
    };
    await body({ dir, relay, context, home, owner, ownerLogin, camera, ownerPage, closers });
  } finally {
    await context.close();
    for (const c of closers) await c.close();
    await relay.close();
  }
}

/** The camera streams `seconds` of small 1 s segments in real time; resolves once its spool is drained and it is offline. */
async function streamCamera(r: Rig, seconds: number): Promise<void> {
  const up = new MqttUploader({ ...(await r.home.relay())!, cameraId: r.home.identity.idHex, spool: await Spool.open(join(r.dir, 'spool'), 64 << 20) });
  await up.start();
  try {
    await runAgent({ board: await loadBoard('sim'), home: r.home, sink: up, seconds, realtime: true, video: { width: 640, height: 360, bitrate: 800_000, segmentSeconds: 1 } });
    await up.flush(20_000);
  } finally {
    await up.close();
  }
}

type LiveKind = 'chunk' | 'seal' | 'init';
interface Recorded {
  kind: LiveKind;
  seq: number;
  payload: Buffer;
}

/** What a relay sees of the camera's live topic: a separate MQTT subscriber logged in as the owner's account. */
async function recordLive(r: Rig): Promise<{ messages: Recorded[]; topic: string; close(): Promise<void> }> {
  const topic = cameraTopic(r.ownerLogin.account, r.home.identity.idHex, 'live');
  const client = await connectMqtt(r.relay.mqttUrl, r.ownerLogin);
  const messages: Recorded[] = [];
  client.on('message', (_topic, payload) => {
    const bytes = new Uint8Array(payload);
    const kind: LiveKind = equalBytes(bytes.subarray(0, 4), LIVE_MAGIC) ? 'chunk' : bytes.length === SEAL_BYTES ? 'seal' : 'init';
    const seq = kind === 'chunk' ? decodeLiveChunk(bytes).header.seq : decodeHeader(bytes).seq;
    messages.push({ kind, seq, payload: Buffer.from(payload) });
  });
  await client.subscribeAsync(topic, { qos: 0 });
  let closed: Promise<void> | null = null;
  const recorder = { messages, topic, close: () => (closed ??= client.endAsync()) };
  r.closers.push(recorder);
  return recorder;
}

/** The relay replays what it recorded, as the broker itself (no client ACL applies to it). */
async function replay(r: Rig, recorder: { messages: Recorded[]; topic: string }): Promise<void> {
  const aedes = r.relay.broker!.aedes;
  for (const m of recorder.messages) {
    await new Promise<void>((resolve) => aedes.publish({ cmd: 'publish', topic: recorder.topic, payload: m.payload, qos: 0, retain: false, dup: false }, () => resolve()));
  }
}

const count = (messages: Recorded[], kind: LiveKind, fromSeq = 0) => messages.filter((m) => m.kind === kind && m.seq >= fromSeq).length;

test.serial('Chromium draws the owner\'s frames and nothing for a stranger on the misrouted feed', async (t) => {
  if (!requireTool(t, 'chromium (Debian chromium)', chromiumBin !== null)) return;
  await withRig('web-viewer', { fault: { misroute: { toAccount: 'stranger' } } }, async (r) => {
    const strangerLogin = await r.relay.accounts.addAccount('stranger');
    const stranger = Identity.generate(systemRandom);
    const strangersCamera = Identity.generate(systemRandom);
    // The page listens to its own camera's topics only: the relay here also mixes up cameras, and
    // delivers the misrouted copies on the stranger's camera's topics.
    const aedes = r.relay.broker!.aedes;
    const misrouted = `sc/v1/stranger/${r.home.identity.idHex}/`;
    aedes.on('publish', (packet: PublishPacket, client: Client | null) => {
      if (client || !packet.topic.startsWith(misrouted)) return;
      const topic = cameraTopic('stranger', strangersCamera.idHex, packet.topic.slice(misrouted.length) as CameraChannel);
      aedes.publish({ cmd: 'publish', topic, payload: packet.payload, qos: 0, retain: false, dup: false }, () => undefined);
    });

    const { page: ownerPage } = await r.ownerPage();
    const strangerWeb = await startWebViewer({ identity: stranger, camera: strangersCamera.public, cameraName: 'mine', login: { httpUrl: r.relay.httpUrl, ...strangerLogin }, wsUrl: r.relay.wsUrl! });
    const strangerPage = await r.context.newPage();
    await strangerPage.goto(strangerWeb.url);
    await until(async () => (await statsOf(strangerPage)).status === 'connected', 20_000, 'the stranger\'s page to connect over WebSocket');

    const streaming = streamCamera(r, 5);
    await until(async () => (await statsOf(ownerPage)).framesDrawn >= 20, 30_000, 'the owner\'s page to draw frames');
    const first = await frameCode(ownerPage);
    const drawnAt = (await statsOf(ownerPage)).framesDrawn;
    await until(async () => (await statsOf(ownerPage)).framesDrawn >= drawnAt + 10, 20_000, 'more frames');
    const later = await frameCode(ownerPage);
    await streaming;

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
    t.regex((await strangerPage.textContent('#message')) ?? '', /camera you have not paired/);
    await strangerWeb.close();
  });
});

test.serial('a page opened while the camera streams joins at the next segment and marks frames the seal has not yet confirmed', async (t) => {
  if (!requireTool(t, 'chromium (Debian chromium)', chromiumBin !== null)) return;
  await withRig('web-late-join', {}, async (r) => {
    const recorder = await recordLive(r);
    const streaming = streamCamera(r, 10);
    await until(() => count(recorder.messages, 'chunk') > 0, 30_000, 'the camera to stream');
    const streamingSince = Date.now();
    await sleep(3_000); // the camera has been streaming for ~3 s when the owner opens the page
    const openedAfterMs = Date.now() - streamingSince;
    const { page } = await r.ownerPage();
    // Watch the badge next to the canvas while the camera streams.
    let badgeMax = 0;
    let amberSeen = false;
    let done = false;
    void streaming.finally(() => (done = true));
    while (!done) {
      const [badge, cls] = await Promise.all([page.getAttribute('#unconfirmed', 'data-count'), page.getAttribute('#video', 'class')]);
      badgeMax = Math.max(badgeMax, Number(badge ?? 0));
      amberSeen ||= cls === 'unconfirmed';
      await sleep(100);
    }
    await streaming;
    const joined = (await statsOf(page)).joinedSeq;
    t.not(joined, null, 'the page accepted a chunk');
    const chunksSent = count(recorder.messages, 'chunk', joined!);
    const sealsSent = count(recorder.messages, 'seal', joined!);
    await until(async () => {
      const s = await statsOf(page);
      return s.chunksAccepted >= chunksSent && s.segmentsConfirmed >= sealsSent;
    }, 20_000, 'the page to take every chunk and seal from the segment it joined on');
    await sleep(500); // anything else still on its way is counted too
    const s = await statsOf(page);
    const firstSeq = recorder.messages.find((m) => m.kind === 'chunk')!.seq;
    t.log(`page opened ${openedAfterMs} ms into the stream: first frame ${s.msToFirstFrame} ms after the page started; joined at seq ${joined} (the camera began at seq ${firstSeq}); ${s.skippedBeforeJoin} chunks skipped mid-segment; ${s.framesDrawn} frames drawn, ${s.framesDrawnUnconfirmed} of them before their seal; badge peaked at ${badgeMax} unconfirmed chunks`);

    // late join (THREAT-MODEL L1): the old page, which waited for an init on the seg topic, drew nothing here
    t.true(s.framesDrawn > 0, `frames drawn: ${s.framesDrawn}`);
    t.true(joined! > firstSeq, `joined at seq ${joined}, after the camera's first seq ${firstSeq}: the page did join late`);
    t.is(s.chunksAccepted, chunksSent, `chunks accepted ${s.chunksAccepted} = chunks the camera sent from seq ${joined} on ${chunksSent}`);
    t.true(s.skippedBeforeJoin <= count(recorder.messages, 'chunk', firstSeq) - chunksSent, `skipped ${s.skippedBeforeJoin} ≤ chunks sent before seq ${joined}`);
    t.deepEqual(s.rejected, {}, 'nothing rejected');
    t.deepEqual(s.alarms, []);
    t.not(s.cameraLastSeen, null);
    t.regex((await page.textContent('#lastseen')) ?? '', /camera last seen: .*\(\d+ s ago\)/, 'the page shows when the camera was last seen');

    // unconfirmed marking (L2): frames are drawn before their seal, and the page says so
    t.true(s.framesDrawnUnconfirmed > 0, `frames drawn before their seal: ${s.framesDrawnUnconfirmed}`);
    t.true(badgeMax > 0, `the badge showed up to ${badgeMax} unconfirmed chunks`);
    t.true(amberSeen, 'the canvas carried the unconfirmed border');
    t.is(s.chunksUnconfirmed, 0, `every chunk confirmed at the end: ${s.chunksConfirmed} of ${s.chunksAccepted}`);
    t.is(s.chunksConfirmed, s.chunksAccepted);
    t.is(s.segmentsConfirmed, sealsSent, `segments confirmed ${s.segmentsConfirmed} = seals sent ${sealsSent}`);
    t.is(await page.getAttribute('#unconfirmed', 'data-count'), '0');
    t.is(await page.getAttribute('#video', 'class'), 'confirmed');
  });
});

test.serial('after a reload the page rejects a relay\'s replay of recorded live traffic (E_REPLAY from its persisted stream state)', async (t) => {
  if (!requireTool(t, 'chromium (Debian chromium)', chromiumBin !== null)) return;
  await withRig('web-replay', {}, async (r) => {
    const recorder = await recordLive(r);
    const { page, url } = await r.ownerPage();
    await streamCamera(r, 6);
    const seals = count(recorder.messages, 'seal');
    await until(async () => (await statsOf(page)).segmentsConfirmed >= seals, 20_000, 'every segment to be confirmed');
    const live = await statsOf(page);
    const key = `sealcam:stream:${r.home.identity.idHex}`;
    const stored = await page.evaluate((k) => localStorage.getItem(k), key);
    t.truthy(stored, `${key} is in the page's localStorage`);
    t.true(live.framesDrawn > 0 && live.chunksUnconfirmed === 0, `live: ${live.framesDrawn} frames drawn, ${live.chunksConfirmed} chunks confirmed`);
    await recorder.close(); // the recording ends here (it would otherwise record the replay too)

    await page.goto(url); // the owner reloads the page: same origin, same localStorage
    await until(async () => (await statsOf(page)).status === 'connected', 20_000, 'the reloaded page to connect');
    // A page on another origin remembers nothing: the control.
    const { page: fresh } = await r.ownerPage();
    t.true((await statsOf(page)).restoredState, 'the reloaded page restored the stream state');

    await replay(r, recorder);
    const chunks = count(recorder.messages, 'chunk');
    const replayed = chunks + seals;
    await until(async () => sum((await statsOf(page)).rejected) >= replayed, 20_000, `the reloaded page to reject all ${replayed} replayed chunks and seals`);
    const control = await (async () => {
      await until(async () => {
        const c = await statsOf(fresh);
        return c.chunksAccepted + c.skippedBeforeJoin + sum(c.rejected) >= chunks;
      }, 20_000, 'the control page to take every replayed chunk');
      return statsOf(fresh);
    })();
    await sleep(500);
    const after = await statsOf(page);
    t.log(`replayed ${recorder.messages.length} messages (${chunks} chunks, ${seals} seals, ${count(recorder.messages, 'init')} inits) after the run; reloaded page: ${after.framesDrawn} frames drawn, ${after.chunksAccepted} chunks accepted, rejected ${JSON.stringify(after.rejected)}; control page without the stored state: ${control.framesDrawn} frames drawn, ${control.chunksAccepted} chunks accepted, ${control.skippedBeforeJoin} skipped, rejected ${JSON.stringify(control.rejected)}`);

    t.is(after.framesDrawn, 0, `frames drawn from the replay: ${after.framesDrawn} (expected 0)`);
    t.is(after.chunksAccepted, 0, `replayed chunks accepted: ${after.chunksAccepted} (expected 0)`);
    t.is(sum(after.rejected), replayed, `rejections ${sum(after.rejected)} = replayed chunks and seals ${replayed}`);
    t.deepEqual(Object.keys(after.rejected).filter((c) => c !== 'E_REPLAY' && c !== 'E_STALE_LIVE'), [], `only E_REPLAY and E_STALE_LIVE: ${JSON.stringify(after.rejected)}`);
    t.true((after.rejected.E_REPLAY ?? 0) >= seals, `E_REPLAY ${after.rejected.E_REPLAY ?? 0} ≥ replayed seals ${seals}: every seal of a segment already shown`);
    t.is(control.rejected.E_REPLAY, undefined, `the control page has no stored state, hence no E_REPLAY: ${JSON.stringify(control.rejected)}`);
    t.regex((await page.textContent('#rejections')) ?? '', /E_REPLAY — video this viewer has already been shown was sent again/);
  });
});

test.serial('a page on a new port (an empty localStorage) takes the stream state from the owner home, so a replay after a restart is refused', async (t) => {
  if (!requireTool(t, 'chromium (Debian chromium)', chromiumBin !== null)) return;
  await withRig('web-home-state', {}, async (r) => {
    // The owner home `view --live --web` passes to its page server.
    const homeDir = join(r.dir, 'owner-home');
    await mkdir(homeDir, { mode: 0o700 });
    await writeFile(join(homeDir, 'owner.key'), `${JSON.stringify({ v: 1, secret: toHex(r.owner.exportSecret()) })}\n`, { mode: 0o600 });
    const home = await OwnerHome.open(homeDir);
    const id = r.home.identity.idHex;
    const state: StreamStore = { load: () => home.streamState(id), save: (s) => home.saveStreamState(id, s) };

    const recorder = await recordLive(r);
    const first = await r.ownerPage({ state });
    await streamCamera(r, 5);
    const seals = count(recorder.messages, 'seal');
    await until(async () => (await statsOf(first.page)).segmentsConfirmed >= seals, 20_000, 'every segment to be confirmed');
    const lastSeq = Math.max(...recorder.messages.filter((m) => m.kind === 'seal').map((m) => m.seq));
    await until(async () => (await home.streamState(id))?.highestSeq === lastSeq, 10_000, `the owner home to hold the state up to seq ${lastSeq}`);
    await recorder.close();
    await first.page.close();

    // `view --live --web` again: another port, so another origin and an empty localStorage.
    const second = await r.ownerPage({ state });
    t.not(new URL(second.url).port, new URL(first.url).port, 'a new origin');
    t.true((await statsOf(second.page)).restoredState, 'the new page restored the stream state from the owner home');
    t.is(await second.page.evaluate((k) => localStorage.getItem(k), `sealcam:stream:${id}`), null, 'nothing in the new origin\'s localStorage');
    await replay(r, recorder);
    const chunks = count(recorder.messages, 'chunk');
    await until(async () => sum((await statsOf(second.page)).rejected) >= chunks + seals, 20_000, `the new page to reject all ${chunks + seals} replayed chunks and seals`);
    await sleep(500);
    const after = await statsOf(second.page);
    t.log(`replayed ${recorder.messages.length} messages into a page on a new port: ${after.framesDrawn} frames drawn, rejected ${JSON.stringify(after.rejected)}`);
    t.is(after.framesDrawn, 0, `frames drawn from the replay: ${after.framesDrawn} (expected 0)`);
    t.is(after.chunksAccepted, 0, `replayed chunks accepted: ${after.chunksAccepted} (expected 0)`);
    t.true((after.rejected.E_REPLAY ?? 0) >= seals, `E_REPLAY ${after.rejected.E_REPLAY ?? 0} ≥ replayed seals ${seals}`);
    t.is((await home.streamState(id))?.highestSeq, lastSeq, 'the replay did not move the kept state');
  });
});
