/**
 * npm run bench:pipeline — 1080p30 synthetic content through the full camera pipeline (capture,
 * encode, segment, seal) and through capture + encode alone, in the same run, each in its own
 * child process so peak RSS is its own. Anchor: the same frames through
 * `ffmpeg -c:v libx264 -preset ultrafast` ("what a user would use instead").
 *
 * Prints fps, pipeline/encode ratio (goal >= 0.95), CPU seconds per second of video, peak RSS
 * (goal <= 150 MB for the pipeline).
 *
 * The children run an esbuild bundle of this file under plain node, as the agent runs on a board
 * (the firmware image carries a bundle): under tsx the same process starts ~37 MB heavier.
 *
 * Options: --frames N (default 300 = 10 s of video), --json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CameraEpochs, Identity, SegmentSealer, openRoster, signRoster, systemRandom } from '../src/protocol/index.js';
import { SyntheticScene, SyntheticSource } from '../src/media/synthetic.js';
import { MotionDetector } from '../src/media/motion.js';
import { H264Encoder } from '../src/media/encoder.js';
import { runPipeline } from '../src/device/pipeline.js';
import type { EnvelopeSink } from '../src/device/sink.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const FRAMES = Number(arg('--frames', '300'));
const FPS = 30;
const BITRATE = 4_000_000;
if (!Number.isInteger(FRAMES) || FRAMES < 30) {
  console.error('--frames: expected an integer >= 30');
  process.exit(2);
}

interface ModeResult {
  mode: string;
  frames: number;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMB: number;
  bytesOut: number;
  dropped: number;
}

/** Child side: run one mode and print its JSON result on stdout. */
async function runMode(mode: 'pipeline' | 'encode'): Promise<void> {
  const source = new SyntheticSource({ maxFrames: FRAMES, fps: FPS });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let bytesOut = 0;
  let dropped = 0;
  if (mode === 'encode') {
    const encoder = new H264Encoder({ width: 1920, height: 1080, fps: FPS, bitrate: BITRATE, keyframeIntervalUs: 2_000_000 }, (u) => {
      bytesOut += u.data.length;
    });
    for await (const frame of source.units()) {
      await encoder.waitForRoom();
      encoder.encode(frame);
    }
    await encoder.flush();
    dropped = encoder.stats.dropped;
    encoder.close();
  } else {
    const camera = Identity.generate(systemRandom);
    const owner = Identity.generate(systemRandom);
    const roster = openRoster(signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] }), owner.signPublicKey);
    const epochs = new CameraEpochs(camera, systemRandom, 0);
    epochs.rotate(roster, Date.now());
    const sink: EnvelopeSink = {
      announce: async () => undefined,
      segment: async (envelope) => {
        bytesOut += envelope.length;
      },
      live: () => undefined,
      close: async () => undefined,
    };
    const r = await runPipeline({ source, sealer: new SegmentSealer(camera, epochs, systemRandom, 0), sink, bitrate: BITRATE, segmentSeconds: 2, chunkFrames: 1, dropWhenBehind: false });
    dropped = r.encoder?.dropped ?? 0;
  }
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const result: ModeResult = { mode, frames: FRAMES, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMB: process.resourceUsage().maxRSS / 1024, bytesOut, dropped };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Bundle this file as the board would run it: one ESM file, native addons left external. */
async function bundle(): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = fileURLToPath(new URL('../node_modules/.cache/sealcam-bench/pipeline.mjs', import.meta.url));
  await build({ entryPoints: [fileURLToPath(import.meta.url)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['node-webcodecs', 'esbuild'], logLevel: 'error', banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
  return outfile;
}

function child(bundled: string, mode: string): ModeResult {
  process.stderr.write(`  … ${mode}: ${FRAMES} frames of 1080p30\n`);
  const r = spawnSync(process.execPath, [bundled, '--child', mode, '--frames', String(FRAMES)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.status !== 0) throw new Error(`${mode} child failed (${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ModeResult;
}

/** The anchor: the same synthetic frames piped into ffmpeg libx264 ultrafast. */
async function ffmpegAnchor(): Promise<ModeResult | null> {
  if (spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status !== 0) return null;
  process.stderr.write(`  … ffmpeg libx264 ultrafast: ${FRAMES} frames\n`);
  const ff = spawn('ffmpeg', ['-hide_banner', '-nostats', '-benchmark', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '1920x1080', '-r', String(FPS), '-i', '-', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', String(BITRATE), '-f', 'null', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const t0 = process.hrtime.bigint();
  const source = new SyntheticSource({ maxFrames: FRAMES, fps: FPS });
  for await (const frame of source.units()) {
    if (!ff.stdin.write(frame.data)) await new Promise((r) => ff.stdin.once('drain', r));
  }
  ff.stdin.end();
  await new Promise((r) => ff.on('close', r));
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s/.exec(stderr);
  const maxrss = /maxrss=(\d+)kB/.exec(stderr);
  return { mode: 'ffmpeg libx264 ultrafast', frames: FRAMES, wallSeconds, cpuSeconds: m ? Number(m[1]) + Number(m[2]) : NaN, peakRssMB: maxrss ? Number(maxrss[1]) / 1024 : NaN, bytesOut: 0, dropped: 0 };
}

/** Motion detection alone (src/media/motion.ts) on the same synthetic 1080p frames, in this process: its own clock. */
function measureMotion(frames: number): { framesAnalysed: number; analysisMs: number } {
  const scene = new SyntheticScene(1920, 1080, 1);
  const detector = new MotionDetector(1920, 1080);
  const data = new Uint8Array((1920 * 1080 * 3) / 2);
  for (let i = 0; i < frames; i++) {
    if (i % 3 === 0) scene.render(data, i, Date.now()); // the detector reads one frame in three
    detector.push({ type: 'raw', data, index: i, timestampUs: Math.round((i * 1e6) / FPS), captureTimeMs: Date.now() });
  }
  detector.flush();
  return { framesAnalysed: detector.stats.framesAnalysed, analysisMs: detector.stats.analysisMs };
}

if (args[0] === '--child') {
  await runMode(args[1] as 'pipeline' | 'encode');
} else {
  const bundled = await bundle();
  const encode = child(bundled, 'encode');
  const pipeline = child(bundled, 'pipeline');
  const anchor = await ffmpegAnchor();
  const videoSeconds = FRAMES / FPS;
  const motion = measureMotion(FRAMES);
  const row = (r: ModeResult) => ({
    fps: r.frames / r.wallSeconds,
    cpuSecondsPerVideoSecond: r.cpuSeconds / videoSeconds,
    peakRssMB: r.peakRssMB,
  });
  const results = {
    frames: FRAMES,
    videoSeconds,
    encodeAlone: row(encode),
    pipeline: { ...row(pipeline), sealedMbps: (pipeline.bytesOut * 8) / videoSeconds / 1e6, dropped: pipeline.dropped },
    ratioPipelineToEncode: encode.wallSeconds / pipeline.wallSeconds,
    goals: { ratio: 0.95, peakRssMB: 150 },
    ffmpegLibx264Ultrafast: anchor ? row(anchor) : 'ffmpeg not installed',
    motionDetection: { framesAnalysed: motion.framesAnalysed, cpuSecondsPerVideoSecond: motion.analysisMs / 1000 / videoSeconds, percentOfOneCore: (motion.analysisMs / 1000 / videoSeconds) * 100, goalPercent: 3, shareOfEncode: motion.analysisMs / 1000 / videoSeconds / row(encode).cpuSecondsPerVideoSecond },
  };
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    const f = (n: number, d = 1) => n.toFixed(d);
    const lines = [
      `bench:pipeline — ${FRAMES} frames of synthetic 1080p30 (${videoSeconds} s of video), 4 Mbit/s, 2 s segments, a live chunk per frame`,
      `  capture+encode alone            ${f(results.encodeAlone.fps)} fps   ${f(results.encodeAlone.cpuSecondsPerVideoSecond, 2)} CPU-s per video-s   peak RSS ${f(results.encodeAlone.peakRssMB, 0)} MB`,
      `  full pipeline (+segment, seal)  ${f(results.pipeline.fps)} fps   ${f(results.pipeline.cpuSecondsPerVideoSecond, 2)} CPU-s per video-s   peak RSS ${f(results.pipeline.peakRssMB, 0)} MB (goal ≤ 150)`,
      `  ratio pipeline / encode         ${f(results.ratioPipelineToEncode, 3)} (goal ≥ 0.95)`,
      `  motion detection at 1080p30     ${f(results.motionDetection.percentOfOneCore, 2)} % of one core (goal ≤ 3 %; ${results.motionDetection.framesAnalysed} of ${FRAMES} frames analysed; ×${f(results.motionDetection.shareOfEncode, 4)} of the encoder's CPU)`,
      anchor
        ? `  ffmpeg libx264 ultrafast        ${f(row(anchor).fps)} fps   ${f(row(anchor).cpuSecondsPerVideoSecond, 2)} CPU-s per video-s   peak RSS ${f(row(anchor).peakRssMB, 0)} MB (anchor: what a user would use instead)`
        : '  ffmpeg libx264 ultrafast        (ffmpeg not installed)',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
