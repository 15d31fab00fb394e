/**
 * Pieces every engine of `npm run bench:relay` shares: simulated cameras (one sealed 1 MB envelope
 * each, re-stamped with a new seq), one load step (cameras publish, a viewer measures latency, the
 * store is counted), CPU time of the server processes from /proc, and child-process helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { CameraEpochs, Identity, SegmentSealer, openRoster, signRoster, splitForTransport, systemRandom } from '../src/protocol/index.js';
import { AccountStore } from '../src/relay/accounts.js';
import { ensureStoreLogin } from '../src/relay/relay.js';
import { mirrorNatsLogins } from '../src/relay/nats-logins.js';
import { signProvisioning } from '../test/helpers/relay.js';

export const SEGMENT_BYTES = 1_000_000;
export const SEGMENT_MS = 2000;
export const BIN = fileURLToPath(new URL('../bin/sealcam.js', import.meta.url));
export const say = (m: string) => process.stderr.write(`  … ${m}\n`);

export interface StepResult {
  cameras: number;
  envelopesSent: number;
  envelopesStored: number;
  lost: number;
  p50ms: number;
  p99ms: number;
  brokerCpuSeconds: number;
  gbMoved: number;
  cpuSecondsPerGB: number;
}

export interface BenchCamera {
  cameraId: string;
  username: string;
  password: string;
  stamp: (seq: number) => Uint8Array;
}

export interface Login {
  username: string;
  password: string;
}

/** user + system CPU seconds of a running process */
export function cpuSeconds(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then((s) => {
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  });
}

/** envelopes filed in the store of the `bench` account (one file per camera and seq) */
export async function countStored(dataDir: string): Promise<number> {
  const root = join(dataDir, 'store', 'bench');
  let n = 0;
  for (const cam of await readdir(root).catch(() => [] as string[])) n += (await readdir(join(root, cam, 'seg')).catch(() => [] as string[])).length;
  return n;
}

/**
 * Connect as a camera or viewer does: a refusal that says "try later" (CONNACK 3, the embedded
 * relay's login guard throttling a burst of logins from one address) is retried after a pause.
 */
export async function connect(url: string, username: string, password: string): Promise<MqttClient> {
  const deadline = Date.now() + 120_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<MqttClient>((resolve, reject) => {
        const c = mqtt.connect(url, { protocolVersion: 4, username, password, reconnectPeriod: 0, connectTimeout: 60_000 });
        c.once('connect', () => {
          c.removeAllListeners('error');
          c.on('error', () => undefined); // a later error shows as loss, not as a crash of the bench
          resolve(c);
        });
        c.once('error', (e) => {
          c.end(true);
          reject(e);
        });
      });
    } catch (e) {
      if ((e as { code?: number }).code !== 3 || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}

/** A sealed 1 MB envelope for `camera`, and a way to re-stamp it with another seq. */
function envelopeTemplate(camera: Identity, owner: Identity) {
  const roster = openRoster(signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] }), owner.signPublicKey);
  const epochs = new CameraEpochs(camera, systemRandom, 0);
  epochs.rotate(roster, Date.now());
  const env = new SegmentSealer(camera, epochs, systemRandom, 0).seal({ kind: 'media', captureTime: Date.now(), durationMs: SEGMENT_MS, payload: systemRandom(SEGMENT_BYTES) });
  return (seq: number) => {
    const e = env.slice();
    const v = new DataView(e.buffer);
    v.setBigUint64(28, BigInt(seq));
    v.setBigUint64(56 + 12, BigInt(seq));
    return e;
  };
}

/** The key a viewer sees on every transport piece of one envelope (§10: hash prefix). */
export const pieceKey = (piece: Uint8Array) => Buffer.from(piece.subarray(20, 28)).toString('hex');

/**
 * A viewer on `url` subscribed to every bench camera: the latency from `firstSent` (set by the
 * caller) to the last piece of each envelope received. Pieces are counted by index, so a piece
 * sent again after a failover is not counted twice.
 */
export async function latencyViewer(url: string, viewer: Login) {
  const latencies: number[] = [];
  const firstSent = new Map<string, number>();
  const sub = await connect(url, viewer.username, viewer.password);
  const piecesSeen = new Map<string, Set<number>>();
  sub.on('message', (_topic, payload) => {
    const key = pieceKey(payload);
    const count = payload.readUInt16BE(8);
    const seen = piecesSeen.get(key) ?? new Set<number>();
    seen.add(payload.readUInt16BE(6));
    piecesSeen.set(key, seen);
    if (seen.size === count) {
      const t0 = firstSent.get(key);
      if (t0 !== undefined) latencies.push(performance.now() - t0);
      firstSent.delete(key);
    }
  });
  await sub.subscribeAsync('sc/v1/bench/+/seg', { qos: 1 });
  return {
    firstSent,
    percentiles: () => {
      const l = [...latencies].sort((a, b) => a - b);
      const pct = (p: number) => l[Math.min(l.length - 1, Math.floor(p * l.length))] ?? NaN;
      return { p50: pct(0.5), p99: pct(0.99) };
    },
    close: () => sub.endAsync(),
  };
}

/** Wait until `target` envelopes are stored beyond `before`, or `ms` pass; returns how many are. */
export async function drainStored(dataDir: string, before: number, target: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  while ((await countStored(dataDir)) - before < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return (await countStored(dataDir)) - before;
}

/**
 * One load step: every camera publishes a 1 MB envelope every 2 s for `seconds` (camera i on
 * cameraUrls[i mod n]), the viewer on `viewerUrl` measures latency, and `pids` are the server
 * processes whose CPU is counted.
 */
export async function runStep(o: { cameraUrls: string[]; viewerUrl: string; dataDir: string; pids: number[]; viewer: Login; cameras: BenchCamera[]; seqBase: number; seconds: number }): Promise<StepResult> {
  const { cameras, seqBase } = o;
  const view = await latencyViewer(o.viewerUrl, o.viewer);
  const clients = await Promise.all(cameras.map((c, i) => connect(o.cameraUrls[i % o.cameraUrls.length]!, c.username, c.password)));
  const storedBefore = await countStored(o.dataDir);
  const cpuBefore = await Promise.all(o.pids.map(cpuSeconds));
  let sent = 0;
  let bytes = 0;
  const rounds = Math.floor((o.seconds * 1000) / SEGMENT_MS);
  await new Promise<void>((resolve) => {
    let pending = cameras.length * rounds;
    cameras.forEach((c, i) => {
      const offset = (i / cameras.length) * SEGMENT_MS;
      for (let r = 0; r < rounds; r++) {
        setTimeout(() => {
          const pieces = splitForTransport(c.stamp(seqBase + r));
          view.firstSent.set(pieceKey(pieces[0]!), performance.now());
          sent++;
          for (const p of pieces) {
            bytes += p.length;
            clients[i]!.publish(`sc/v1/bench/${c.cameraId}/seg`, Buffer.from(p), { qos: 1 }, () => undefined);
          }
          if (--pending === 0) resolve();
        }, offset + r * SEGMENT_MS);
      }
    });
  });
  // Let the last envelopes drain: until everything is stored, or 15 s.
  const stored = await drainStored(o.dataDir, storedBefore, sent, 15_000);
  const cpuAfter = await Promise.all(o.pids.map(cpuSeconds));
  await Promise.all(clients.map((c) => c.endAsync()));
  await view.close();
  const { p50, p99 } = view.percentiles();
  const cpu = cpuAfter.reduce((a, b, i) => a + b - cpuBefore[i]!, 0);
  const gb = bytes / 1e9;
  return { cameras: cameras.length, envelopesSent: sent, envelopesStored: stored, lost: sent - stored, p50ms: p50, p99ms: p99, brokerCpuSeconds: cpu, gbMoved: gb, cpuSecondsPerGB: cpu / gb };
}

/** The bench account, its viewer login, and `maxCameras` camera logins (with NATS hashes when `nats`). */
export async function prepare(dataDir: string, maxCameras: number, o: { nats?: boolean } = {}) {
  say(`creating ${maxCameras} camera logins (scrypt${o.nats ? ' + bcrypt for NATS' : ''})`);
  const accounts = await AccountStore.open(dataDir, { maxCamerasPerAccount: Math.max(1, maxCameras) });
  if (o.nats) mirrorNatsLogins(accounts, dataDir);
  const viewer = await accounts.addAccount('bench');
  const owner = Identity.generate(systemRandom);
  const cameras: BenchCamera[] = [];
  for (let i = 0; i < maxCameras; i++) {
    const camera = Identity.generate(systemRandom);
    const { token } = await accounts.issueProvisioningToken('bench');
    const raw = new Uint8Array(Buffer.from(token, 'base64url'));
    const creds = await accounts.redeemProvisioningToken(raw, signProvisioning(camera, raw));
    cameras.push({ cameraId: camera.idHex, username: creds.username, password: creds.password, stamp: envelopeTemplate(camera, owner) });
  }
  const store = await ensureStoreLogin(accounts, dataDir);
  return { accounts, viewer, cameras, store };
}

export function startChild(cmd: string, argv: string[]): ChildProcess {
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
}

/** `sealcam relay` prints "relay up" once its broker listens, "relay store worker up" once a NATS worker is attached. */
export function relayUp(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/relay (store worker )?up/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`relay exited (${code}) before it was up`)));
  });
}

export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}
