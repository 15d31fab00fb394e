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
  t.deepEqual(commands.sort(), ['boards', 'demo', 'device', 'firmware', 'inspect', 'owner', 'relay', 'view']);
  for (const c of commands) {
    const sub = await sealcam(c!, '--help');
    t.is(sub.code, 0, c);
    t.regex(sub.stdout, new RegExp(`Usage: sealcam ${c}`));
  }
});

test('demo: the owner decodes every frame, the misrouted stranger opens nothing, and the report says so', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-demo-'));
  const report = join(dir, 'report.json');
  const r = await sealcam('demo', '--seconds', '2', '--out', join(dir, 'out'), '--report', report);
  t.is(r.code, 0, r.stderr);
  const json = JSON.parse(await readFile(report, 'utf8'));
  // A live camera drops (and counts) frames its encoder cannot keep up with; every frame encoded plays.
  t.like(json, { framesCaptured: 60, ownerSegmentsRejected: 0, ownerGaps: 0, strangerFramesDecoded: 0 });
  t.is(json.framesEncoded + json.framesDropped, 60);
  t.true(json.framesEncoded >= 30);
  t.is(json.framesDecodedByOwner, json.framesEncoded);
  t.true(json.segmentsUploaded >= 2);
  t.is(json.strangerSegmentsReceived, json.segmentsUploaded);
  t.is(json.strangerSegmentsRejected, json.strangerSegmentsReceived);
  t.true(json.strangerLiveChunksReceived >= json.framesEncoded);
  t.is(json.strangerLiveChunksRejected, json.strangerLiveChunksReceived);
  t.deepEqual(json.strangerRejectionCodes, ['E_FOREIGN_CAMERA']);
  t.regex(json.pairing.confirmationCodeCamera, /^\d{6}$/);
  t.is(json.pairing.confirmationCodeCamera, json.pairing.confirmationCodeOwner, 'paired through the lens');
  // Live: every encoded frame was decoded as it arrived, and glass to glass was measured on each.
  t.true(json.latencyMs.framesDecodedLive >= json.framesEncoded - 2, `${json.latencyMs.framesDecodedLive} of ${json.framesEncoded} decoded live`);
  t.true(json.latencyMs.p50 > 0 && json.latencyMs.p95 >= json.latencyMs.p50);
  // A second run replaces its own directory, but never someone else's.
  t.is((await sealcam('demo', '--seconds', '1', '--out', join(dir, 'out'))).code, 0);
  const other = await mkdtemp(join(tmpdir(), 'sealcam-not-demo-'));
  await writeFile(join(other, 'precious.txt'), 'keep me');
  const refused = await sealcam('demo', '--seconds', '1', '--out', other);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /E_CONFIG: .* was not made by sealcam demo/);
  t.is(await readFile(join(other, 'precious.txt'), 'utf8'), 'keep me');
});

test('demo refuses bad numbers with a clear message', async (t) => {
  const r = await sealcam('demo', '--seconds', '0');
  t.not(r.code, 0);
  t.regex(r.stderr, /number of seconds/);
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
