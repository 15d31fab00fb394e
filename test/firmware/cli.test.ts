/** `sealcam boards …` and `sealcam firmware keygen|build|verify|flash`, run as a user would. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;

function sealcam(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealcam-fw-cli-'));
});

test.serial('boards list and show', (t) => {
  const list = sealcam('boards', 'list');
  t.is(list.code, 0, list.stderr);
  for (const n of ['sim', 'rpi-zero-2w', 'rpi-5', 'nvidia-jetson-orin-nano']) t.regex(list.stdout, new RegExp(`^${n} `, 'm'));
  const show = sealcam('boards', 'show', 'rpi-zero-2w');
  t.is(show.code, 0);
  t.is(JSON.parse(show.stdout).ramMB, 512);
  const missing = sealcam('boards', 'show', 'rpi-9');
  t.not(missing.code, 0);
  t.regex(missing.stderr, /E_BOARD_PROFILE: no board profile "rpi-9" \(known: .*rpi-5/);
});

test.serial('keygen, build, verify and flash, with specific codes on failure', async (t) => {
  const key = join(dir, 'fw.key');
  t.is(sealcam('firmware', 'keygen', '--out', key).code, 0);
  t.is((await stat(key)).mode & 0o777, 0o600);
  t.regex(await readFile(`${key}.pub`, 'utf8'), /^sealcam-firmware-public-key-v1:[0-9a-f]{64}\n$/);
  const again = sealcam('firmware', 'keygen', '--out', key);
  t.not(again.code, 0);
  t.regex(again.stderr, /refusing to overwrite/);

  const image = join(dir, 'x64.scfw');
  const build = sealcam('firmware', 'build', '--board', 'generic-x64-uvc', '--key', key, '--out', image, '--version', '1.2.3', '--security-version', '3', '--level', '3');
  t.is(build.code, 0, build.stderr);
  t.regex(build.stderr, /bundling the agent[\s\S]*compressing/);
  t.regex(build.stdout, /size +\d+ bytes .* from \d+ bytes in \d+ files/);
  t.regex(build.stdout, /ratio \d+\.\d\d:1/);

  t.is(sealcam('firmware', 'verify', '--image', image, '--pubkey', `${key}.pub`, '--board', 'generic-x64-uvc').code, 0);
  const wrongBoard = sealcam('firmware', 'verify', '--image', image, '--pubkey', `${key}.pub`, '--board', 'rpi-5');
  t.not(wrongBoard.code, 0);
  t.regex(wrongBoard.stderr, /E_FIRMWARE_BOARD/);
  const bytes = await readFile(image);
  bytes[bytes.length - 100]! ^= 1;
  await writeFile(join(dir, 'bad.scfw'), bytes);
  const tampered = sealcam('firmware', 'verify', '--image', join(dir, 'bad.scfw'), '--pubkey', `${key}.pub`);
  t.not(tampered.code, 0);
  t.regex(tampered.stderr, /E_FIRMWARE_HASH/);
  const wrongKeyFile = sealcam('firmware', 'verify', '--image', image, '--pubkey', key);
  t.regex(wrongKeyFile.stderr, /E_BAD_KEY: .*signing-key-v1 file/);

  // Flash twice into an unpacked rootfs: a then b, the unit installed and enabled.
  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs);
  const flash = sealcam('firmware', 'flash', '--image', image, '--target', rootfs, '--pubkey', `${key}.pub`);
  t.is(flash.code, 0, flash.stderr);
  const opt = join(rootfs, 'opt/sealcam');
  t.is(await readlink(join(opt, 'current')), 'slots/a');
  t.is(sealcam('firmware', 'flash', '--image', image, '--target', rootfs, '--pubkey', `${key}.pub`).code, 0);
  t.is(await readlink(join(opt, 'current')), 'slots/b');
  t.is(JSON.parse(await readFile(join(opt, 'slots/a/manifest.json'), 'utf8')).version, '1.2.3');
  t.regex(await readFile(join(opt, 'state'), 'utf8'), /^trial=\nfallback=\nmin_security_version=3$/m);
  const unit = await readFile(join(rootfs, 'etc/systemd/system/sealcam-agent.service'), 'utf8');
  for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/sealcam', 'MemoryMax=1536M', 'User=sealcam', 'ExecStartPre=+/opt/sealcam/bin/sealcam-slot-recover /opt/sealcam']) t.true(unit.includes(line), line);
  t.is(await readlink(join(rootfs, 'etc/systemd/system/multi-user.target.wants/sealcam-agent.service')), '../sealcam-agent.service');
  t.regex(await readFile(join(rootfs, 'etc/sysusers.d/sealcam.conf'), 'utf8'), /^u sealcam /m);
  t.is(await readFile(join(opt, 'firmware.pub'), 'utf8'), await readFile(`${key}.pub`, 'utf8'));
  t.is((await stat(join(opt, 'bin/sealcam-slot-recover'))).mode & 0o777, 0o755);
  t.is((await stat(join(opt, 'slots/b/app/native/webcodecs.node'))).size > 1_000_000, true);

  // A downgrade and an ssh target are refused with their codes.
  const old = join(dir, 'old.scfw');
  t.is(sealcam('firmware', 'build', '--board', 'generic-x64-uvc', '--key', key, '--out', old, '--version', '1.0.0', '--security-version', '2', '--level', '1').code, 0);
  const down = sealcam('firmware', 'flash', '--image', old, '--target', rootfs, '--pubkey', `${key}.pub`);
  t.not(down.code, 0);
  t.regex(down.stderr, /E_FIRMWARE_DOWNGRADE/);
  t.is(await readlink(join(opt, 'current')), 'slots/b');
  t.regex(sealcam('firmware', 'flash', '--image', image, '--target', 'ssh://pi@cam', '--pubkey', `${key}.pub`).stderr, /E_FLASH_TARGET/);
});
