/**
 * ProcessSource against real child processes: `node -e` producers that write Y4M, raw I420 or
 * Annex-B to stdout (and misbehave on purpose), plus ffmpeg's own yuv4mpegpipe output. Every
 * test that stops a producer checks that no child is left running (kill(pid, 0) → ESRCH).
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessSource, type ProcessSourceOptions } from '../../src/media/process-source.js';
import { i420Size, type CapturedUnit } from '../../src/media/source.js';
import { concatBytes, fromHex } from '../../src/protocol/bytes.js';
import { SealcamError, type ErrorCode } from '../../src/protocol/errors.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

const W = 64;
const H = 48;
const SIZE = i420Size(W, H);
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const dir = mkdtempSync(join(tmpdir(), 'sealcam-process-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** Frame k of every producer below: byte i is (7i + 13k) mod 256. */
function frame(k: number): Uint8Array {
  return Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + k * 13) & 0xff);
}

/** The same frame generator, as source text for `node -e` producers. */
const PRELUDE = `const SIZE = ${SIZE}; const frame = (k) => { const b = Buffer.alloc(SIZE); for (let i = 0; i < SIZE; i++) b[i] = (i * 7 + k * 13) & 255; return b; };
const out = (b) => process.stdout.write(b);`;
const Y4M_HEADER = `out('YUV4MPEG2 W${W} H${H} F30:1 Ip C420jpeg\\n');`;
/** Writes frames forever, respecting backpressure. */
const ENDLESS = `let k = 0; const pump = () => { while (out(frame(k++))) {} process.stdout.once('drain', pump); }; pump();`;

function nodeCommand(script: string): string[] {
  return [process.execPath, '-e', `${PRELUDE}\n${script}`];
}

function options(script: string, overrides: Partial<ProcessSourceOptions> = {}): ProcessSourceOptions {
  return { command: nodeCommand(script), format: 'i420', width: W, height: H, fps: 30, startTimeMs: T0, ...overrides };
}

async function collect(source: ProcessSource): Promise<CapturedUnit[]> {
  const units: CapturedUnit[] = [];
  for await (const u of source.units()) units.push(u);
  return units;
}

/** Runs a source to the end; returns the units before the error and the error. */
async function runToError(source: ProcessSource): Promise<{ units: CapturedUnit[]; error: SealcamError }> {
  const units: CapturedUnit[] = [];
  try {
    for await (const u of source.units()) units.push(u);
  } catch (e) {
    if (SealcamError.is(e)) return { units, error: e };
    throw e;
  }
  throw new Error('expected the source to fail');
}

function assertGone(t: ExecutionContext, pid: number): void {
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is still running`);
}

test('y4m from a process: frames, info and frame-rate timestamps', async (t) => {
  const source = await ProcessSource.start(options(`${Y4M_HEADER} for (let k = 0; k < 3; k++) { out('FRAME\\n'); out(frame(k)); }`, { format: 'y4m' }));
  t.deepEqual(source.info, { output: 'raw', width: W, height: H, fps: 30, description: `process ${process.execPath} (y4m)` });
  const units = await collect(source);
  t.deepEqual(units.map((u) => u.data), [frame(0), frame(1), frame(2)]);
  t.deepEqual(units.map((u) => [u.type, u.index, u.timestampUs, u.captureTimeMs]), [['raw', 0, 0, T0], ['raw', 1, 33_333, T0 + 33.333], ['raw', 2, 66_667, T0 + 66.667]]);
  assertGone(t, source.pid);
});

test('y4m whose size differs from the profile is E_RESOLUTION_MISMATCH', async (t) => {
  const source = await ProcessSource.start(options(`${Y4M_HEADER} out('FRAME\\n'); out(frame(0));`, { format: 'y4m', width: 1280, height: 720 }));
  const { error } = await runToError(source);
  t.is(error.code, 'E_RESOLUTION_MISMATCH');
  assertGone(t, source.pid);
});

test('raw i420 frames are cut at exactly width × height × 3/2 bytes', async (t) => {
  // Written as one buffer so the pipe delivers chunks that straddle frame boundaries.
  const source = await ProcessSource.start(options(`out(Buffer.concat([frame(0), frame(1), frame(2), frame(3)]));`));
  const units = await collect(source);
  t.deepEqual(units.map((u) => u.data), [frame(0), frame(1), frame(2), frame(3)]);
  t.true(units.every((u) => u.type === 'raw' && u.data.length === SIZE));
});

test('a partial last i420 frame at a clean exit is E_TRUNCATED_INPUT naming the frame', async (t) => {
  const source = await ProcessSource.start(options(`out(frame(0)); out(frame(1).subarray(0, 1000));`));
  const { units, error } = await runToError(source);
  t.is(units.length, 1);
  t.is(error.code, 'E_TRUNCATED_INPUT');
  t.regex(error.message, /frame 1: output ends after 1000 of 4608 bytes/);
});

const SPS = fromHex('6742c0288c680780227e5807844235');
const PPS = fromHex('68ce3c80');
const IDR = fromHex('6588112280');
const P_SLICE = (n: number) => fromHex(`419a${n.toString(16).padStart(2, '1')}80`);
const annexB = (...nals: Uint8Array[]) => concatBytes(...nals.flatMap((n) => [fromHex('00000001'), n]));

test('h264 from a process: access units with key flags', async (t) => {
  const aus = [annexB(SPS, PPS, IDR), annexB(P_SLICE(0x31)), annexB(P_SLICE(0x32)), annexB(SPS, PPS, IDR), annexB(P_SLICE(0x33))];
  const path = join(dir, 'stream.h264');
  writeFileSync(path, concatBytes(...aus));
  const source = await ProcessSource.start(options(`out(require('node:fs').readFileSync(${JSON.stringify(path)}));`, { format: 'h264' }));
  t.is(source.info.output, 'h264');
  const units = await collect(source);
  t.deepEqual(units.map((u) => u.data), aus);
  t.deepEqual(units.map((u) => u.type === 'h264' && u.key), [true, false, false, true, false]);
  t.deepEqual(units.map((u) => u.timestampUs), [0, 33_333, 66_667, 100_000, 133_333]);
});

test('a process that exits 3 midway is E_CAPTURE_FAILED with its exit code and stderr', async (t) => {
  const script = `${Y4M_HEADER} out('FRAME\\n'); out(frame(0)); out('FRAME\\n'); out(frame(1).subarray(0, 100));
process.stderr.write('x'.repeat(5000) + '\\nsensor timeout on /dev/video0\\n'); process.exit(3);`;
  const source = await ProcessSource.start(options(script, { format: 'y4m' }));
  const { units, error } = await runToError(source);
  t.deepEqual(units.map((u) => u.data), [frame(0)]);
  t.is(error.code, 'E_CAPTURE_FAILED');
  t.regex(error.message, /exited with code 3/);
  t.regex(error.message, /sensor timeout on \/dev\/video0/);
  t.true(error.message.length < 2600, 'only the tail of stderr is kept');
  t.true(SealcamError.is(error.cause, 'E_TRUNCATED_INPUT'), 'the cut-off frame is the cause');
  assertGone(t, source.pid);
});

test('a process that exits non-zero at a frame boundary, or by a signal, is E_CAPTURE_FAILED', async (t) => {
  const cases: Array<[string, ProcessSourceOptions['format'], RegExp]> = [
    [`out(frame(0)); process.exit(1);`, 'i420', /exited with code 1; stderr was empty/],
    [`out(frame(0)); process.kill(process.pid, 'SIGKILL');`, 'i420', /was killed by SIGKILL/],
    [`out(Buffer.from('000000016742c0288c680780227e5807844235000000016588', 'hex')); process.exit(2);`, 'h264', /exited with code 2/],
  ];
  for (const [script, format, message] of cases) {
    const { error } = await runToError(await ProcessSource.start(options(script, { format })));
    t.is(error.code, 'E_CAPTURE_FAILED', script);
    t.regex(error.message, message);
  }
});

test('a command that does not exist is E_CAPTURE_FAILED', async (t) => {
  const error = await t.throwsAsync(ProcessSource.start({ command: ['/nonexistent/rpicam-vid', '--codec', 'yuv420', '-o', '-'], format: 'i420', width: W, height: H, fps: 30 }));
  t.true(SealcamError.is(error, 'E_CAPTURE_FAILED'));
  t.regex(error!.message, /could not start: .*ENOENT/);
});

test('close() during streaming from an endless producer ends iteration and leaves no child', async (t) => {
  const source = await ProcessSource.start(options(ENDLESS));
  const units: CapturedUnit[] = [];
  for await (const u of source.units()) {
    units.push(u);
    if (units.length === 3) await source.close();
  }
  t.deepEqual(units.map((u) => u.data), [frame(0), frame(1), frame(2)]);
  assertGone(t, source.pid);
  await source.close();
});

test('close() while a read is pending ends that read cleanly', async (t) => {
  const source = await ProcessSource.start(options(`out(frame(0)); setInterval(() => {}, 1000);`));
  const iterator = source.units()[Symbol.asyncIterator]();
  t.deepEqual((await iterator.next()).value?.data, frame(0));
  const pending = iterator.next();
  await source.close();
  t.deepEqual(await pending, { done: true, value: undefined });
  assertGone(t, source.pid);
});

test('a producer that ignores SIGTERM is killed with SIGKILL after the grace period', async (t) => {
  const source = await ProcessSource.start(options(`process.on('SIGTERM', () => {}); out(frame(0)); setInterval(() => {}, 1000);`, { killGraceMs: 300 }));
  const iterator = source.units()[Symbol.asyncIterator]();
  await iterator.next();
  const started = Date.now();
  await source.close();
  t.true(Date.now() - started >= 250);
  assertGone(t, source.pid);
  t.deepEqual(await iterator.next(), { done: true, value: undefined });
});

test('maxFrames ends iteration and stops the producer without an error', async (t) => {
  const source = await ProcessSource.start(options(ENDLESS, { maxFrames: 4 }));
  const units = await collect(source);
  t.is(units.length, 4);
  assertGone(t, source.pid);
});

test('iterating after close() ends at once; units() is single-use', async (t) => {
  const source = await ProcessSource.start(options(ENDLESS));
  await source.close();
  t.deepEqual(await collect(source), []);
  t.throws(() => source.units(), { message: /^E_BAD_ARGUMENT/ });
  assertGone(t, source.pid);
});

test('misused options are E_BAD_ARGUMENT', async (t) => {
  const bad: Array<[Partial<ProcessSourceOptions>, ErrorCode]> = [[{ command: [] }, 'E_BAD_ARGUMENT'], [{ width: 63 }, 'E_BAD_ARGUMENT'], [{ fps: 0 }, 'E_BAD_ARGUMENT'], [{ maxFrames: -1 }, 'E_BAD_ARGUMENT'], [{ format: 'mjpeg' as 'y4m' }, 'E_BAD_ARGUMENT']];
  for (const [override, code] of bad) {
    const error = await t.throwsAsync(ProcessSource.start(options('', override)));
    t.true(SealcamError.is(error, code), JSON.stringify(override));
  }
});

test('ffmpeg testsrc2 through yuv4mpegpipe: 5 frames of 320×240', async (t) => {
  if (!requireTool(t, 'ffmpeg', toolWorks('ffmpeg', ['-version']))) return;
  const command = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-frames:v', '5', '-f', 'yuv4mpegpipe', '-'];
  const source = await ProcessSource.start({ command, format: 'y4m', width: 320, height: 240, fps: 30 });
  const units = await collect(source);
  t.is(units.length, 5);
  t.true(units.every((u) => u.type === 'raw' && u.data.length === i420Size(320, 240)));
  t.notDeepEqual(units[0]!.data, units[4]!.data, 'testsrc2 moves');
});
