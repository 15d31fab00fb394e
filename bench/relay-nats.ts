/**
 * `npm run bench:relay -- --engine nats`: the relay on a 3-node NATS cluster (issue 15, docs/SCALING.md)
 * with store workers in their own processes (`sealcam relay --nats`), measured three ways:
 *   1. the load steps every engine runs (cameras spread over the nodes, the viewer on node 3; the
 *      CPU of every nats-server node and every worker counted together);
 *   2. scaling: a backlog of uploads queued in the stream with no worker running, then drained by
 *      1 and by 2 workers (throughput in total and per worker);
 *   3. the goal run: the largest step's cameras as real uploaders (MqttUploader: spool, URL list,
 *      failover), node 1 SIGKILLed half-way; envelopes lost = handed to a camera, left its spool
 *      (acknowledged by a node) and never stored.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { splitForTransport } from '../src/protocol/index.js';
import { Spool } from '../src/device/spool.js';
import { MqttUploader } from '../src/device/uploader.js';
import { NATS_UPLOAD_STREAM } from '../src/relay/nats-config.js';
import { NATS_SERVER, startNatsCluster, type TestNatsCluster } from '../test/helpers/nats.js';
import { BIN, SEGMENT_MS, connect, countStored, cpuSeconds, drainStored, latencyViewer, pieceKey, prepare, relayUp, runStep, say, startChild, stop, type BenchCamera, type StepResult } from './relay-common.js';

export interface ScalingResult {
  workers: number;
  envelopes: number;
  seconds: number;
  mbPerSecond: number;
  mbPerSecondPerWorker: number;
  cpuSecondsPerGB: number;
}

export interface NodeKillResult {
  cameras: number;
  seconds: number;
  killedAtSecond: number;
  envelopesSent: number;
  envelopesStored: number;
  /** acknowledged by the cluster (left the camera's spool) and never stored */
  lost: number;
  /** not stored and still in a camera's spool when the run ended (not lost: the camera still holds them) */
  stillSpooled: number;
  p50ms: number;
  p99ms: number;
  cpuSecondsPerGB: number;
  reconnects: number;
}

export interface NatsBench {
  steps: StepResult[];
  scaling: ScalingResult[];
  nodeKill: NodeKillResult | null;
}

const pidOf = async (path: string) => Number((await readFile(path, 'utf8')).trim());

async function startWorkers(n: number, dataDir: string, cluster: TestNatsCluster): Promise<ChildProcess[]> {
  const { natsUrls, mqttUrls } = cluster.config;
  const ws = Array.from({ length: n }, () => startChild(process.execPath, [BIN, 'relay', '--data', dataDir, '--plaintext', '--nats', natsUrls.join(','), '--mqtt-urls', mqttUrls.join(','), '--http-port', '0']));
  await Promise.all(ws.map(relayUp));
  return ws;
}

/** Messages waiting in the upload stream (work queue: acknowledged ones are gone). */
async function streamMessages(servers: string[], store: { username: string; password: string }): Promise<number> {
  const nc = await natsConnect({ servers, user: store.username, pass: store.password });
  try {
    return (await (await jetstreamManager(nc)).streams.info(NATS_UPLOAD_STREAM)).state.messages;
  } finally {
    await nc.close();
  }
}

/** Queue `perCamera` envelopes of every camera with no worker running, then time `workers` workers draining them. */
async function scalingRun(o: { workers: number; dataDir: string; cluster: TestNatsCluster; nodePids: number[]; cameras: BenchCamera[]; perCamera: number; seqBase: number; store: { username: string; password: string } }): Promise<ScalingResult> {
  const { mqttUrls, natsUrls } = o.cluster.config;
  const queuedBefore = await streamMessages(natsUrls, o.store);
  let pieces = 0;
  let bytes = 0;
  await Promise.all(
    o.cameras.map(async (c, i) => {
      const client = await connect(mqttUrls[i % mqttUrls.length]!, c.username, c.password);
      for (let r = 0; r < o.perCamera; r++) {
        for (const p of splitForTransport(c.stamp(o.seqBase + r))) {
          pieces++;
          bytes += p.length;
          await client.publishAsync(`sc/v1/bench/${c.cameraId}/seg`, Buffer.from(p), { qos: 1 });
        }
      }
      await client.endAsync();
    }),
  );
  for (const until = Date.now() + 30_000; (await streamMessages(natsUrls, o.store)) < queuedBefore + pieces && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200));
  const envelopes = o.cameras.length * o.perCamera;
  const before = await countStored(o.dataDir);
  say(`nats scaling: ${envelopes} envelopes (${(bytes / 1e6).toFixed(0)} MB) queued; draining with ${o.workers} worker(s)`);
  const workers = await startWorkers(o.workers, o.dataDir, o.cluster);
  // From the first envelope filed to the last: worker start-up (tsx compiling) is not in the figure.
  let t0 = 0;
  let cpu0 = 0;
  const pids = () => [...o.nodePids, ...workers.map((w) => w.pid!)];
  const sumCpu = async () => (await Promise.all(pids().map(cpuSeconds))).reduce((a, b) => a + b, 0);
  let first = before;
  for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    first = await countStored(o.dataDir);
    if (first > before) break;
  }
  t0 = performance.now();
  cpu0 = await sumCpu();
  const stored = await drainStored(o.dataDir, before, envelopes, 120_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (await sumCpu()) - cpu0;
  for (const w of workers) await stop(w);
  // Envelopes filed after the first one was seen, over the time they took.
  const movedBytes = (bytes / envelopes) * (stored - (first - before));
  const mbPerSecond = movedBytes / 1e6 / seconds;
  if (stored < envelopes) say(`nats scaling: only ${stored} of ${envelopes} stored within 120 s`);
  return { workers: o.workers, envelopes: stored, seconds, mbPerSecond, mbPerSecondPerWorker: mbPerSecond / o.workers, cpuSecondsPerGB: cpu / (movedBytes / 1e9) };
}

/** The goal run: real uploaders (spool, every node's URL, failover), node 1 killed half-way. */
async function nodeKillRun(o: { dataDir: string; cluster: TestNatsCluster; nodePids: number[]; workerPids: number[]; viewer: { username: string; password: string }; cameras: BenchCamera[]; seqBase: number; seconds: number }): Promise<NodeKillResult> {
  const { mqttUrls } = o.cluster.config;
  const spoolRoot = await mkdtemp(join(tmpdir(), 'sealcam-bench-spools-'));
  const view = await latencyViewer(mqttUrls[2]!, o.viewer);
  const uploaders: MqttUploader[] = [];
  const spools: Spool[] = [];
  try {
    for (const [i, c] of o.cameras.entries()) {
      // Camera i starts on node i mod 3 and fails over to the next ones.
      const urls = mqttUrls.map((_, k) => mqttUrls[(i + k) % mqttUrls.length]!);
      const spool = await Spool.open(join(spoolRoot, String(i)), 64 * 1024 * 1024);
      spools.push(spool);
      uploaders.push(new MqttUploader({ url: urls.join(','), account: 'bench', username: c.username, password: c.password, cameraId: c.cameraId, spool, maxMessageBytes: 128 * 1024, backoff: { baseMs: 200, capMs: 2000 } }));
    }
    await Promise.all(uploaders.map((u) => u.start()));
    const connectsBefore = uploaders.reduce((a, u) => a + u.stats.connects, 0);
    const storedBefore = await countStored(o.dataDir);
    const cpuBefore = await Promise.all([...o.nodePids, ...o.workerPids].map(cpuSeconds));
    let killedNodeCpu = 0;
    let sent = 0;
    let bytes = 0;
    const rounds = Math.floor((o.seconds * 1000) / SEGMENT_MS);
    const killAt = (o.seconds * 1000) / 2;
    const kill = new Promise<void>((resolve) =>
      setTimeout(() => {
        void (async () => {
          killedNodeCpu = await cpuSeconds(o.nodePids[0]!);
          say(`nats goal run: SIGKILL node 1 at ${(killAt / 1000).toFixed(0)} s`);
          await o.cluster.kill(0);
          resolve();
        })();
      }, killAt),
    );
    await new Promise<void>((resolve) => {
      let pending = o.cameras.length * rounds;
      o.cameras.forEach((c, i) => {
        const offset = (i / o.cameras.length) * SEGMENT_MS;
        for (let r = 0; r < rounds; r++) {
          setTimeout(() => {
            const env = c.stamp(o.seqBase + r);
            view.firstSent.set(pieceKey(splitForTransport(env)[0]!), performance.now());
            sent++;
            bytes += env.length;
            void uploaders[i]!.segment(env, { seq: o.seqBase + r, kind: 'media', final: false, bytes: env.length }).finally(() => {
              if (--pending === 0) resolve();
            });
          }, offset + r * SEGMENT_MS);
        }
      });
    });
    await kill;
    say('nats goal run: waiting for the spools to drain (60 s at most) and the store (30 s more)');
    await Promise.allSettled(uploaders.map((u) => u.flush(60_000)));
    const stored = await drainStored(o.dataDir, storedBefore, sent, 30_000);
    // Per camera: a seq is lost only if it is neither stored nor still in the camera's spool (with
    // storage receipts a stored envelope may still wait in the spool for its receipt).
    let accounted = 0;
    let stillSpooled = 0;
    for (const [i, c] of o.cameras.entries()) {
      const names = await readdir(join(o.dataDir, 'store', 'bench', c.cameraId, 'seg')).catch(() => [] as string[]);
      const stored = new Set(names.map((n) => Number(/-(\d+)\.scs$/.exec(n)?.[1])).filter((q) => q >= o.seqBase && q < o.seqBase + rounds));
      const spooled = spools[i]!.pending().filter((q) => q >= o.seqBase && q < o.seqBase + rounds && !stored.has(q));
      stillSpooled += spooled.length;
      accounted += stored.size + spooled.length;
    }
    const cpuAfter = await Promise.all([...o.nodePids.slice(1), ...o.workerPids].map(cpuSeconds));
    const cpu = killedNodeCpu - cpuBefore[0]! + cpuAfter.reduce((a, b, i) => a + b - cpuBefore[i + 1]!, 0);
    const { p50, p99 } = view.percentiles();
    return {
      cameras: o.cameras.length,
      seconds: o.seconds,
      killedAtSecond: killAt / 1000,
      envelopesSent: sent,
      envelopesStored: stored,
      lost: sent - accounted,
      stillSpooled,
      p50ms: p50,
      p99ms: p99,
      cpuSecondsPerGB: cpu / (bytes / 1e9),
      reconnects: uploaders.reduce((a, u) => a + u.stats.connects, 0) - connectsBefore,
    };
  } finally {
    await Promise.all(uploaders.map((u) => u.close().catch(() => undefined)));
    await view.close().catch(() => undefined);
    await rm(spoolRoot, { recursive: true, force: true });
  }
}

export async function benchNats(o: { steps: number[]; seconds: number; goalSeconds: number; backlogPerCamera: number; scalingCameras: number }): Promise<NatsBench | null> {
  if (!NATS_SERVER) return null;
  const dataDir = await mkdtemp(join(tmpdir(), 'sealcam-bench-nats-'));
  const maxCameras = Math.max(...o.steps);
  const { accounts, viewer, cameras, store } = await prepare(dataDir, maxCameras, { nats: true });
  say('nats: starting 3 nodes');
  const cluster = await startNatsCluster(accounts, dataDir, join(dataDir, 'nats'));
  let workers: ChildProcess[] = [];
  try {
    const nodePids = await Promise.all(cluster.config.pidPaths.map(pidOf));
    workers = await startWorkers(2, dataDir, cluster);
    const { mqttUrls } = cluster.config;
    const steps: StepResult[] = [];
    let seqBase = 0;
    for (const n of o.steps) {
      say(`nats (3 nodes, 2 workers): ${n} cameras for ${o.seconds} s`);
      steps.push(await runStep({ cameraUrls: mqttUrls, viewerUrl: mqttUrls[2]!, dataDir, pids: [...nodePids, ...workers.map((w) => w.pid!)], viewer, cameras: cameras.slice(0, n), seqBase, seconds: o.seconds }));
      seqBase += 1000;
    }
    for (const w of workers) await stop(w);
    workers = [];
    const scaling: ScalingResult[] = [];
    for (const k of [1, 2]) {
      scaling.push(await scalingRun({ workers: k, dataDir, cluster, nodePids, cameras: cameras.slice(0, o.scalingCameras), perCamera: o.backlogPerCamera, seqBase, store }));
      seqBase += 1000;
    }
    let nodeKill: NodeKillResult | null = null;
    if (o.goalSeconds > 0) {
      workers = await startWorkers(2, dataDir, cluster);
      say(`nats goal run: ${maxCameras} uploaders for ${o.goalSeconds} s, node 1 killed half-way`);
      nodeKill = await nodeKillRun({ dataDir, cluster, nodePids, workerPids: workers.map((w) => w.pid!), viewer, cameras, seqBase, seconds: o.goalSeconds });
    }
    return { steps, scaling, nodeKill };
  } finally {
    for (const w of workers) await stop(w, 'SIGKILL');
    await cluster.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
