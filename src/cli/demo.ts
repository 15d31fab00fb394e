/**
 * `sealcam demo` — the seed story on the embedded default, in one command:
 *  1. the embedded relay starts with its `misroute` fault aimed at a stranger's account (with
 *     `--broker URL`, the relay attaches to that external broker instead — adding the demo's logins
 *     through its dynamic-security admin when given `--broker-admin` — and misroutes by republishing;
 *     with `--nats URLS`, one stateless store worker joins that NATS cluster on its shared data
 *     directory, the demo's logins reach the nodes by a configuration reload, and the misroute is
 *     two clients the relay holds logins for: the owner's account read, the stranger's written);
 *  2. an owner account and a stranger account are created; the owner's viewer identity is made;
 *  3. a `sim` camera is paired with the owner through its lens: the owner's pairing code is
 *     rendered into the synthetic camera's 1080p frames (about 25 % of the height, with noise), the
 *     camera finds it with jsQR, answers over the relay, and both print the confirmation code;
 *  4. the camera streams 1080p30 in real time for N seconds, sealed, through its spool and MQTT;
 *  5. the owner watches live (latency from capture to the decrypted live chunk) and then fetches
 *     the history and writes OUT/owner.mp4, decoded frame by frame to count what plays;
 *  6. the stranger receives the misrouted feed live and in their history, and opens nothing;
 *  7. a summary (and --report JSON).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { seconds, urlsOf } from './options.js';
import { connectMqtt } from '../media/mqtt.js';
import { tlsOptionsFor } from '../media/pinned-tls.js';
import { Identity, LiveSession, SealcamError, Viewer, accountWildcard, cameraTopic, systemRandom, toHex } from '../protocol/index.js';
import { LiveWatch, percentile } from '../owner/live-watch.js';
import { OwnerHome } from '../owner/home.js';
import { pairAsOwner } from '../owner/pair.js';
import { pairAsCamera, scanForCode } from '../device/pair.js';
import { SyntheticSource } from '../media/synthetic.js';
import { qrLuma } from '../media/qr.js';
import { loadBoard } from '../device/board.js';
import { DeviceHome } from '../device/home.js';
import { runAgent } from '../device/agent.js';
import { Spool } from '../device/spool.js';
import { MqttUploader } from '../device/uploader.js';
import { startRelay } from '../relay/relay.js';
import { startNatsRelay } from '../relay/nats-relay.js';
import type { IssuedCredentials } from '../relay/accounts.js';
import { relayTls } from '../relay/tls.js';
import { buildApp } from './app.js';
import { decodeFrameCodes } from '../owner/decode.js';
import { countSegments, fetchHistory, listCameras } from '../owner/history.js';
import { readBrokerAdmin } from '../relay/dynsec.js';

const DEMO_MARKER = '.sealcam-demo';


export interface DemoReport {
  framesCaptured: number;
  framesEncoded: number;
  framesDropped: number;
  segmentsUploaded: number;
  framesDecodedByOwner: number;
  ownerSegmentsRejected: number;
  ownerGaps: number;
  strangerSegmentsReceived: number;
  strangerSegmentsRejected: number;
  strangerLiveChunksReceived: number;
  strangerLiveChunksRejected: number;
  strangerRejectionCodes: string[];
  strangerFramesDecoded: number;
  relayDataDir: string;
  ownerMp4: string;
  latencyMs: { p50: number | null; p95: number | null; what: string; framesDecodedLive: number; chunkP50: number | null; chunkP95: number | null };
  /** the owner's live view: chunks confirmed by the camera's seal, still unconfirmed, rejected by code */
  live: { chunksConfirmed: number; chunksUnconfirmed: number; rejected: Record<string, number>; alarms: string[] };
  pairing: { confirmationCodeCamera: string; confirmationCodeOwner: string; scans: number; msFromCodeInFramesToPaired: number };
  /** the owner's phone app as the relay served it during the run (null: not built here) */
  app: { url: string; hash: string } | null;
  broker: { url: string; kind: 'embedded' | 'external' | 'nats'; checksLogins: boolean; /** the relay key the owner and the camera pinned (null: plaintext) */ relayFingerprint: string | null };
}


export interface DemoOptions {
  seconds: number;
  out: string;
  log: (m: string) => void;
  /** an external broker's URL (default: the embedded relay) */
  broker?: string;
  /** its dynamic-security admin login (without it, the broker must accept any login) */
  brokerAdmin?: { username: string; password: string } | null;
  /** run through a NATS cluster (`relay nats-config`) instead */
  nats?: NatsDemoOptions;
}

export interface NatsDemoOptions {
  /** nats://… of the nodes, for the demo's store worker */
  servers: string[];
  /** mqtt(s)://… of the nodes' MQTT listeners */
  mqttUrls: string[];
  /** the folder `relay nats-config` wrote: its auth.conf gets the demo's logins, the nodes here reload it */
  configDir: string;
  /** the cluster's shared relay data directory (accounts, store): the demo's accounts and segments stay there */
  dataDir: string;
}

/** Until the nodes accept `login` (a reload takes effect a moment after the signal), at most `ms`. */
async function natsAccepts(url: string, login: { username: string; password: string }, fingerprint: string | null, ms = 15_000): Promise<void> {
  const tls = await tlsOptionsFor(url, fingerprint);
  for (const deadline = Date.now() + ms; ; ) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = mqtt.connect(url, { ...tls, protocolVersion: 4, username: login.username, password: login.password, reconnectPeriod: 0, connectTimeout: 5000 });
      const done = (v: boolean) => {
        c.end(true);
        resolve(v);
      };
      c.once('connect', () => done(true));
      c.once('error', () => done(false));
      c.once('close', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new SealcamError('E_AUTH', `${url} did not accept the login ${login.username} within ${ms} ms of the configuration reload`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The misroute fault on NATS: no login may read one account and write another there (the
 * permissions are acl.ts's), so the relay uses two it makes: the owner's account is read with its
 * viewer login, and its camera's traffic is written into the stranger's account with a camera login
 * of the stranger's bound to the same camera id, where the stranger's viewer receives it live and a
 * store worker files it in the stranger's history.
 */
async function natsMisroute(url: string, reader: { username: string; password: string }, writer: { username: string; password: string }, fingerprint: string | null, from: string, to: string, camera: string) {
  const read = await connectMqtt(url, { ...reader, fingerprint });
  const write = await connectMqtt(url, { ...writer, fingerprint });
  const stats = { misrouted: 0 };
  read.on('message', (topic, payload, packet) => {
    const channel = topic.split('/')[4];
    if (channel !== 'seg' && channel !== 'live' && channel !== 'keys' && channel !== 'status') return;
    stats.misrouted++;
    write.publish(cameraTopic(to, camera, channel), payload, { qos: channel === 'live' ? 0 : 1, retain: packet.retain });
  });
  await read.subscribeAsync(`sc/v1/${from}/${camera}/+`, { qos: 1 });
  return { stats, close: () => Promise.all([read.endAsync(), write.endAsync()]).then(() => undefined) };
}

export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  // Each run makes a directory of its own inside --out (exclusive, unpredictable name) and never
  // removes anything: two demos at once, or a demo next to other files, cannot touch each other.
  await mkdir(resolve(o.out), { recursive: true });
  const out = await mkdtemp(join(resolve(o.out), `run-${new Date().toISOString().replace(/[:.]/g, '-')}-`));
  await writeFile(join(out, DEMO_MARKER), 'made by sealcam demo (one run); nothing else writes or removes it\n');
  const relayDataDir = o.nats ? resolve(o.nats.dataDir) : join(out, 'relay');
  // On someone else's broker the demo leaves nothing behind: no persistent session, no logins.
  const external = o.broker && !o.nats ? { broker: o.broker, brokerAdmin: o.brokerAdmin ?? null, persistentSession: false, removeLoginsOnClose: true } : {};
  // On a shared broker, account names (topic namespaces, login names) of this run's own.
  const tag = o.broker || o.nats ? `-${toHex(systemRandom(3))}` : '';
  const HOME = `home${tag}`;
  const STRANGER = `stranger${tag}`;
  // The embedded relay uses TLS, as `sealcam relay` does by default: a self-signed certificate in
  // this run's directory, whose key the owner pins and the pairing code carries to the camera
  // (§15.8). Through an external broker the demo speaks whatever its URL says (mqtt:// is plaintext).
  // On NATS, the nodes' MQTT listeners use the cluster data directory's certificate when their URLs are mqtts://.
  const withTls = o.nats ? o.nats.mqttUrls[0]!.startsWith('mqtts:') : !o.broker;
  const tls = withTls ? await relayTls({ dataDir: relayDataDir, hosts: ['127.0.0.1'] }) : null;
  // The owner's phone app at /app/, as `sealcam relay` serves it (skipped, and said, if it cannot be built here).
  // (A NATS store worker serves the history API only.)
  const app = o.nats ? null : await buildApp().catch((e: unknown) => {
    o.log(`not serving the owner app at /app/: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  });
  const relay = o.nats ? await natsDemoRelay(o.nats, tls, o.log) : await startRelay({ dataDir: relayDataDir, port: 0, wsPort: 0, httpPort: 0, fault: { misroute: { toAccount: STRANGER } }, ...external, tls, ...(app ? { app: app.files } : {}), log: o.broker ? o.log : undefined });
  o.log(`relay up: ${relay.mqttUrl}${o.broker ? ' (external broker)' : o.nats ? ` (NATS cluster; a store worker on ${relayDataDir})` : ''}, ${relay.httpUrl} (fault: misroute to account "${STRANGER}")${relay.fingerprint ? `; relay key ${relay.fingerprint}` : ''}`);
  /** a relay login as `owner login` stores it: with the relay's key pinned when it has one */
  const pinned = <T extends object>(login: T) => ({ ...login, httpUrl: relay.httpUrl, ...(relay.fingerprint ? { fingerprint: relay.fingerprint } : {}) });
  let misrouter: Awaited<ReturnType<typeof natsMisroute>> | null = null;
  try {
    const checksLogins = o.broker && !o.nats ? await brokerChecksLogins(o.broker) : true;
    if (!checksLogins) o.log(`WARNING: ${o.broker} accepts any login: every client on it can subscribe to every camera. Only the sealing keeps the video private there.`);
    const board = await loadBoard('sim');
    const ownerLogin = await relay.accounts.addAccount(HOME);
    const strangerLogin = await relay.accounts.addAccount(STRANGER);
    const ownerHome = await OwnerHome.init(join(out, 'owner'));
    await ownerHome.setRelay(pinned(ownerLogin));
    const owner = ownerHome.identity;

    // Pairing through the lens: the owner's code appears in front of the sim camera.
    const home = await DeviceHome.open(join(out, 'camera'));
    let shown!: (text: string) => void;
    const codeShown = new Promise<string>((r) => (shown = r));
    const ownerSide = pairAsOwner({ home: ownerHome, name: 'sim', showCode: (text) => shown(text), timeoutMs: 60_000 });
    const text = await codeShown;
    const lens = new SyntheticSource({ realtime: true });
    const img = qrLuma(text);
    lens.scene.setOverlay({ ...img, x: 1100, y: 400, scale: Math.max(1, Math.round(270 / img.height)), noise: 12 });
    const scans = { framesSeen: 0, framesScanned: 0 };
    const pairStart = Date.now();
    const cameraSide = await pairAsCamera(home, await scanForCode(lens, { timeoutMs: 30_000, stats: scans }));
    const pairMs = Date.now() - pairStart;
    const ownerPaired = await ownerSide;
    const cameraPublic = ownerPaired.camera;
    o.log(`camera ${home.identity.idHex} read the owner's code after ${scans.framesScanned} scans and paired; confirmation code ${cameraSide.code} (owner: ${ownerPaired.code})`);

    // The owner watches live: verify, decrypt and decode each live chunk as it arrives, each
    // segment confirmed by its seal (the same LiveSession as every live viewer, PROTOCOL.md §7.5).
    const latencies: number[] = [];
    const ownerWatch = new LiveWatch({
      identity: owner,
      camera: cameraPublic,
      expectedRoster: ownerHome.expectedRoster(await ownerHome.camera('sim')),
      onEvent: (e) => {
        // One live chunk per frame on the sim board: chunk i is frame i of its segment.
        if (e.type === 'chunk') latencies.push(Date.now() - (e.chunk.captureTime + (e.chunk.chunkIndex * 1000) / board.video.fps));
      },
    });
    const ownerLive = await connectMqtt(relay.mqttUrl, pinned(ownerLogin));
    ownerLive.on('message', (topic, payload) => ownerWatch.handle(topic, new Uint8Array(payload)));
    await ownerLive.subscribeAsync(accountWildcard(HOME), { qos: 1 });

    // The stranger: a viewer with a camera of their own, listening to their own account.
    const stranger = Identity.generate(systemRandom);
    const strangerViewer = new Viewer(stranger);
    const strangersOwnCamera = Identity.generate(systemRandom);
    strangerViewer.pin(strangersOwnCamera.public);
    const strangerSession = new LiveSession(strangersOwnCamera.public, stranger, { now: Date.now });
    const codes = new Set<string>();
    const s = { liveReceived: 0, liveRejected: 0, segReceived: 0, segRejected: 0 };
    const strangerLive = await connectMqtt(relay.mqttUrl, pinned(strangerLogin));
    strangerLive.on('message', (topic, payload) => {
      if (!topic.endsWith('/live')) return;
      s.liveReceived++;
      for (const e of strangerSession.handle('live', new Uint8Array(payload))) {
        if (e.type !== 'rejected') continue;
        s.liveRejected++;
        codes.add(e.code);
      }
    });
    await strangerLive.subscribeAsync(accountWildcard(STRANGER), { qos: 1 });

    if (o.nats) {
      // The fault, with a login of the stranger's account bound to this camera id (not `cam-<id>`, which is the camera's own).
      const writer = await relay.accounts.addUser(STRANGER, 'camera', `misroute-${home.identity.idHex}`, home.identity.idHex);
      misrouter = await natsMisroute(relay.mqttUrl.split(',')[0]!, ownerLogin, writer, relay.fingerprint, HOME, STRANGER, home.identity.idHex);
    }

    // The camera streams.
    const cameraLogin = (await home.relay())!;
    const uploader = new MqttUploader({ ...cameraLogin, cameraId: home.identity.idHex, spool: await Spool.open(join(home.dir, board.spool.dir), board.spool.maxBytes) });
    await uploader.start();
    o.log(`streaming ${o.seconds} s of 1080p30 from the sim camera, sealed for the owner`);
    const total = Math.round(o.seconds * board.video.fps);
    const agent = await runAgent({
      board,
      home,
      sink: uploader,
      seconds: o.seconds,
      realtime: true,
      onProgress: (p) => o.log(`  ${p.framesCaptured}/${total} frames, ${p.segmentsSealed} segments sealed`),
    });
    await uploader.flush(60_000);
    await uploader.close();
    // An external broker acknowledges on receipt; the relay's store worker files a moment later.
    const cam = home.identity.idHex;
    const filed = () => relay.store.list(HOME, cam).length >= uploader.stats.envelopesUploaded && relay.store.list(STRANGER, cam).length >= uploader.stats.envelopesUploaded;
    for (const until = Date.now() + 30_000; !filed() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    if (!filed()) o.log(`WARNING: after 30 s the relay had not filed every segment uploaded (${uploader.stats.envelopesUploaded}) for both accounts`);
    await ownerLive.endAsync();
    // Whatever is still queued in the live decoder comes out (late, and its latency says so).
    await ownerWatch.close();
    const live = ownerWatch.summary();
    const liveDecoded = live.framesDecoded;
    await strangerLive.endAsync();

    // The owner's history → owner.mp4, decoded.
    const historyViewer = new Viewer(owner);
    historyViewer.pin(cameraPublic);
    const ownerHistory = await fetchHistory(pinned(ownerLogin), historyViewer, home.identity.idHex);
    const ownerMp4 = join(out, 'owner.mp4');
    await writeFile(ownerMp4, ownerHistory.mp4, { mode: 0o600 }); // decrypted video
    const decoded = ownerHistory.mp4.length ? (await decodeFrameCodes(ownerHistory.mp4)).length : 0;

    // The stranger's history: the misrouted copies. The camera's uploads are confirmed by the
    // store, their misrouted copies are not: through an external broker or NATS a copy can still
    // be on its way to the store, so the stranger's listing is awaited (at most 15 s) until it
    // holds as many segments as the camera uploaded.
    const strangerListed = async () => (await Promise.all((await listCameras(pinned(strangerLogin))).map((c) => countSegments(pinned(strangerLogin), c)))).reduce((a, b) => a + b, 0);
    for (const until = Date.now() + 15_000; Date.now() < until && (await strangerListed()) < uploader.stats.envelopesUploaded; ) await new Promise((r) => setTimeout(r, 250));
    let strangerFrames = 0;
    for (const cam of await listCameras(pinned(strangerLogin))) {
      const h = await fetchHistory(pinned(strangerLogin), strangerViewer, cam);
      s.segReceived += h.segmentsListed;
      s.segRejected += h.rejected.length;
      for (const r of h.rejected) codes.add(r.code);
      if (h.mp4.length) strangerFrames += (await decodeFrameCodes(h.mp4)).length;
    }
    await misrouter?.close();
    misrouter = null;
    if (o.broker || o.nats) {
      // Leave no retained messages of this run's camera on someone else's broker.
      const c = await connectMqtt(relay.mqttUrl, cameraLogin);
      for (const ch of ['keys', 'status'] as const) await c.publishAsync(cameraTopic(HOME, cam, ch), Buffer.alloc(0), { qos: 1, retain: true });
      await c.endAsync();
      const owner = await connectMqtt(relay.mqttUrl, pinned(ownerLogin)); // the roster topic is the owner's to write
      await owner.publishAsync(cameraTopic(HOME, cam, 'roster'), Buffer.alloc(0), { qos: 1, retain: true });
      await owner.endAsync();
    }
    return {
      framesCaptured: agent.framesCaptured,
      framesEncoded: agent.encoder?.encoded ?? agent.segmenter.frames,
      framesDropped: agent.encoder?.dropped ?? 0,
      segmentsUploaded: uploader.stats.envelopesUploaded,
      framesDecodedByOwner: decoded,
      ownerSegmentsRejected: ownerHistory.rejected.length,
      ownerGaps: ownerHistory.gaps.length,
      strangerSegmentsReceived: s.segReceived,
      strangerSegmentsRejected: s.segRejected,
      strangerLiveChunksReceived: s.liveReceived,
      strangerLiveChunksRejected: s.liveRejected,
      strangerRejectionCodes: [...codes],
      strangerFramesDecoded: strangerFrames,
      relayDataDir,
      ownerMp4,
      latencyMs: {
        p50: live.glassToGlassMs.p50,
        p95: live.glassToGlassMs.p95,
        what: "glass to glass in the owner's Node viewer: capture of a frame → that frame decoded by node-webcodecs, over the loopback relay",
        framesDecodedLive: liveDecoded,
        chunkP50: percentile(latencies, 0.5),
        chunkP95: percentile(latencies, 0.95),
      },
      live: { chunksConfirmed: live.chunksConfirmed, chunksUnconfirmed: live.chunksUnconfirmed, rejected: live.rejected, alarms: live.alarms },
      pairing: { confirmationCodeCamera: cameraSide.code, confirmationCodeOwner: ownerPaired.code, scans: scans.framesScanned, msFromCodeInFramesToPaired: pairMs },
      app: app ? { url: `${relay.httpUrl}/app/`, hash: app.hash } : null,
      broker: { url: relay.mqttUrl, kind: o.nats ? 'nats' : o.broker ? 'external' : 'embedded', checksLogins, relayFingerprint: relay.fingerprint },
    };
  } finally {
    await misrouter?.close().catch(() => undefined);
    await relay.close();
  }
}

/**
 * The relay of a demo on NATS: one store worker on the cluster's shared data directory, which
 * rewrites the cluster's auth.conf for every login it makes and reloads the nodes; each login is
 * then waited for until the nodes accept it, so the demo's next step can use it at once.
 */
async function natsDemoRelay(n: NatsDemoOptions, tls: Awaited<ReturnType<typeof relayTls>> | null, log: (m: string) => void) {
  const relay = await startNatsRelay({ dataDir: resolve(n.dataDir), servers: n.servers, mqttUrls: n.mqttUrls, httpPort: 0, tls, natsConfigDir: resolve(n.configDir), log });
  const fingerprint = tls?.fingerprint ?? null;
  const reload = relay.accounts.mirror!;
  relay.accounts.mirror = async (login: IssuedCredentials) => {
    await reload(login);
    await natsAccepts(n.mqttUrls[0]!, login, fingerprint);
  };
  return { accounts: relay.accounts, store: relay.store, httpUrl: relay.httpUrl, mqttUrl: n.mqttUrls.join(','), fingerprint, close: () => relay.close() };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the seed story on the embedded relay (or through an external broker with --broker): a sim camera streams sealed 1080p30 to its owner while the relay misroutes everything to a stranger, ' +
        "who opens nothing. The camera is paired by reading the owner's code through its own lens",
    )
    .option('--seconds <n>', 'seconds of video to stream', seconds(3600), 10)
    .option('--out <dir>', 'where each run makes its own new directory (run-<time>-<random>) for owner.mp4, the relay data and the camera home; nothing is ever replaced or removed', 'sealcam-demo')
    .option('--report <file>', 'also write the summary as JSON')
    .option(
      '--broker <url>',
      'run the story through this external broker (e.g. a Mosquitto you started) instead of the embedded one; the relay attaches its store and misroutes by republishing. The broker must accept the demo\'s new logins: give --broker-admin, or use a broker that accepts any login (mosquitto -p PORT)',
    )
    .option('--nats <urls>', 'run the story through a NATS cluster (relay nats-config): nats://h1:p1,nats://h2:p2; needs --mqtt-urls, --nats-config and --data. The demo runs one store worker there, and its accounts (home-<tag>, stranger-<tag>) and segments stay in --data')
    .option('--mqtt-urls <urls>', "with --nats: the cluster's MQTT listeners, mqtt(s)://h1:p1,…")
    .option('--nats-config <dir>', 'with --nats: the folder relay nats-config wrote; the demo adds its logins to its auth.conf and reloads the nodes of this machine')
    .option('--data <dir>', "with --nats: the cluster's shared relay data directory (the one relay nats-config and the store workers use)")
    .option('--broker-admin <file>', "the broker's dynamic-security admin login, as relay mosquitto-config --dynamic-security keeps it (<data>/broker-admin.json); the demo adds its logins and rules through it, and removes them when it ends")
    .action(async (opts: { seconds: number; out: string; report?: string; broker?: string; brokerAdmin?: string; nats?: string; mqttUrls?: string; natsConfig?: string; data?: string }) => {
      if (opts.brokerAdmin && !opts.broker) throw new SealcamError('E_BAD_ARGUMENT', '--broker-admin needs --broker');
      if (opts.nats && opts.broker) throw new SealcamError('E_BAD_ARGUMENT', '--nats and --broker exclude each other');
      if (!opts.nats && (opts.mqttUrls || opts.natsConfig || opts.data)) throw new SealcamError('E_BAD_ARGUMENT', '--mqtt-urls, --nats-config and --data go with --nats');
      if (opts.nats && !(opts.mqttUrls && opts.natsConfig && opts.data)) throw new SealcamError('E_BAD_ARGUMENT', '--nats needs --mqtt-urls, --nats-config and --data (as sealcam relay nats-config prints them)');
      const nats = opts.nats ? { servers: urlsOf(opts.nats, ['nats', 'tls'], '--nats'), mqttUrls: urlsOf(opts.mqttUrls!, ['mqtt', 'mqtts'], '--mqtt-urls'), configDir: opts.natsConfig!, dataDir: opts.data! } : null;
      const brokerAdmin = opts.brokerAdmin ? await readBrokerAdmin(resolve(opts.brokerAdmin)) : null;
      if (opts.brokerAdmin && !brokerAdmin) throw new SealcamError('E_CONFIG', `${opts.brokerAdmin}: no such file`);
      const report = await runDemo({ seconds: opts.seconds, out: opts.out, ...(opts.broker ? { broker: opts.broker, brokerAdmin } : {}), ...(nats ? { nats } : {}), log: (m) => process.stderr.write(`${m}\n`) });
      const f = (n: number | null) => (n === null ? 'n/a' : `${Math.round(n)} ms`);
      process.stdout.write(
        [
          'sealcam demo',
          `  pairing    the camera read the owner's code in its frames (${report.pairing.scans} scans) and was paired ${report.pairing.msFromCodeInFramesToPaired} ms after the code appeared; confirmation code ${report.pairing.confirmationCodeCamera} on both sides`,
          `  camera     ${report.framesCaptured} frames captured, ${report.framesEncoded} encoded, ${report.framesDropped} dropped; ${report.segmentsUploaded} sealed segments uploaded`,
          `  owner      ${report.framesDecodedByOwner} frames decoded from ${report.ownerMp4}; ${report.ownerSegmentsRejected} segments rejected, ${report.ownerGaps} gaps`,
          `             live: ${report.latencyMs.framesDecodedLive} frames decoded as they arrived; glass to glass p50 ${f(report.latencyMs.p50)}, p95 ${f(report.latencyMs.p95)} (capture → decoded frame in the owner's Node viewer; to the decrypted chunk: p50 ${f(report.latencyMs.chunkP50)}, p95 ${f(report.latencyMs.chunkP95)})`,
          `             ${report.live.chunksConfirmed} live chunks confirmed by the camera's signature, ${report.live.chunksUnconfirmed} unconfirmed; rejected ${Object.entries(report.live.rejected).map(([c, n]) => `${n} ${c}`).join(', ') || 'none'}`,
          `  stranger   misrouted: ${report.strangerSegmentsReceived} segments and ${report.strangerLiveChunksReceived} live chunks received; rejected ${report.strangerSegmentsRejected} + ${report.strangerLiveChunksRejected} (${report.strangerRejectionCodes.join(', ') || 'none'}); ${report.strangerFramesDecoded} frames decoded`,
          `  relay      ${report.relayDataDir} (ciphertext only); broker ${report.broker.url} (${report.broker.kind}${report.broker.checksLogins ? '' : ', accepts any login'})`,
          `  play       ffplay ${report.ownerMp4}   (or open it in a browser or VLC)`,
          ...(report.app
            ? [`  app        the owner's phone app was served at ${report.app.url} during the run (app.js SHA-256 ${report.app.hash}); sealcam relay --data ${report.relayDataDir} serves it again with this run's accounts and certificate`]
            : []),
          '',
        ].join('\n'),
      );
      if (opts.report) await writeFile(opts.report, `${JSON.stringify(report, null, 2)}\n`);
      if (report.strangerFramesDecoded !== 0 || report.strangerSegmentsReceived === 0 || report.framesDecodedByOwner === 0 || report.pairing.confirmationCodeCamera !== report.pairing.confirmationCodeOwner) process.exitCode = 1;
    });
}

/** Does the broker refuse a login it cannot know? (An open broker accepts anything.) */
async function brokerChecksLogins(url: string): Promise<boolean> {
  try {
    const c = await connectMqtt(url, { username: `sealcam-probe-${process.pid}`, password: systemRandom(16).join('') });
    await c.endAsync();
    return false;
  } catch {
    return true;
  }
}
