/** The `sealcam` bin as a user runs it: a real child process through bin/sealcam.js. */
import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitForTransport, toHex } from '../../src/protocol/index.js';
import { T0, bytesOf, household } from '../helpers/fixtures.js';
import { sealcam } from '../helpers/cli.js';

test('--help lists only commands that exist, and each has its own help', async (t) => {
  const help = await sealcam('--help');
  t.is(help.code, 0);
  const commands = [...help.stdout.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]).filter((c) => c !== 'help');
  t.deepEqual(commands.sort(), ['app', 'boards', 'demo', 'device', 'firmware', 'inspect', 'owner', 'relay', 'view']);
  for (const c of commands) {
    const sub = await sealcam(c!, '--help');
    t.is(sub.code, 0, c);
    t.regex(sub.stdout, new RegExp(`Usage: sealcam ${c}`));
  }
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
