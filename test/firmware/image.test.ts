/**
 * Firmware images (src/firmware, src/protocol/firmware-image.ts): one image per board profile,
 * built once here (zstd level 3 to keep the suite fast; `firmware build` defaults to 19).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { listBoardNames, loadBoard, type BoardProfile } from '../../src/device/board.js';
import { ELF_MACHINE, elfMachine } from '../../src/firmware/addons.js';
import { buildImage, verifyImage, type BuiltImage } from '../../src/firmware/image.js';
import { zstdCompress } from '../../src/media/zstd.js';
import { SealcamError, type ErrorCode } from '../../src/protocol/errors.js';
import { FIRMWARE_HEADER_BYTES, encodeFirmwareImage, packPayloadFiles, verifyFirmwareImage } from '../../src/protocol/firmware-image.js';
import { firmwareKey } from '../helpers/firmware.js';

const key = firmwareKey(3);
const built = new Map<string, { board: BoardProfile; image: BuiltImage }>();

test.before(async () => {
  for (const name of await listBoardNames()) {
    const board = await loadBoard(name);
    const image = await buildImage({ board, profileJson: `${JSON.stringify(board, null, 2)}\n`, key, version: '1.0.0', securityVersion: 4, level: 3, builtAt: new Date('2026-01-01T00:00:00Z') });
    built.set(name, { board, image });
  }
});

async function codeOfAsync(p: Promise<unknown>): Promise<ErrorCode | undefined> {
  try {
    await p;
  } catch (e) {
    if (SealcamError.is(e)) return e.code;
    throw e;
  }
  return undefined;
}

test('an image is built for every board profile, with native addons for its architecture (ELF e_machine)', async (t) => {
  t.true(built.size >= 8);
  for (const [name, { board, image }] of built) {
    const { manifest, files } = await verifyImage(image.image, key.publicKey, { board: name });
    t.is(manifest.arch, board.arch);
    const natives = files.filter((f) => f.path.endsWith('.node'));
    t.deepEqual(natives.map((f) => f.path).sort(), ['app/native/webcodecs.node', 'app/native/zstd.node'], name);
    for (const f of natives) t.is(elfMachine(f.data), ELF_MACHINE[board.arch], `${name} ${f.path}: e_machine ${elfMachine(f.data)}`);
    t.deepEqual(JSON.parse(new TextDecoder().decode(files.find((f) => f.path === 'app/board.json')!.data)), board);
    t.true(files.some((f) => f.path === 'app/sealcam-agent.mjs' && f.data.length > 100_000));
    const unit = files.find((f) => f.path === 'firmware/sealcam-agent.service');
    if (board.service === 'systemd') t.regex(new TextDecoder().decode(unit!.data), new RegExp(`^MemoryMax=${board.memoryMaxMB}M$`, 'm'));
    else t.is(unit, undefined);
    t.true(image.ratio > 1.5, `${name}: ratio ${image.ratio}`);
    t.log(`${name}: ${image.image.length} bytes, ratio ${image.ratio.toFixed(2)} at zstd 3`);
  }
  // x64 and arm64 images really differ in their addons.
  t.notDeepEqual(built.get('sim')!.image.manifest.files.find((f) => f.path === 'app/native/zstd.node')!.sha256, built.get('rpi-5')!.image.manifest.files.find((f) => f.path === 'app/native/zstd.node')!.sha256);
});

test('the x64 image runs on this machine: its bundled agent passes self-test with only the image files', async (t) => {
  if (process.arch !== 'x64') return t.pass('not an x64 host');
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-image-'));
  const { files } = await verifyImage(built.get('sim')!.image.image, key.publicKey);
  for (const f of files) {
    await mkdir(dirname(join(dir, f.path)), { recursive: true });
    await writeFile(join(dir, f.path), f.data, { mode: f.mode });
  }
  const out = execFileSync(process.execPath, [join(dir, 'app/sealcam-agent.mjs'), 'self-test'], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const report = JSON.parse(out) as { ok: boolean; checks: { name: string; ok: boolean }[] };
  t.true(report.ok, out);
  t.deepEqual(report.checks.map((c) => c.name), ['board profile', 'zstd addon', 'node-webcodecs addon']);
  await rm(dir, { recursive: true });
});

test('flipping any byte of an image fails verify with the code of the part it hit', async (t) => {
  const image = built.get('rpi-zero-2w')!.image.image;
  const manifestLength = new DataView(image.buffer, image.byteOffset).getUint32(8);
  const sigStart = FIRMWARE_HEADER_BYTES + manifestLength;
  const payloadStart = sigStart + 64;
  const expected = (i: number): ErrorCode => (i < FIRMWARE_HEADER_BYTES ? 'E_FIRMWARE_FORMAT' : i < payloadStart ? 'E_FIRMWARE_SIGNATURE' : 'E_FIRMWARE_HASH');
  // Deterministic sample: every header and signature byte, 200 manifest and 300 payload positions, the last byte.
  const positions = new Set<number>();
  for (let i = 0; i < payloadStart; i++) if (i < FIRMWARE_HEADER_BYTES || i >= sigStart) positions.add(i);
  for (let k = 0; k < 200; k++) positions.add(FIRMWARE_HEADER_BYTES + Math.floor((k * manifestLength) / 200));
  for (let k = 0; k < 300; k++) positions.add(payloadStart + Math.floor((k * (image.length - payloadStart)) / 300));
  positions.add(image.length - 1);
  let checked = 0;
  for (const i of positions) {
    for (const mask of [0x01, 0x80]) {
      const flipped = image.slice();
      flipped[i]! ^= mask;
      const code = await codeOfAsync(verifyImage(flipped, key.publicKey, { board: 'rpi-zero-2w' }));
      if (code !== expected(i)) t.fail(`byte ${i} ^ 0x${mask.toString(16)}: ${code}, expected ${expected(i)}`);
      checked++;
    }
  }
  t.true(checked > 1000);
  t.log(`${checked} flips over ${positions.size} positions of ${image.length} bytes`);
});

test('verify refuses unsigned, wrong key, wrong board, downgrade, truncation and a lying per-file hash', async (t) => {
  const image = built.get('rpi-4b')!.image.image;
  const manifestLength = new DataView(image.buffer, image.byteOffset).getUint32(8);
  const unsigned = image.slice();
  unsigned.fill(0, FIRMWARE_HEADER_BYTES + manifestLength, FIRMWARE_HEADER_BYTES + manifestLength + 64);
  t.is(await codeOfAsync(verifyImage(unsigned, key.publicKey)), 'E_FIRMWARE_UNSIGNED');
  t.is(await codeOfAsync(verifyImage(image, firmwareKey(4).publicKey)), 'E_FIRMWARE_SIGNATURE');
  t.is(await codeOfAsync(verifyImage(image, key.publicKey, { board: 'rpi-5' })), 'E_FIRMWARE_BOARD');
  t.is(await codeOfAsync(verifyImage(image, key.publicKey, { minSecurityVersion: 5 })), 'E_FIRMWARE_DOWNGRADE');
  t.is(await codeOfAsync(verifyImage(image, key.publicKey, { minSecurityVersion: 4 })), undefined, 'the same security version is not a downgrade');
  t.is(await codeOfAsync(verifyImage(image.subarray(0, image.length - 1), key.publicKey)), 'E_FIRMWARE_FORMAT');
  t.is(await codeOfAsync(verifyImage(new Uint8Array(8), key.publicKey)), 'E_FIRMWARE_FORMAT');

  // Correctly signed, but the payload does not hold what the manifest's file hashes say.
  const real = packPayloadFiles([{ path: 'a', mode: 0o644, data: new Uint8Array([1, 2, 3]) }]);
  const other = packPayloadFiles([{ path: 'a', mode: 0o644, data: new Uint8Array([1, 2, 4]) }]);
  const lying = encodeFirmwareImage({ board: 'rpi-4b', arch: 'arm64', version: '1.0.0', securityVersion: 1, builtAt: '2026-01-01T00:00:00.000Z', files: real.entries, rawSize: 3 }, await zstdCompress(other.raw, 3), key);
  t.notThrows(() => verifyFirmwareImage(lying, key.publicKey));
  t.is(await codeOfAsync(verifyImage(lying, key.publicKey)), 'E_FIRMWARE_HASH');
  // Manifest paths that would escape the slot are refused when signing.
  t.throws(() => packPayloadFiles([{ path: '../etc/passwd', mode: 0o644, data: new Uint8Array(1) }]), { message: /path/ });
});
