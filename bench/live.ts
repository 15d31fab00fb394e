/**
 * npm run bench:live — live latency at 1080p30 over the loopback relay: the demo's whole path
 * (sim camera in real time → H.264 → CMAF chunk per frame → seal → spool/MQTT → embedded relay →
 * owner verifies, decrypts, decodes with node-webcodecs). Glass to glass = capture of a frame →
 * that frame decoded. The anchor is the frame interval of the same run (33.3 ms at 30 fps): a ratio
 * of 1 means one frame late. Goals (issue 6): p50 <= 250 ms, p95 <= 500 ms.
 *
 * Options: --seconds N (default 20), --json; --web: the owner's phone app in Chromium (capture →
 * frame drawn on its canvas) beside the Node viewer on the same stream, every frame accounted for
 * from capture to drawn (bench/live-web.ts); with --web, --video WxH: another camera size than 1080p.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../src/cli/demo.js';
import { benchLiveWeb, formatLiveWeb } from './live-web.js';

const args = process.argv.slice(2);
const i = args.indexOf('--seconds');
const seconds = i >= 0 ? Number(args[i + 1]) : 20;
if (!(seconds > 0)) {
  console.error('--seconds: expected a positive number');
  process.exit(2);
}
if (args.includes('--web')) {
  const v = args.indexOf('--video');
  const size = v >= 0 ? /^(\d{3,4})x(\d{3,4})$/.exec(args[v + 1] ?? '') : null;
  if (v >= 0 && !size) {
    console.error('--video: expected WIDTHxHEIGHT, e.g. 1280x720 (E_CONFIG)');
    process.exit(2);
  }
  const w = await benchLiveWeb(seconds, (m) => process.stderr.write(`  … ${m}\n`), size ? { width: Number(size[1]), height: Number(size[2]) } : null);
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ ...w, goalsMs: { pageP50: 100, pageP95: 250 } }, null, 2)}\n`);
  else process.stdout.write(formatLiveWeb(w));
  process.exit(0);
}
const out = join(await mkdtemp(join(tmpdir(), 'sealcam-bench-live-')), 'demo');
const r = await runDemo({ seconds, out, log: (m) => process.stderr.write(`  … ${m}\n`) });
const frameMs = 1000 / 30;
const result = {
  seconds,
  framesCaptured: r.framesCaptured,
  framesDropped: r.framesDropped,
  framesDecodedLive: r.latencyMs.framesDecodedLive,
  glassToGlassMs: { p50: r.latencyMs.p50, p95: r.latencyMs.p95 },
  toDecryptedChunkMs: { p50: r.latencyMs.chunkP50, p95: r.latencyMs.chunkP95 },
  anchorFrameIntervalMs: frameMs,
  ratioToFrameInterval: { p50: (r.latencyMs.p50 ?? NaN) / frameMs, p95: (r.latencyMs.p95 ?? NaN) / frameMs },
  goalsMs: { p50: 250, p95: 500 },
};
if (args.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  const f = (n: number | null) => (n === null ? 'n/a' : n.toFixed(0));
  process.stdout.write(
    [
      `bench:live — ${seconds} s of sim 1080p30 in real time over the loopback relay; ${r.latencyMs.framesDecodedLive} of ${r.framesCaptured} frames decoded live (${r.framesDropped} dropped at the camera)`,
      `  glass to glass (capture → decoded)   p50 ${f(r.latencyMs.p50)} ms (${result.ratioToFrameInterval.p50.toFixed(2)} frame intervals)   p95 ${f(r.latencyMs.p95)} ms (${result.ratioToFrameInterval.p95.toFixed(2)})   goals 250 / 500 ms`,
      `  capture → decrypted live chunk        p50 ${f(r.latencyMs.chunkP50)} ms   p95 ${f(r.latencyMs.chunkP95)} ms`,
      '',
    ].join('\n'),
  );
}
