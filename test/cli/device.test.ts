/** `sealcam device run` as a user runs it, including real camera-style input piped from ffmpeg. */
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile, readdir, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes } from '../../src/protocol/index.js';
import { loadBoard, parseBoardProfile } from '../../src/device/board.js';
import { pairedDevice } from '../helpers/device.js';
import { ffprobe } from '../helpers/media.js';
import { codeOf } from '../helpers/codes.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

const BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;

function run(args: string[], stdinFrom?: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (stdinFrom) {
      const producer = spawn(stdinFrom[0]!, stdinFrom.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
      producer.stdout.pipe(child.stdin);
    } else child.stdin.end();
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function openedMp4(out: string, viewer: Awaited<ReturnType<typeof pairedDevice>>['viewer']): Promise<Uint8Array> {
  const files = (await readdir(out)).sort();
  const view = viewer.cameras[0]!;
  view.addAnnouncement(new Uint8Array(await readFile(join(out, files.find((f) => f.startsWith('epoch-'))!))));
  const parts: Uint8Array[] = [];
  for (const f of files.filter((x) => x.startsWith('seg-'))) parts.push(view.openSegment(new Uint8Array(await readFile(join(out, f)))).payload);
  view.stream.assertComplete();
  return concatBytes(...parts);
}

test('device run on the sim board writes sealed segments and reports progress', async (t) => {
  const { dir, home, viewer } = await pairedDevice('cli-run');
  const out = join(dir, 'out');
  const r = await run(['device', 'run', '--board', 'sim', '--home', home.dir, '--out', out, '--seconds', '2.5', '--json']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /frames \d+\/75 captured/);
  const summary = JSON.parse(r.stdout);
  t.like(summary, { board: 'sim', framesCaptured: 75, framesEncoded: 75, framesDropped: 0, segmentsSealed: 3, codec: 'avc1.42C028' });
  const mp4 = await openedMp4(out, viewer);
  if (!requireTool(t, 'ffprobe (Debian ffmpeg)', toolWorks('ffprobe', ['-version']))) return;
  const path = join(dir, 'owner.mp4');
  await writeFile(path, mp4);
  t.like(ffprobe(path), { codec: 'h264', width: 1920, height: 1080, frames: 75 });
});

test('device run --y4m - takes a camera pipe (ffmpeg yuv4mpegpipe) on stdin', async (t) => {
  if (!requireTool(t, 'ffmpeg (Debian ffmpeg)', toolWorks('ffmpeg', ['-version']))) return;
  const { dir, home, viewer } = await pairedDevice('cli-y4m');
  const out = join(dir, 'out');
  const ffmpeg = ['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-frames:v', '60', '-f', 'yuv4mpegpipe', '-'];
  const r = await run(['device', 'run', '--board', 'sim', '--home', home.dir, '--out', out, '--seconds', '100', '--y4m', '-', '--json'], ffmpeg);
  t.is(r.code, 0, r.stderr);
  t.like(JSON.parse(r.stdout), { framesCaptured: 60, framesEncoded: 60 });
  const path = join(dir, 'owner.mp4');
  await writeFile(path, await openedMp4(out, viewer));
  t.like(ffprobe(path), { codec: 'h264', width: 640, height: 360, frames: 60 });
});

test('device run on an unpaired camera fails with E_NOT_PAIRED and writes nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-unpaired-cli-'));
  const r = await run(['device', 'run', '--board', 'sim', '--home', join(dir, 'home'), '--out', join(dir, 'out'), '--seconds', '1']);
  t.is(r.code, 2);
  t.regex(r.stderr, /E_NOT_PAIRED/);
  t.deepEqual((await readdir(dir)).sort(), ['home']);
});

test('bad input to device run: a truncated Y4M is E_TRUNCATED_INPUT, an unknown board names the known ones', async (t) => {
  const { dir, home } = await pairedDevice('cli-bad');
  const y4m = join(dir, 'cut.y4m');
  await writeFile(y4m, Buffer.concat([Buffer.from('YUV4MPEG2 W640 H360 F30:1 Ip C420jpeg\nFRAME\n'), Buffer.alloc(1000)]));
  const cut = await run(['device', 'run', '--board', 'sim', '--home', home.dir, '--out', join(dir, 'out'), '--y4m', y4m]);
  t.is(cut.code, 2);
  t.regex(cut.stderr, /E_TRUNCATED_INPUT/);
  const unknown = await run(['device', 'run', '--board', 'nope', '--home', home.dir]);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /E_BOARD_PROFILE.*known: .*sim/);
});

test('board profiles are validated and errors name the field', async (t) => {
  const sim = await loadBoard('sim');
  t.is(sim.video.width, 1920);
  const bad = JSON.parse(JSON.stringify(sim));
  bad.video.fps = 0;
  const e = t.throws(() => parseBoardProfile(bad, 'test.json'));
  t.regex(e!.message, /E_BOARD_PROFILE: test.json: field "video.fps"/);
  t.is(codeOf(() => parseBoardProfile({ ...sim, capture: { driver: 'process', format: 'y4m' } }, 'x')), 'E_BOARD_PROFILE');
  t.is(codeOf(() => parseBoardProfile({ ...sim, extra: 1 }, 'x')), 'E_BOARD_PROFILE');
});
