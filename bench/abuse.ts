/**
 * npm run bench:abuse — issue 12's attacks (rows 1–7 and 9) against `sealcam relay --plaintext`
 * in its own process, while a legitimate tenant uses it: a paired, provisioned sim camera
 * (runAgent + MqttUploader, 640×360 at 30 fps so the bench does not starve a 2-core machine)
 * streams to account `home`, and its owner watches live (LiveWatch: verify, decrypt, decode).
 * Every attack comes from another account, `mallory`, with its own viewer and camera logins.
 *
 * For each attack, over a window of at least `windowMs`:
 *   - the relay's peak RSS (sampled from /proc/<pid>/status every 20 ms), and × its idle figure;
 *   - disk used per account (GET …/usage: segments and announcements, what the quota counts);
 *   - the camera's upload loss: every seq it has sealed so far must be in the store once its spool
 *     has drained (GET …/segments, paged); lost = sealed but not stored;
 *   - the owner's live latency p95: capture of a chunk's frame → that chunk verified and
 *     decrypted (one frame per chunk), for chunks that arrived in the window, and × its idle figure;
 *   - this process's own event-loop stall (the camera and the viewer share it with the attackers,
 *     so a long stall here is the bench's, not the relay's).
 * The idle row is the same measurement with no attack, in the same run. Figures only, no
 * assertions. Goals (issue 12): 0 segments lost and p95 ≤ 500 ms under every attack; relay RSS
 * under 300 MB.
 *
 *   npm run bench:abuse -- [--quick] [--json]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { AccountStore } from '../src/relay/accounts.js';
import { DeviceHome } from '../src/device/home.js';
import { loadBoard } from '../src/device/board.js';
import { runAgent } from '../src/device/agent.js';
import { Spool } from '../src/device/spool.js';
import { MqttUploader } from '../src/device/uploader.js';
import type { EnvelopeSink } from '../src/device/sink.js';
import { LiveWatch, percentile } from '../src/owner/live-watch.js';
import { Identity, cameraTopic, publicIdentity, signRoster, splitForTransport, systemRandom } from '../src/protocol/index.js';
import { freePort, provisionRequestBody, redeemCamera, tempDir, waitForPort } from '../test/helpers/relay.js';
import { publishHeader, rawLogin, remainingLength, subscribePacket, writeUntilClosed } from '../test/relay/raw-mqtt.js';
import { connect } from 'node:net';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const log = (m: string) => process.stderr.write(`  … ${m}\n`);
const MB = 1000 * 1000;
const MiB = 1024 * 1024;
const KiB = 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Attack sizes: the issue's (full) or smaller (--quick). */
const SIZE = QUICK
  ? { windowMs: 4000, idleMs: 6000, accountQuota: 16 * MiB, junkEnvelope: 512 * KiB, announcements: 200, announcementBytes: 16 * KiB, oversize: 24 * MB, preAuth: 20 * MB, retained: 100, reassemblyCameras: 2, reassemblyBytes: 16 * MiB, slowBytes: 24 * MB, floods: 40 }
  : { windowMs: 8000, idleMs: 12000, accountQuota: 64 * MiB, junkEnvelope: 512 * KiB, announcements: 200, announcementBytes: 250 * KiB, oversize: 240 * MB, preAuth: 200 * MB, retained: 400, reassemblyCameras: 4, reassemblyBytes: 64 * MiB, slowBytes: 104 * MB, floods: 40 };
const VIDEO = { width: 640, height: 360, fps: 30, bitrate: 600_000, chunkFrames: 1 };
const RETAINED_BYTES = 262 * 1000;

// ---- setup: accounts and logins on disk, before the relay starts (it is their only writer after)
const dir = await tempDir('bench-abuse');
const dataDir = join(dir, 'relay');
const accounts = await AccountStore.open(dataDir);
const owner = await accounts.addAccount('home');
const mallory = await accounts.addAccount('mallory');
const ownerId = Identity.generate(systemRandom);
const camHome = await DeviceHome.open(join(dir, 'camera'));
await camHome.pinOwner(ownerId.public, signRoster(ownerId, { cameraId: camHome.identity.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [ownerId.public] }));
const camLogin = await redeemCamera(accounts, 'home', camHome.identity);
const CAM = camHome.identity.idHex;
/** mallory's cameras: one for junk uploads, announcements and the slow subscriber, then one per unfinished reassembly */
const malloryCams = await Promise.all(
  Array.from({ length: 1 + SIZE.reassemblyCameras }, async () => {
    const id = Identity.generate(systemRandom);
    return { id: id.idHex, login: await redeemCamera(accounts, 'mallory', id) };
  }),
);
const junkCam = malloryCams[0]!;

const [port, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
const mqttUrl = `mqtt://127.0.0.1:${port}`;
const httpUrl = `http://127.0.0.1:${httpPort}`;
const relay = spawn(process.execPath, ['bin/sealcam.js', 'relay', '--data', dataDir, '--plaintext', '--port', String(port), '--ws-port', String(wsPort), '--http-port', String(httpPort), '--account-quota', String(SIZE.accountQuota)], { stdio: ['ignore', 'ignore', 'pipe'] });
/** the relay's log codes (E_…) since the last call */
let relayCodes: Record<string, number> = {};
let relayTail = '';
relay.stderr!.on('data', (d: Buffer) => {
  const lines = (relayTail + d.toString('utf8')).split('\n');
  relayTail = lines.pop()!;
  for (const l of lines) for (const m of l.matchAll(/\b(E_[A-Z_]+)\b/g)) relayCodes[m[1]!] = (relayCodes[m[1]!] ?? 0) + 1;
});
await waitForPort(port, 60_000);
await waitForPort(httpPort, 10_000);
log(`relay pid ${relay.pid} on ${mqttUrl}, ${httpUrl}; data ${dataDir}; --account-quota ${SIZE.accountQuota}`);

const rssMB = (field: 'VmRSS' | 'VmHWM' = 'VmRSS') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${relay.pid}/status`, 'utf8'))![1]) / 1024;

// ---- HTTP, as any client would (node:http, so a source address can be chosen)
type Login = { username: string; password: string };
interface HttpReply {
  status: number;
  body: Buffer;
  ms: number;
}
function http(path: string, o: { login?: Login; method?: string; json?: unknown; from?: string } = {}): Promise<HttpReply> {
  const t0 = performance.now();
  const body = o.json === undefined ? undefined : Buffer.from(JSON.stringify(o.json));
  return new Promise((resolve, reject) => {
    const req = request(`${httpUrl}${path}`, {
      method: o.method ?? 'GET',
      agent: false,
      ...(o.from ? { localAddress: o.from } : {}),
      headers: {
        ...(o.login ? { authorization: `Basic ${Buffer.from(`${o.login.username}:${o.login.password}`).toString('base64')}` } : {}),
        ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
      },
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
const json = async <T>(path: string, login: Login): Promise<T> => {
  const r = await http(path, { login });
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.toString('utf8')}`);
  return JSON.parse(r.body.toString('utf8')) as T;
};
/** Every item of a paged listing (§15.6): follows `next` until it is null. */
async function listAll<T>(path: string, login: Login): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pages = 0;
  let after: number | null = null;
  do {
    const page: { items: T[]; next: number | null } = await json(`${path}?limit=1000${after === null ? '' : `&after=${after}`}`, login);
    items.push(...page.items);
    after = page.next;
    pages++;
  } while (after !== null);
  return { items, pages };
}
interface Usage {
  usedBytes: number;
  segments: number;
  announcements: number;
  evictedSegments: number;
  status: string;
  refused: number;
}
const usage = (who: typeof owner) => json<Usage>(`/v1/accounts/${who.account}/usage`, who);

// ---- MQTT clients
async function mqttClient(login: Login, clientId?: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, ...login, ...(clientId ? { clientId } : {}) });
  c.on('error', () => undefined);
  return c;
}
/** Publish at QoS 1; false when the relay closed the connection instead of acknowledging. */
async function publishOrClosed(c: MqttClient, topic: string, payload: Uint8Array, retain = false): Promise<boolean> {
  if (!c.connected) return false;
  let onClose!: () => void;
  const closed = new Promise<false>((r) => c.once('close', (onClose = () => r(false))));
  const acked = c.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1, retain }).then(() => true, () => false);
  return Promise.race([acked, closed]).finally(() => c.off('close', onClose));
}

// ---- the legitimate tenant: the camera streams, the owner watches
const board = await loadBoard('sim');
const sealed: number[] = [];
const uploader = new MqttUploader({ url: mqttUrl, ...camLogin, cameraId: CAM, spool: await Spool.open(join(camHome.dir, 'spool'), 256 * MiB) });
await uploader.start();
const sink: EnvelopeSink = {
  announce: (a, e) => uploader.announce(a, e),
  segment: (env, info) => {
    sealed.push(info.seq);
    return uploader.segment(env, info);
  },
  live: (c) => uploader.live(c),
  close: () => uploader.close(),
  onRoster: (h) => uploader.onRoster(h),
  rosterArrived: (ms) => uploader.rosterArrived(ms),
};
const latencies: { at: number; ms: number }[] = [];
let offlineStatuses = 0;
const watch = new LiveWatch({
  identity: ownerId,
  camera: publicIdentity(camHome.identity.signPublicKey, camHome.identity.boxPublicKey),
  onEvent: (e) => {
    if (e.type === 'chunk') latencies.push({ at: Date.now(), ms: Date.now() - (e.chunk.captureTime + (e.chunk.chunkIndex * VIDEO.chunkFrames * 1000) / VIDEO.fps) });
  },
});
const viewer = await mqttClient(owner);
viewer.on('message', (topic, payload) => {
  if (topic.endsWith('/status') && payload.includes('"offline"')) offlineStatuses++;
  watch.handle(topic, new Uint8Array(payload));
});
await viewer.subscribeAsync((['keys', 'live', 'status'] as const).map((ch) => cameraTopic('home', CAM, ch)), { qos: 1 });
const tick = setInterval(() => watch.tick(), 1000);
const stop = new AbortController();
const agent = runAgent({ board, home: camHome, sink, realtime: true, video: VIDEO, signal: stop.signal, rosterWaitMs: 500 });
agent.catch((e: Error) => log(`camera stopped: ${e.message}`));
for (const until = Date.now() + 30_000; !latencies.length && Date.now() < until; ) await sleep(100);
await sleep(3000); // past the first segments: the encoder and the viewer's decoder are warm
log(`camera ${CAM} streaming ${VIDEO.width}×${VIDEO.height} at ${VIDEO.fps} fps; the owner sees live chunks: ${latencies.length > 0}`);

/** Wait for the camera's spool to drain, then count the seqs sealed before `cut` that the store lacks. */
async function uploadLoss(cut: number): Promise<{ sealed: number; lost: number[] }> {
  const want = sealed.slice(0, cut);
  await uploader.flush(30_000).catch((e: Error) => log(`spool: ${e.message}`));
  let lost: number[] = want;
  for (const until = Date.now() + 15_000; Date.now() < until; await sleep(250)) {
    const stored = new Set((await listAll<{ seq: number }>(`/v1/accounts/home/cameras/${CAM}/segments`, owner)).items.map((s) => s.seq));
    lost = want.filter((s) => !stored.has(s));
    if (!lost.length) break;
  }
  return { sealed: want.length, lost };
}

// ---- one measured window
interface Row {
  row: string;
  attack: string;
  detail: string;
  rssBeforeMB: number;
  rssPeakMB: number;
  rssPeakOverIdle: number;
  diskMB: { home: number; mallory: number };
  homeStatus: string;
  camera: { sealedDuringAttack: number; sealedSoFar: number; lost: number; lostSeqs: number[]; reconnects: number; offlineStatuses: number };
  viewer: { chunks: number; p50Ms: number | null; p95Ms: number | null; p95OverIdle: number | null };
  benchLoopMaxMs: number;
  relayLogCodes: Record<string, number>;
  windowMs: number;
}
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let idle: Row | null = null;

async function measure(row: string, name: string, attack: () => Promise<string>): Promise<Row> {
  log(`row ${row}: ${name}`);
  const t0 = Date.now();
  const sealedBefore = sealed.length;
  const connectsBefore = uploader.stats.connects;
  const offlineBefore = offlineStatuses;
  relayCodes = {};
  loop.reset();
  const rssBefore = rssMB();
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMB())), 20);
  let detail: string;
  try {
    detail = await attack();
  } catch (e) {
    detail = `attack failed: ${(e as Error).message}`;
  }
  await sleep(Math.max(500, t0 + (name === 'idle' ? SIZE.idleMs : SIZE.windowMs) - Date.now()));
  clearInterval(sampler);
  peak = Math.max(peak, rssMB());
  const t1 = Date.now();
  const benchLoopMaxMs = loop.max / 1e6;
  const codes = relayCodes;
  const lat = latencies.filter((l) => l.at >= t0 && l.at < t1).map((l) => l.ms);
  const sealedDuring = sealed.length - sealedBefore;
  const loss = await uploadLoss(sealed.length);
  const [h, m] = await Promise.all([usage(owner), usage(mallory)]);
  const p95 = percentile(lat, 0.95);
  const r: Row = {
    row,
    attack: name,
    detail,
    rssBeforeMB: rssBefore,
    rssPeakMB: peak,
    rssPeakOverIdle: idle ? peak / idle.rssPeakMB : 1,
    diskMB: { home: h.usedBytes / MB, mallory: m.usedBytes / MB },
    homeStatus: h.status,
    camera: { sealedDuringAttack: sealedDuring, sealedSoFar: loss.sealed, lost: loss.lost.length, lostSeqs: loss.lost, reconnects: uploader.stats.connects - connectsBefore, offlineStatuses: offlineStatuses - offlineBefore },
    viewer: { chunks: lat.length, p50Ms: percentile(lat, 0.5), p95Ms: p95, p95OverIdle: idle?.viewer.p95Ms && p95 !== null ? p95 / idle.viewer.p95Ms : p95 === null ? null : 1 },
    benchLoopMaxMs,
    relayLogCodes: codes,
    windowMs: t1 - t0,
  };
  log(`  ${detail}; RSS ${rssBefore.toFixed(0)} → peak ${peak.toFixed(0)} MB; lost ${r.camera.lost} of ${r.camera.sealedSoFar}; p95 ${p95?.toFixed(0) ?? 'n/a'} ms over ${lat.length} chunks; relay codes ${JSON.stringify(codes)}`);
  return r;
}

// ---- the attacks (issue 12's table), each from account mallory
const malloryTopic = (cam: string, ch: 'seg' | 'keys') => cameraTopic('mallory', cam, ch);

/**
 * Junk that the relay files: an envelope with a valid header (§6.1, as the store reads it) and
 * junk for a body; or (`SCK1`) an announcement, which the relay files by the camera id at 8..24
 * and the epoch at 24..28 (§11.1), the same offsets as in an envelope header.
 */
function junk(magic: 'SCS1' | 'SCK1', cameraHex: string, epoch: number, seq: number, size: number): Uint8Array {
  const b = Buffer.alloc(size, 0x5a);
  b.fill(0, 0, 144); // header and signature: flags and reserved 0
  b.write(magic, 0, 'ascii');
  b.writeUInt8(1, 4); // version
  b.writeUInt8(2, 5); // kind: media
  Buffer.from(cameraHex, 'hex').copy(b, 8); // cameraId
  b.writeUInt32BE(epoch, 24); // epoch
  b.writeBigUInt64BE(BigInt(seq), 28); // seq
  b.writeBigUInt64BE(BigInt(Date.now()), 36); // captureTime
  b.writeUInt32BE(2000, 44); // durationMs
  b.writeUInt32BE(1, 48); // chunkCount
  b.writeUInt32BE(size - 144, 52); // bodyLength
  Buffer.from(systemRandom(12)).copy(b, 56); // nonce: random(12) ‖ seq(8) ‖ 00 00 00 00
  b.writeBigUInt64BE(BigInt(seq), 68);
  b.writeUInt32BE(0, 76);
  return new Uint8Array(b);
}

const attacks: [string, string, () => Promise<string>][] = [
  [
    '1',
    `junk envelopes with valid headers, ${(2 * SIZE.accountQuota) / MiB} MiB: twice mallory's quota`,
    async () => {
      const c = await mqttClient(junkCam.login);
      let sent = 0;
      for (let seq = 0; sent < 2 * SIZE.accountQuota; seq++) {
        for (const piece of splitForTransport(junk('SCS1', junkCam.id, 1, seq, SIZE.junkEnvelope))) if (!(await publishOrClosed(c, malloryTopic(junkCam.id, 'seg'), piece))) return `closed after ${sent} bytes`;
        sent += SIZE.junkEnvelope;
      }
      await c.endAsync();
      await sleep(500);
      const u = await usage(mallory);
      return `${sent / MiB} MiB sent; mallory holds ${(u.usedBytes / MiB).toFixed(1)} MiB (${u.segments} segments), evicted ${u.evictedSegments}, status ${u.status}`;
    },
  ],
  [
    '2',
    `${SIZE.announcements} junk announcements of ${SIZE.announcementBytes / KiB} KiB, then a listing`,
    async () => {
      const c = await mqttClient(junkCam.login);
      let n = 0;
      for (; n < SIZE.announcements; n++) if (!(await publishOrClosed(c, malloryTopic(junkCam.id, 'keys'), junk('SCK1', junkCam.id, n + 1, 0, SIZE.announcementBytes), true))) break;
      await publishOrClosed(c, malloryTopic(junkCam.id, 'keys'), new Uint8Array(0), true); // clears the retained copy
      await c.endAsync();
      await sleep(500);
      const t0 = performance.now();
      const list = await listAll<{ epoch: number }>(`/v1/accounts/mallory/cameras/${junkCam.id}/keys`, mallory);
      return `${n} published; GET …/keys listed ${list.items.length} in ${list.pages} page(s), ${(performance.now() - t0).toFixed(0)} ms`;
    },
  ],
  [
    '3',
    `3 × ${SIZE.oversize / MB} MB PUBLISH from an authenticated client`,
    async () => {
      const took = await Promise.all(
        [1, 2, 3].map(async (i) => {
          const c = await rawLogin(port, { clientId: `big${i}`, ...mallory });
          return writeUntilClosed(c.socket, publishHeader(`sc/v1/mallory/x${i}/roster`, SIZE.oversize), SIZE.oversize);
        }),
      );
      return `relay took ${took.map((t) => (t.written / MB).toFixed(2)).join(', ')} MB before closing (${took.filter((t) => t.closed).length} of 3 cut)`;
    },
  ],
  [
    '4a',
    `${SIZE.preAuth / MB} MB CONNECT before login`,
    async () => {
      const s = connect({ port, host: '127.0.0.1' });
      await new Promise((r) => s.once('connect', r));
      const t = await writeUntilClosed(s, Buffer.concat([Buffer.from([0x10]), remainingLength(SIZE.preAuth)]), SIZE.preAuth);
      return `relay took ${(t.written / MB).toFixed(2)} MB, ${t.closed ? 'then cut' : 'not cut'}`;
    },
  ],
  [
    '4b',
    `${SIZE.retained} retained ${RETAINED_BYTES / 1000} KB messages on random pairing/roster topics`,
    async () => {
      let acked = 0;
      let closes = 0;
      for (let i = 0; i < SIZE.retained; ) {
        const c = await mqttClient(mallory);
        let n = 0;
        for (; i < SIZE.retained; i++, n++) {
          const topic = i % 2 ? `sc/v1/mallory/junk${i}/roster` : `sc/v1/pair/${(i + 0xabc000).toString(16).padStart(32, '0')}`;
          if (!(await publishOrClosed(c, topic, Buffer.alloc(RETAINED_BYTES, i), true))) break;
          acked++;
        }
        c.end(true);
        closes++;
        if (n === 0) break; // refused at once: the account's retained room is full
        i++;
      }
      return `${acked} of ${SIZE.retained} kept, ${closes} connection(s)`;
    },
  ],
  [
    '4d',
    'a QoS 1 subscriber that stops reading',
    async () => {
      const slow = await rawLogin(port, { clientId: 'slow-reader', ...mallory });
      slow.socket.write(subscribePacket(`sc/v1/mallory/${junkCam.id}/seg`, 1));
      await sleep(300);
      const c = await mqttClient(junkCam.login);
      const piece = Buffer.alloc(200 * KiB, 7); // not SCC1: the store drops it, the subscriber still gets it
      let sent = 0;
      while (sent < SIZE.slowBytes && !relayCodes['E_SLOW_CONSUMER']) {
        if (!(await publishOrClosed(c, malloryTopic(junkCam.id, 'seg'), piece))) break;
        sent += piece.length;
      }
      await c.endAsync();
      slow.socket.destroy();
      return `${(sent / MB).toFixed(1)} MB published to it; ${relayCodes['E_SLOW_CONSUMER'] ? 'cut as a slow consumer' : 'NOT cut'}`;
    },
  ],
  [
    '5a',
    `${SIZE.floods} concurrent bad-password CONNECTs for the camera's username`,
    async () => {
      const flood = Array.from({ length: SIZE.floods }, (_, i) => rawLogin(port, { clientId: `f${i}`, username: camLogin.username, password: `guess${i}` }, '127.0.0.2').then((c) => (c.socket.destroy(), c.connack), () => -1));
      const t0 = performance.now();
      const legit = await rawLogin(port, { clientId: `${camLogin.username}:bench`, ...camLogin });
      const ms = performance.now() - t0;
      legit.socket.destroy();
      const codes = await Promise.all(flood);
      return `camera's own login during the flood: CONNACK ${legit.connack} in ${ms.toFixed(0)} ms; flood: ${codes.filter((c) => c === 4).length} × CONNACK 4 (hashed), ${codes.filter((c) => c === 3).length} × CONNACK 3 (refused unhashed)`;
    },
  ],
  [
    '5b',
    `${SIZE.floods} concurrent bad-password HTTP requests for the owner's username`,
    async () => {
      const flood = Array.from({ length: SIZE.floods }, (_, i) => http('/v1/accounts/home/usage', { login: { username: owner.username, password: `guess${i}` }, from: '127.0.0.3' }).then((r) => r.status, () => -1));
      const legit = await http('/v1/accounts/home/usage', { login: owner });
      const codes = await Promise.all(flood);
      const count = (s: number) => codes.filter((c) => c === s).length;
      return `owner's request during the flood: ${legit.status} in ${legit.ms.toFixed(0)} ms; flood: ${count(401)} × 401, ${count(429)} × 429, ${count(503)} × 503`;
    },
  ],
  [
    '6',
    "20 provisioning redemptions of mallory's token with the camera's id",
    async () => {
      const { token } = JSON.parse((await http('/v1/accounts/mallory/provisioning-tokens', { method: 'POST', login: mallory })).body.toString('utf8')) as { token: string };
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await http('/v1/provision', { method: 'POST', json: { ...provisionRequestBody(Identity.generate(systemRandom), token), cameraId: CAM } })).status);
      const still = await rawLogin(port, { clientId: `${camLogin.username}:probe`, ...camLogin });
      still.socket.destroy();
      return `answers ${[...new Set(statuses)].join(', ')}; the camera's login afterwards: CONNACK ${still.connack}`;
    },
  ],
  [
    '7',
    "a stranger connects with the camera's client id",
    async () => {
      const ids = [`${camLogin.username}:${process.pid}`, camLogin.username];
      const codes = await Promise.all(ids.map(async (clientId) => (await rawLogin(port, { clientId, ...mallory }).then((c) => (c.socket.destroy(), c.connack)))));
      return `CONNACK ${codes.join(', ')} for ${ids.length} ids`;
    },
  ],
  [
    '9',
    'usernames __proto__, constructor, toString (MQTT and HTTP)',
    async () => {
      const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
      const mqttCodes = await Promise.all(names.map((username) => rawLogin(port, { clientId: '', username, password: 'x' }, '127.0.0.4').then((c) => (c.socket.destroy(), c.connack), () => -1)));
      const httpCodes = await Promise.all(names.map((username) => http('/v1/accounts/home/usage', { login: { username, password: 'x' }, from: '127.0.0.4' }).then((r) => r.status)));
      return `CONNACK ${mqttCodes.join(', ')}; HTTP ${httpCodes.join(', ')}`;
    },
  ],
  [
    '4c',
    `unfinished ${SIZE.reassemblyBytes / MiB} MiB reassemblies from ${SIZE.reassemblyCameras} of mallory's cameras`,
    async () => {
      const pieces = splitForTransport(new Uint8Array(SIZE.reassemblyBytes).fill(0x33));
      pieces.pop(); // the last piece never comes
      let sent = 0;
      for (const cam of malloryCams.slice(1)) {
        const c = await mqttClient(cam.login);
        for (const p of pieces) if (await publishOrClosed(c, malloryTopic(cam.id, 'seg'), p)) sent += p.length;
        await c.endAsync();
      }
      return `${(sent / MiB).toFixed(0)} MiB of pieces sent, none completes`;
    },
  ],
];

const rows: Row[] = [];
idle = await measure('—', 'idle', async () => 'camera streaming, owner watching, no attack');
for (const [row, name, run] of attacks) rows.push(await measure(row, name, run));

// ---- the end: stop the camera, the final check over everything it sealed
stop.abort();
await agent.catch(() => undefined);
const final = await uploadLoss(sealed.length);
clearInterval(tick);
await uploader.close();
await viewer.endAsync();
await watch.close();
const hwm = rssMB('VmHWM');
relay.kill('SIGTERM');
loop.disable();

const live = watch.summary();
const result = {
  quick: QUICK,
  video: VIDEO,
  accountQuotaBytes: SIZE.accountQuota,
  idle: { rssMB: idle.rssPeakMB, p50Ms: idle.viewer.p50Ms, p95Ms: idle.viewer.p95Ms, chunks: idle.viewer.chunks, benchLoopMaxMs: idle.benchLoopMaxMs },
  attacks: rows,
  final: { sealed: final.sealed, lost: final.lost.length, lostSeqs: final.lost, uploaderConnects: uploader.stats.connects, viewerRejected: live.rejected, viewerGaps: live.gaps.length, framesDecoded: live.framesDecoded },
  relayPeakRssMB: hwm,
  goals: {
    zeroLoss: rows.every((r) => r.camera.lost === 0) && final.lost.length === 0,
    p95Under500Ms: rows.every((r) => r.viewer.p95Ms !== null && r.viewer.p95Ms <= 500),
    rssUnder300MB: hwm < 300,
  },
};
if (args.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  const f = (n: number | null, d = 0) => (n === null ? 'n/a' : n.toFixed(d));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [
    `bench:abuse${QUICK ? ' --quick' : ''}: a ${VIDEO.width}×${VIDEO.height} ${VIDEO.fps} fps sim camera streams to account home, its owner watches live; mallory attacks. Idle (same run): relay RSS ${f(idle.rssPeakMB)} MB, viewer p95 ${f(idle.viewer.p95Ms)} ms`,
    '',
    line(['row', 'attack', 'relay RSS peak MB (× idle)', 'disk MB home / mallory', 'camera lost / sealed', 'viewer p95 ms (× idle)', 'bench loop max ms', 'what happened']),
    line(['---', '---', '---', '---', '---', '---', '---', '---']),
    ...[idle, ...rows].map((r) =>
      line([r.row, r.attack, `${f(r.rssPeakMB)} (${r.rssPeakOverIdle.toFixed(2)})`, `${f(r.diskMB.home, 1)} / ${f(r.diskMB.mallory, 1)}`, `${r.camera.lost} / ${r.camera.sealedSoFar}`, `${f(r.viewer.p95Ms)} (${f(r.viewer.p95OverIdle, 2)})`, f(r.benchLoopMaxMs), r.detail]),
    ),
    '',
    `end: ${final.lost.length} of ${final.sealed} sealed segments missing from the store; camera connects ${uploader.stats.connects}; viewer decoded ${live.framesDecoded} frames, rejected ${JSON.stringify(live.rejected)}, ${live.gaps.length} gaps; relay peak RSS (VmHWM) ${f(hwm)} MB`,
    `goals: 0 segments lost ${result.goals.zeroLoss ? 'MET' : 'NOT MET'}; p95 ≤ 500 ms under every attack ${result.goals.p95Under500Ms ? 'MET' : 'NOT MET'}; relay RSS < 300 MB ${result.goals.rssUnder300MB ? 'MET' : 'NOT MET'}`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}
process.exit(0);
