/**
 * bench:live --web — glass to glass in the owner's phone app in Chromium (capture → frame drawn on
 * the canvas) at 1080p30, beside the Node viewer (LiveWatch, node-webcodecs) on the same stream in
 * the same run: a sim camera paired through the app by its lens streams in real time over the
 * loopback relay; the page is the relay's /app/ on a 390×844 phone viewport.
 *
 * Every frame is accounted for, stage by stage: captured by the sim camera → submitted to the
 * encoder (or dropped because the encoder was `maxQueue` frames behind: a live camera never queues
 * without bound) → encoded → sent as live chunks → received and verified by each viewer → decoded
 * (Node) or drawn (page). Latency is split at the viewer's input (capture → verified and decrypted,
 * handed to the decoder) so transport and decoding show apart. CPU: the seconds each side used per
 * second of video, and how busy the machine's cores were while streaming (other processes included).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Identity, cameraTopic, publicIdentity } from '../src/protocol/index.js';
import { CaptureClock } from '../src/protocol/capture-clock.js';
import { loadBoard } from '../src/device/board.js';
import { runAgent } from '../src/device/agent.js';
import { DeviceHome } from '../src/device/home.js';
import { Spool } from '../src/device/spool.js';
import { MqttUploader } from '../src/device/uploader.js';
import { connectMqtt } from '../src/media/mqtt.js';
import { parseChunk, parseInitSegment } from '../src/media/cmaf.js';
import { LiveWatch, percentile } from '../src/owner/live-watch.js';
import { until } from '../test/relay/uploader-contract.js';
import { firstRun, openApp, ownerSecret, pairByLens, text } from '../test/app/rig.js';

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface WebLiveResult {
  seconds: number;
  resolution: string;
  camera: { framesCaptured: number; framesSubmitted: number; framesDroppedEncoderBehind: number; framesEncoded: number; liveChunksSent: number; liveDroppedOffline: number };
  page: { framesReceived: number; framesSkippedBeforeKey: number; framesDrawn: number; glassToGlassMs: Percentiles; captureToReceivedMs: Percentiles };
  node: { framesReceived: number; framesDecoded: number; glassToGlassMs: Percentiles; captureToReceivedMs: Percentiles };
  cpu: { cores: number; loadAverageBefore: number; machineBusy: number; nodeSecondsPerVideoSecond: number; chromiumSecondsPerVideoSecond: number };
}

const pct = (xs: readonly number[]): Percentiles => ({ p50: percentile(xs, 0.5), p95: percentile(xs, 0.95) });

/** utime + stime (clock ticks) of a process from /proc, 0 when it is gone. */
function procTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5), counted after the command
  } catch {
    return 0;
  }
}

/** The processes below `root` (Chromium and its renderers and GPU/utility processes). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) (out.push(c), walk(c));
  };
  walk(root);
  return out;
}

/** busy and total jiffies of all cores (/proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total }; // idle and iowait
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** `video`: the camera's size instead of the sim board's 1080p (to find what this machine holds in real time). */
export async function benchLiveWeb(seconds: number, log: (m: string) => void, video: { width: number; height: number } | null = null): Promise<WebLiveResult> {
  const loadAverageBefore = loadavg()[0]!;
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
    // The Node viewer's input: capture time of each frame as it is verified and handed to its decoder.
    const nodeReceived: number[] = [];
    const clock = new CaptureClock();
    let timescale = 90_000;
    const watch = new LiveWatch({
      identity: Identity.fromSecret(Buffer.from(secret, 'hex')),
      camera,
      onEvent: (e) => {
        if (e.type === 'init') timescale = parseInitSegment(e.payload).timescale;
        if (e.type !== 'chunk' || e.chunk.payload.length === 0) return;
        for (const s of parseChunk(e.chunk.payload, timescale)) {
          const captured = clock.at(e.chunk.seq, e.chunk.chunkIndex, e.chunk.captureTime, s.timestampUs);
          if (captured !== undefined) nodeReceived.push(Date.now() - captured);
        }
      },
    });
    const viewer = await connectMqtt(relay.mqttUrl, login);
    viewer.on('message', (topic, payload) => watch.handle(topic, new Uint8Array(payload)));
    await viewer.subscribeAsync(['keys', 'live'].map((c) => cameraTopic(login.account, home.identity.idHex, c as 'keys' | 'live')), { qos: 1 });
    const sim = await loadBoard('sim');
    const board = video ? { ...sim, video: { ...sim.video, ...video } } : sim;
    const up = new MqttUploader({ ...(await home.relay())!, cameraId: home.identity.idHex, spool: await Spool.open(join(dir, 'spool'), board.spool.maxBytes) });
    await up.start();
    log(`streaming ${seconds} s of ${board.video.width}x${board.video.height}@${board.video.fps}`);
    const chromium = descendants(process.pid);
    const before = { machine: machineTicks(), node: process.cpuUsage(), chromium: chromium.reduce((a, p) => a + procTicks(p), 0) };
    const agent = await runAgent({ board, home, sink: up, seconds, realtime: true });
    const after = { machine: machineTicks(), node: process.cpuUsage(), chromium: chromium.reduce((a, p) => a + procTicks(p), 0) };
    await up.flush(30_000);
    await up.close();
    // the last frames drain through both viewers
    const drawn = async () => Number(await text(page, 'frames-drawn'));
    await until(async () => (await drawn()) + (await page.evaluate(() => (window as unknown as { sealcamPlayer: { framesSkippedBeforeKey: number } }).sealcamPlayer.framesSkippedBeforeKey)) >= (agent.encoder?.encoded ?? 0), 5_000, 'the page to draw every frame sent').catch(() => undefined);
    await watch.close();
    await viewer.endAsync();
    const p = await page.evaluate(() => (window as unknown as { sealcamPlayer: { latenciesMs: number[]; receivedLatenciesMs: number[]; framesSubmitted: number; framesSkippedBeforeKey: number } }).sealcamPlayer);
    const n = watch.summary();
    const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
    return {
      seconds,
      resolution: `${board.video.width}x${board.video.height}@${board.video.fps}`,
      camera: {
        framesCaptured: agent.framesCaptured,
        framesSubmitted: agent.encoder?.submitted ?? 0,
        framesDroppedEncoderBehind: agent.encoder?.dropped ?? 0,
        framesEncoded: agent.encoder?.encoded ?? 0,
        liveChunksSent: agent.liveChunks,
        liveDroppedOffline: up.stats.liveDropped,
      },
      page: { framesReceived: p.framesSubmitted + p.framesSkippedBeforeKey, framesSkippedBeforeKey: p.framesSkippedBeforeKey, framesDrawn: await drawn(), glassToGlassMs: pct(p.latenciesMs), captureToReceivedMs: pct(p.receivedLatenciesMs) },
      node: { framesReceived: nodeReceived.length, framesDecoded: n.framesDecoded, glassToGlassMs: n.glassToGlassMs, captureToReceivedMs: pct(nodeReceived) },
      cpu: {
        cores: cpus().length,
        loadAverageBefore,
        machineBusy: (after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total),
        nodeSecondsPerVideoSecond: (cpuSeconds(after.node) - cpuSeconds(before.node)) / seconds,
        chromiumSecondsPerVideoSecond: (after.chromium - before.chromium) / TICKS_PER_SECOND / seconds,
      },
    };
  } finally {
    await context.close();
    await relay.close();
  }
}

/** The result as a person reads it: the frame accounting, then latency with its ratio to the Node viewer (the anchor). */
export function formatLiveWeb(w: WebLiveResult): string {
  const f = (n: number | null) => (n === null ? 'n/a' : n.toFixed(0));
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? 'n/a' : (a / b).toFixed(2));
  const c = w.camera;
  return [
    `bench:live --web — ${w.seconds} s of sim ${w.resolution} in real time over the loopback relay`,
    `  camera   ${c.framesCaptured} captured → ${c.framesSubmitted} to the encoder (${c.framesDroppedEncoderBehind} dropped: encoder behind) → ${c.framesEncoded} encoded = sent live (in ${c.liveChunksSent} chunks, a segment's last one empty; ${c.liveDroppedOffline} chunks dropped while offline)`,
    `  page     ${w.page.framesReceived} received (${w.page.framesSkippedBeforeKey} before the first keyframe) → ${w.page.framesDrawn} drawn   goal: drawn = sent`,
    `  node     ${w.node.framesReceived} received → ${w.node.framesDecoded} decoded`,
    `  glass to glass   page p50 ${f(w.page.glassToGlassMs.p50)} ms  p95 ${f(w.page.glassToGlassMs.p95)} ms (goals 100 / 250)   Node p50 ${f(w.node.glassToGlassMs.p50)} ms  p95 ${f(w.node.glassToGlassMs.p95)} ms   page/Node p50 ${ratio(w.page.glassToGlassMs.p50, w.node.glassToGlassMs.p50)}  p95 ${ratio(w.page.glassToGlassMs.p95, w.node.glassToGlassMs.p95)}`,
    `  capture → verified at the viewer   page p50 ${f(w.page.captureToReceivedMs.p50)} ms  p95 ${f(w.page.captureToReceivedMs.p95)} ms   Node p50 ${f(w.node.captureToReceivedMs.p50)} ms  p95 ${f(w.node.captureToReceivedMs.p95)} ms`,
    `  cpu      ${w.cpu.cores} cores, load average ${w.cpu.loadAverageBefore.toFixed(1)} before the run, ${(w.cpu.machineBusy * 100).toFixed(0)} % busy while streaming; CPU-s per video-s: Node (camera, relay, Node viewer) ${w.cpu.nodeSecondsPerVideoSecond.toFixed(2)}, Chromium ${w.cpu.chromiumSecondsPerVideoSecond.toFixed(2)}`,
    '',
  ].join('\n');
}
