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
 * With --engine nats the same steps also run on a 3-node NATS cluster with 2 store workers (every
 * node's and worker's CPU counted), then its scaling (a queued backlog drained by 1 and by 2
 * workers) and the goal run (the largest step's cameras as real uploaders, node 1 killed half-way;
 * bench/relay-nats.ts). Figures are printed as ratios against Mosquitto in the same run.
 *
 * Options: --steps 10,25,50,100 (cameras per step), --seconds 10 (per step), --engine nats,
 * --goal-seconds 30 (0: no node-kill run), --backlog 2 (envelopes per camera for scaling, 50 cameras), --json.
 * The camera side does not seal each segment: one sealed 1 MB envelope per camera is reused with
 * its seq patched (header bytes 28..36 and the nonce's seq field), which is all the relay reads.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { writeMosquittoConfig } from '../src/relay/mosquitto.js';
import { freePort, waitForPort } from '../test/helpers/relay.js';
import { findTool } from '../test/helpers/tools.js';
import { BIN, SEGMENT_BYTES, SEGMENT_MS, prepare, relayUp, runStep, say, startChild, stop, type StepResult } from './relay-common.js';
import { benchNats, type NatsBench } from './relay-nats.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const STEPS = opt('--steps', '10,25,50,100').split(',').map(Number);
const SECONDS = Number(opt('--seconds', '10'));
const ENGINES = opt('--engine', '').split(',').filter(Boolean);
const GOAL_SECONDS = Number(opt('--goal-seconds', '30'));
const BACKLOG = Number(opt('--backlog', '2'));

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
      results.push(await runStep({ cameraUrls: [url], viewerUrl: url, dataDir, pids, viewer, cameras: cameras.slice(0, n), seqBase, seconds: SECONDS }));
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
let nats: NatsBench | null | 'not installed' = null;
if (ENGINES.includes('nats')) {
  nats = (await benchNats({ steps: STEPS, seconds: SECONDS, goalSeconds: GOAL_SECONDS, backlogPerCamera: BACKLOG, scalingCameras: Math.min(50, maxCameras) })) ?? 'not installed';
  if (nats === 'not installed' && process.env.CI === 'true') throw new Error('bench:relay --engine nats: nats-server is not installed');
}
const held = (rs: StepResult[]) => Math.max(0, ...rs.filter((r) => r.lost === 0 && r.p99ms < SEGMENT_MS).map((r) => r.cameras));
const perCpu = (rs: StepResult[]) => {
  const moved = rs.reduce((a, r) => a + r.gbMoved, 0);
  const cpu = rs.reduce((a, r) => a + r.brokerCpuSeconds, 0);
  return moved / cpu;
};
const natsRun = nats && nats !== 'not installed' ? nats : null;
const summary = {
  segmentBytes: SEGMENT_BYTES,
  secondsPerStep: SECONDS,
  embedded: { steps: embedded, camerasHeld: held(embedded), gbPerCpuSecond: perCpu(embedded) },
  mosquitto: mosquitto ? { steps: mosquitto, camerasHeld: held(mosquitto), gbPerCpuSecond: perCpu(mosquitto) } : 'mosquitto not installed',
  ratioEmbeddedToMosquittoPerCpu: mosquitto ? perCpu(embedded) / perCpu(mosquitto) : null,
  ...(nats
    ? {
        nats: natsRun ? { ...natsRun, camerasHeld: held(natsRun.steps), gbPerCpuSecond: perCpu(natsRun.steps) } : 'nats-server not installed',
        ratioNatsToMosquittoPerCpu: natsRun && mosquitto ? perCpu(natsRun.steps) / perCpu(mosquitto) : null,
      }
    : {}),
  goals: { cameras: 100, ratioPerCpu: 0.5, ...(nats ? { natsNodeKillLost: 0 } : {}) },
};
if (args.includes('--json')) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
else {
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const lines = [`bench:relay — 4 Mbit/s cameras (1 MB envelope / 2 s, 128 KiB QoS 1 messages), ${SECONDS} s per step, storage on`];
  const engines: [string, StepResult[] | null][] = [
    ['embedded aedes relay', embedded],
    ['Mosquitto + store worker', mosquitto],
    ...(nats ? ([['NATS, 3 nodes + 2 store workers (CPU of all 5 processes)', natsRun?.steps ?? null]] as [string, StepResult[] | null][]) : []),
  ];
  // The anchor: Mosquitto's figure at the same step of the same run.
  const anchor = (r: StepResult) => mosquitto?.find((m) => m.cameras === r.cameras) ?? null;
  for (const [name, rs] of engines) {
    if (!rs) {
      lines.push(`  ${name}: not installed`);
      continue;
    }
    lines.push(`  ${name}`);
    for (const r of rs) {
      const a = anchor(r);
      const vs = a && rs !== mosquitto ? `  (× Mosquitto: p99 ${f(r.p99ms / a.p99ms, 2)}, CPU/GB ${f(r.cpuSecondsPerGB / a.cpuSecondsPerGB, 2)})` : '';
      lines.push(`    ${String(r.cameras).padStart(4)} cameras  lost ${r.lost}/${r.envelopesSent}  p50 ${f(r.p50ms, 0)} ms  p99 ${f(r.p99ms, 0)} ms  ${f(r.cpuSecondsPerGB)} CPU-s/GB${vs}`);
    }
    lines.push(`    held with 0 loss and p99 < 2 s: ${held(rs)} cameras`);
  }
  if (mosquitto) lines.push(`  throughput per CPU-second, embedded / Mosquitto: ${f(summary.ratioEmbeddedToMosquittoPerCpu!, 2)} (goal ≥ 0.5; cameras goal ≥ 100)`);
  if (natsRun && mosquitto) lines.push(`  throughput per CPU-second, NATS cluster / Mosquitto: ${f(summary.ratioNatsToMosquittoPerCpu!, 2)}`);
  if (natsRun) {
    const one = natsRun.scaling.find((s) => s.workers === 1);
    lines.push('  NATS scaling: a queued backlog drained by the store workers (first envelope filed → last)');
    for (const s of natsRun.scaling) lines.push(`    ${s.workers} worker(s): ${s.envelopes} envelopes in ${f(s.seconds)} s = ${f(s.mbPerSecond)} MB/s, ${f(s.mbPerSecondPerWorker)} MB/s per worker (× 1 worker: ${one ? f(s.mbPerSecond / one.mbPerSecond, 2) : 'n/a'}), ${f(s.cpuSecondsPerGB)} CPU-s/GB`);
    const k = natsRun.nodeKill;
    if (k) {
      const a = natsRun.steps.find((r) => r.cameras === k.cameras);
      lines.push(`  NATS goal run: ${k.cameras} uploaders (spool, failover) for ${k.seconds} s, node 1 SIGKILLed at ${f(k.killedAtSecond, 0)} s`);
      lines.push(`    lost ${k.lost}/${k.envelopesSent} (acknowledged by a node, never stored; goal 0)  stored ${k.envelopesStored}  still spooled ${k.stillSpooled}  reconnects ${k.reconnects}`);
      lines.push(`    p50 ${f(k.p50ms, 0)} ms  p99 ${f(k.p99ms, 0)} ms  ${f(k.cpuSecondsPerGB)} CPU-s/GB${a ? `  (× the same step without a kill: p99 ${f(k.p99ms / a.p99ms, 2)}, CPU/GB ${f(k.cpuSecondsPerGB / a.cpuSecondsPerGB, 2)})` : ''}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
