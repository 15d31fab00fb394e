/**
 * npm run bench:start — how fast the `sealcam` command starts, against a bare Node start measured
 * in the same run (issue 14: goal `sealcam --help` ≤ 3× `node -e 0`).
 *
 *   node -e 0                          the floor: Node itself
 *   sealcam --help                     bin/sealcam.js → dist/cli/sealcam.mjs (the compiled CLI)
 *   sealcam --help through tsx         the TypeScript path (a fresh clone before `npm run build`)
 *   device run → first sealed segment  a paired sim camera, --out, until its first seg-*.scs file
 *                                      (the init segment) is on disk, in ms from spawn
 *
 * Each start is run --runs N times (default 9) interleaved, and the median is reported.
 * Options: --runs N, --json. It runs `npm run build` first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pairedDevice } from '../test/helpers/device.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const RUNS = Number(arg('--runs', '9'));
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error('--runs: expected a positive integer');
  process.exit(2);
}
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'sealcam.js');
// Build first: bin/sealcam.js runs tsx instead when a source is newer than dist/.
spawnSync(process.execPath, ['--import=tsx', join(ROOT, 'scripts', 'build.ts')], { stdio: 'inherit' });
const probe = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
if (probe.stderr.includes('through tsx')) {
  console.error(`bin/sealcam.js does not run the build: ${probe.stderr.trim()}`);
  process.exit(2);
}

function timed(argv: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** ms from spawn until the first sealed envelope (seg-*.scs) is written, then the run is stopped. */
async function firstSegmentMs(home: string, out: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, 'device', 'run', '--board', 'sim', '--home', home, '--out', out, '--realtime'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (;;) {
      if (existsSync(out) && readdirSync(out).some((n) => n.startsWith('seg-'))) return Number(process.hrtime.bigint() - t0) / 1e6;
      if (child.exitCode !== null) throw new Error(`device run exited ${child.exitCode} before its first segment`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** The TypeScript path, as bin/sealcam.js takes it when dist/ is missing. */
const TSX_HELP = ['--import=tsx', '-e', `import(${JSON.stringify(join(ROOT, 'src', 'cli', 'index.ts'))}).then((m) => m.main(process.argv))`, 'sealcam', '--help'];
const samples = { node: [] as number[], help: [] as number[], helpTsx: [] as number[], firstSegment: [] as number[] };
const camera = await pairedDevice('bench-start');
for (let i = 0; i < RUNS; i++) {
  samples.node.push(timed(['-e', '0']));
  samples.help.push(timed([BIN, '--help']));
  samples.helpTsx.push(timed(TSX_HELP));
}
for (let i = 0; i < Math.min(RUNS, 3); i++) samples.firstSegment.push(await firstSegmentMs(camera.home.dir, join(camera.dir, `out-${i}`)));

const result = {
  runs: RUNS,
  nodeMs: median(samples.node),
  helpMs: median(samples.help),
  helpRatio: median(samples.help) / median(samples.node),
  helpTsxMs: median(samples.helpTsx),
  helpTsxRatio: median(samples.helpTsx) / median(samples.node),
  firstSegmentMs: median(samples.firstSegment),
};
if (args.includes('--json')) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`start times, median of ${RUNS} (same run, same machine):`);
  console.log(`  node -e 0                          ${result.nodeMs.toFixed(0)} ms`);
  console.log(`  sealcam --help (compiled)          ${result.helpMs.toFixed(0)} ms   ${result.helpRatio.toFixed(2)}× node   (goal ≤ 3×)`);
  console.log(`  sealcam --help (tsx, no build)     ${result.helpTsxMs.toFixed(0)} ms   ${result.helpTsxRatio.toFixed(2)}× node`);
  console.log(`  device run → first sealed segment  ${result.firstSegmentMs.toFixed(0)} ms   (sim 1080p30, --out; median of ${samples.firstSegment.length})`);
}
