/** The `sealcam` bin as a user runs it: a real child process through bin/sealcam.js. */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { splitForTransport, toHex } from '../../src/protocol/index.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;

async function sealcam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('--help lists only commands that exist, and each has its own help', async (t) => {
  const help = await sealcam('--help');
  t.is(help.code, 0);
  const commands = [...help.stdout.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]).filter((c) => c !== 'help');
  t.deepEqual(commands.sort(), ['boards', 'demo', 'device', 'firmware', 'inspect', 'relay']);
  for (const c of commands) {
    const sub = await sealcam(c!, '--help');
    t.is(sub.code, 0, c);
    t.regex(sub.stdout, new RegExp(`Usage: sealcam ${c}`));
  }
});

test('demo: the owner opens every segment, the misrouted stranger opens nothing, and the report says so', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-demo-'));
  const report = join(dir, 'report.json');
  const r = await sealcam('demo', '--segments', '4', '--segment-bytes', '300000', '--report', report);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /protocol only/);
  const json = JSON.parse(await readFile(report, 'utf8'));
  t.is(json.segmentsSealed, 4);
  t.is(json.segmentsOpenedByOwner, 4);
  t.is(json.ownerBytesOpened, 4 * 300_000);
  t.is(json.strangerSegmentsReceived, 4);
  t.is(json.strangerSegmentsRejected, 4);
  t.deepEqual(json.strangerRejectionCodes, { E_FOREIGN_CAMERA: 4 });
  t.is(json.strangerBytesOpened, 0);
  t.is(json.replayRejectedWith, 'E_REPLAY');
  t.true(json.transportMessages >= 4 * 3);
});

test('demo refuses bad numbers with a clear message', async (t) => {
  const r = await sealcam('demo', '--segments', '0');
  t.not(r.code, 0);
  t.regex(r.stderr, /positive integer/);
});

test('inspect shows public header fields without keys, and names a stable code for junk', async (t) => {
  const h = household('cli-inspect');
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-inspect-'));
  const env = h.sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: bytesOf('init') });
  await writeFile(join(dir, 'seg.bin'), env);
  await writeFile(join(dir, 'piece.bin'), splitForTransport(env, 100)[1]!);
  await writeFile(join(dir, 'ann.bin'), h.announcement);
  await writeFile(join(dir, 'junk.bin'), bytesOf('hello'));
  const seg = JSON.parse((await sealcam('inspect', join(dir, 'seg.bin'))).stdout);
  t.like(seg, { type: 'segment envelope', kind: 'init', seq: 0, epoch: 1, cameraId: toHex(h.camera.id) });
  t.like(JSON.parse((await sealcam('inspect', join(dir, 'piece.bin'))).stdout), { type: 'transport chunk', index: 1 });
  t.like(JSON.parse((await sealcam('inspect', join(dir, 'ann.bin'))).stdout), { type: 'epoch announcement', epoch: 1, count: 1 });
  const junk = await sealcam('inspect', join(dir, 'junk.bin'));
  t.is(junk.code, 2);
  t.regex(junk.stderr, /E_BAD_MAGIC/);
  const missing = await sealcam('inspect', join(dir, 'nope.bin'));
  t.not(missing.code, 0);
  t.regex(missing.stderr, /ENOENT|no such file/i);
});
