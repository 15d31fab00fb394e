/**
 * npm run bench:relay — N simulated cameras at 4 Mbit/s each (a 1 MB sealed envelope every 2 s,
 * split into 128 KiB messages, QoS 1) through the embedded relay with storage on, and through
 * Mosquitto with the relay's store worker, in the same run. A viewer subscribed to every camera
 * measures delivery latency (first piece published → last piece received). The relay (and
 * Mosquitto) run as their own processes; their CPU time comes from /proc.
 *
 * Prints, per broker and load step: envelopes lost (not stored), p50/p99 latency, broker CPU
 * seconds per GB; and the most cameras held with zero loss and p99 under the 2 s segment length.
 * Goals: >= 100 cameras, and >= 0.5x Mosquitto's throughput per CPU-second.
 *
 * Options: --steps 10,25,50,100 (cameras per step), --seconds 10 (per step), --json.
 * The camera side does not seal each segment: one sealed 1 MB envelope per camera is reused with
 * its seq patched (header bytes 28..36 and the nonce's seq field), which is all the relay reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, mkdtemp } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { CameraEpochs, Identity, SegmentSealer, openRoster, signRoster, splitForTransport, systemRandom } from '../src/protocol/index.js';
import { AccountStore } from '../src/relay/accounts.js';
import { writeMosquittoConfig } from '../src/relay/mosquitto.js';
import { ensureStoreLogin } from '../src/relay/relay.js';
import { freePort, signProvisioning, waitForPort } from '../test/helpers/relay.js';
import { findTool } from '../test/helpers/tools.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const STEPS = opt('--steps', '10,25,50,100').split(',').map(Number);
const SECONDS = Number(opt('--seconds', '10'));
const SEGMENT_BYTES = 1_000_000;
const SEGMENT_MS = 2000;
const BIN = fileURLToPath(new URL('../bin/sealcam.js', import.meta.url));
const say = (m: string) => process.stderr.write(`  … ${m}\n`);

interface StepResult {
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

function cpuSeconds(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then((s) => {
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  });
}

async function countStored(dataDir: string): Promise<number> {
  const root = join(dataDir, 'store', 'bench');
  let n = 0;
  for (const cam of await readdir(root).catch(() => [] as string[])) n += (await readdir(join(root, cam, 'seg')).catch(() => [] as string[])).length;
  return n;
}

function connect(url: string, username: string, password: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { protocolVersion: 4, username, password, reconnectPeriod: 0, connectTimeout: 60_000 });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
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

async function runStep(brokerUrl: string, dataDir: string, pids: number[], viewer: { username: string; password: string }, cameras: { cameraId: string; username: string; password: string; stamp: (seq: number) => Uint8Array }[], seqBase: number): Promise<StepResult> {
  const latencies: number[] = [];
  const firstSent = new Map<string, number>();
  const sub = await connect(brokerUrl, viewer.username, viewer.password);
  const piecesSeen = new Map<string, number>();
  sub.on('message', (_topic, payload) => {
    const hash = payload.subarray(20, 28).toString('hex');
    const count = payload.readUInt16BE(8);
    const seen = (piecesSeen.get(hash) ?? 0) + 1;
    piecesSeen.set(hash, seen);
    if (seen === count) {
      const t0 = firstSent.get(hash);
      if (t0 !== undefined) latencies.push(performance.now() - t0);
      piecesSeen.delete(hash);
    }
  });
  await sub.subscribeAsync('sc/v1/bench/+/seg', { qos: 1 });
  const clients = await Promise.all(cameras.map((c) => connect(brokerUrl, c.username, c.password)));
  const storedBefore = await countStored(dataDir);
  const cpuBefore = await Promise.all(pids.map(cpuSeconds));
  let sent = 0;
  let bytes = 0;
  const timers: NodeJS.Timeout[] = [];
  const rounds = Math.floor((SECONDS * 1000) / SEGMENT_MS);
  await new Promise<void>((resolve) => {
    let pending = cameras.length * rounds;
    cameras.forEach((c, i) => {
      const offset = (i / cameras.length) * SEGMENT_MS;
      for (let r = 0; r < rounds; r++) {
        timers.push(
          setTimeout(() => {
            const pieces = splitForTransport(c.stamp(seqBase + r));
            firstSent.set(Buffer.from(pieces[0]!.subarray(20, 28)).toString('hex'), performance.now());
            sent++;
            for (const p of pieces) {
              bytes += p.length;
              clients[i]!.publish(`sc/v1/bench/${c.cameraId}/seg`, Buffer.from(p), { qos: 1 }, () => undefined);
            }
            if (--pending === 0) resolve();
          }, offset + r * SEGMENT_MS),
        );
      }
    });
  });
  // Let the last envelopes drain: until everything is stored, or 15 s.
  const deadline = Date.now() + 15_000;
  while ((await countStored(dataDir)) - storedBefore < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const stored = (await countStored(dataDir)) - storedBefore;
  const cpuAfter = await Promise.all(pids.map(cpuSeconds));
  await Promise.all(clients.map((c) => c.endAsync()));
  await sub.endAsync();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const cpu = cpuAfter.reduce((a, b, i) => a + b - cpuBefore[i]!, 0);
  const gb = bytes / 1e9;
  return { cameras: cameras.length, envelopesSent: sent, envelopesStored: stored, lost: sent - stored, p50ms: pct(0.5), p99ms: pct(0.99), brokerCpuSeconds: cpu, gbMoved: gb, cpuSecondsPerGB: cpu / gb };
}

async function prepare(dataDir: string, maxCameras: number) {
  say(`creating ${maxCameras} camera logins (scrypt)`);
  const accounts = await AccountStore.open(dataDir, { maxCamerasPerAccount: Math.max(1, maxCameras) });
  const viewer = await accounts.addAccount('bench');
  const owner = Identity.generate(systemRandom);
  const cameras = [];
  for (let i = 0; i < maxCameras; i++) {
    const camera = Identity.generate(systemRandom);
    const { token } = await accounts.issueProvisioningToken('bench');
    const raw = new Uint8Array(Buffer.from(token, 'base64url'));
    const creds = await accounts.redeemProvisioningToken(raw, signProvisioning(camera, raw));
    cameras.push({ cameraId: camera.idHex, username: creds.username, password: creds.password, stamp: envelopeTemplate(camera, owner) });
  }
  await ensureStoreLogin(accounts, dataDir);
  return { accounts, viewer, cameras };
}

function startChild(cmd: string, argv: string[]): ChildProcess {
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
}

/** `sealcam relay` prints "relay up" once its broker listens, or its store worker has subscribed. */
function relayUp(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('relay up')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`relay exited (${code}) before it was up`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function benchBroker(name: string, maxCameras: number): Promise<StepResult[] | null> {
  const dataDir = await mkdtemp(join(tmpdir(), `sealcam-bench-${name}-`));
  const { viewer, cameras, accounts } = await prepare(dataDir, maxCameras);
  const children: ChildProcess[] = [];
  let url: string;
  let pids: number[];
  if (name === 'embedded') {
    const port = await freePort();
    const relay = startChild(process.execPath, [BIN, 'relay', '--data', dataDir, '--plaintext', '--port', String(port), '--ws-port', '0', '--http-port', '0']);
    children.push(relay);
    await relayUp(relay);
    url = `mqtt://127.0.0.1:${port}`;
    pids = [relay.pid!];
  } else {
    const bin = findTool('mosquitto');
    if (!bin) return null;
    const port = await freePort();
    const { confPath } = await writeMosquittoConfig(accounts, join(dataDir, 'mosquitto'), { host: '127.0.0.1', port, runAs: userInfo().username });
    const m = startChild(bin, ['-c', confPath]);
    children.push(m);
    await waitForPort(port, 30_000);
    url = `mqtt://127.0.0.1:${port}`;
    const worker = startChild(process.execPath, [BIN, 'relay', '--data', dataDir, '--plaintext', '--broker', url, '--http-port', '0']);
    children.push(worker);
    await relayUp(worker);
    pids = [m.pid!, worker.pid!];
  }
  const results: StepResult[] = [];
  try {
    let seqBase = 0;
    for (const n of STEPS) {
      say(`${name}: ${n} cameras for ${SECONDS} s`);
      results.push(await runStep(url, dataDir, pids, viewer, cameras.slice(0, n), seqBase));
      seqBase += 1000;
    }
  } finally {
    for (const c of children.reverse()) await stop(c);
  }
  return results;
}

const maxCameras = Math.max(...STEPS);
const embedded = (await benchBroker('embedded', maxCameras))!;
const mosquitto = await benchBroker('mosquitto', maxCameras);
const held = (rs: StepResult[]) => Math.max(0, ...rs.filter((r) => r.lost === 0 && r.p99ms < SEGMENT_MS).map((r) => r.cameras));
const perCpu = (rs: StepResult[]) => {
  const moved = rs.reduce((a, r) => a + r.gbMoved, 0);
  const cpu = rs.reduce((a, r) => a + r.brokerCpuSeconds, 0);
  return moved / cpu;
};
const summary = {
  segmentBytes: SEGMENT_BYTES,
  secondsPerStep: SECONDS,
  embedded: { steps: embedded, camerasHeld: held(embedded), gbPerCpuSecond: perCpu(embedded) },
  mosquitto: mosquitto ? { steps: mosquitto, camerasHeld: held(mosquitto), gbPerCpuSecond: perCpu(mosquitto) } : 'mosquitto not installed',
  ratioEmbeddedToMosquittoPerCpu: mosquitto ? perCpu(embedded) / perCpu(mosquitto) : null,
  goals: { cameras: 100, ratioPerCpu: 0.5 },
};
if (args.includes('--json')) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
else {
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const lines = [`bench:relay — 4 Mbit/s cameras (1 MB envelope / 2 s, 128 KiB QoS 1 messages), ${SECONDS} s per step, storage on`];
  for (const [name, rs] of [['embedded aedes relay', embedded], ['Mosquitto + store worker', mosquitto]] as const) {
    if (!rs) {
      lines.push(`  ${name}: mosquitto not installed`);
      continue;
    }
    lines.push(`  ${name}`);
    for (const r of rs) lines.push(`    ${String(r.cameras).padStart(4)} cameras  lost ${r.lost}/${r.envelopesSent}  p50 ${f(r.p50ms, 0)} ms  p99 ${f(r.p99ms, 0)} ms  ${f(r.cpuSecondsPerGB)} CPU-s/GB`);
    lines.push(`    held with 0 loss and p99 < 2 s: ${held(rs)} cameras`);
  }
  if (mosquitto) lines.push(`  throughput per CPU-second, embedded / Mosquitto: ${f(summary.ratioEmbeddedToMosquittoPerCpu!, 2)} (goal ≥ 0.5; cameras goal ≥ 100)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
