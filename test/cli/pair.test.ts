/** Pairing with the commands a person runs: owner init / login / pair, device pair --qr-image. */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { embeddedRelay, tempDir } from '../helpers/relay.js';
import { until } from '../relay/uploader-contract.js';
import { requireTool, toolWorks } from '../helpers/tools.js';
import { ffprobe } from '../helpers/media.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;
const sealcam = (...args: string[]) => run(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('owner pair shows a code (terminal and PNG), device pair reads the PNG, both print the same confirmation code', async (t) => {
  const dir = await tempDir('cli-pair');
  const relay = await embeddedRelay(join(dir, 'relay'));
  try {
    const login = await relay.accounts.addAccount('home');
    const ownerHome = join(dir, 'owner');
    await sealcam('owner', 'init', '--home', ownerHome);
    t.is((await stat(join(ownerHome, 'owner.key'))).mode & 0o777, 0o600);
    await t.throwsAsync(sealcam('owner', 'init', '--home', ownerHome), { message: /E_CONFIG/ });
    await writeFile(join(dir, 'pw'), `${login.password}\n`, { mode: 0o600 });
    await sealcam('owner', 'login', '--home', ownerHome, '--relay', relay.httpUrl, '--account', 'home', '--username', login.username, '--password-file', join(dir, 'pw'));

    const png = join(dir, 'code.png');
    const ownerPair = spawn(process.execPath, [BIN, 'owner', 'pair', '--home', ownerHome, '--name', 'porch', '--qr-png', png, '--timeout', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let ownerOut = '';
    ownerPair.stdout.on('data', (d: Buffer) => (ownerOut += d.toString()));
    const ownerExit = new Promise<number | null>((r) => ownerPair.once('exit', r));
    await until(() => ownerOut.includes('waiting for the camera'), 30_000, 'the owner to show the code');
    t.regex(ownerOut, /█|▀|▄/, 'a QR code drawn on the terminal');
    if (requireTool(t, 'zbarimg (Debian zbar-tools)', toolWorks('zbarimg', ['--version']))) {
      const { stdout } = await run('zbarimg', ['--raw', '-q', png], { encoding: 'utf8' });
      const printed = /--code (SC1:[A-Z2-7]+)/.exec(ownerOut)![1]!;
      t.is(stdout.trim(), printed, 'an independent reader decodes the PNG to the exact payload');
    }
    const device = await sealcam('device', 'pair', '--board', 'sim', '--home', join(dir, 'camera'), '--qr-image', png, '--timeout', '60');
    t.is(await ownerExit, 0);
    const cameraCode = /confirmation code (\d{6})/.exec(device.stdout)![1];
    const ownerCode = /confirmation code (\d{6})/.exec(ownerOut)![1];
    t.is(cameraCode, ownerCode);
    t.regex(ownerOut, /paired camera [0-9a-f]{32} as "porch"/);

    // The paired camera streams to the relay; the owner's CLI viewer writes the verified MP4.
    const streamed = await sealcam('device', 'run', '--board', 'sim', '--home', join(dir, 'camera'), '--upload', '--seconds', '2', '--json');
    t.like(JSON.parse(streamed.stdout), { framesCaptured: 60, segmentsSealed: 2 });
    const mp4 = join(dir, 'porch.mp4');
    const viewed = await sealcam('view', '--home', ownerHome, '--camera', 'porch', '--out', mp4);
    t.regex(viewed.stdout, /60 frames decoded from 2 of 2 segments\n  captured \S+ to \S+ \(the camera.s signed capture times\)\n  rejected none\n  gaps none/);
    if (requireTool(t, 'ffprobe (Debian ffmpeg)', toolWorks('ffprobe', ['-version']))) t.like(ffprobe(mp4), { codec: 'h264', width: 1920, height: 1080, frames: 60 });
    // A stranger's viewer home that never paired this camera has nothing to open.
    await t.throwsAsync(sealcam('view', '--home', ownerHome, '--camera', 'garage', '--out', mp4), { message: /no paired camera named "garage"/ });
  } finally {
    await relay.close();
  }
});
