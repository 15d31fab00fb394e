/** `sealcam firmware …`: keys, signed images, verification and flashing (src/firmware, src/device/slots.ts). */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { integerIn } from './options.js';
import { SealcamError } from '../protocol/errors.js';
import { firmwareKeyId, formatFirmwarePublicKey } from '../protocol/firmware-image.js';
import { loadBoard } from '../device/board.js';
import { SLOTS_PREFIX, SlotStore, checkSlotFiles, installService } from '../device/slots.js';
import { generateFirmwareKey, loadFirmwarePublicKey, loadFirmwareSigningKey } from '../firmware/keys.js';
import { buildImage, verifyImage } from '../firmware/image.js';
import { DEFAULT_ZSTD_LEVEL } from '../media/zstd.js';


const mb = (n: number) => `${(n / 1_048_576).toFixed(2)} MiB`;

export function registerFirmware(program: Command): void {
  const firmware = program.command('firmware').description('signed firmware images: keygen, build, verify, flash');

  firmware
    .command('keygen')
    .description('create an Ed25519 firmware-signing key: KEY (mode 0600) and KEY.pub; separate from every camera and owner key')
    .requiredOption('--out <KEY>', 'path of the secret key; the public key goes to KEY.pub')
    .action(async (opts: { out: string }) => {
      const { keyId, publicKeyPath } = await generateFirmwareKey(resolve(opts.out));
      process.stdout.write(`firmware key ${keyId}\n  secret  ${resolve(opts.out)} (0600, keep it offline)\n  public  ${publicKeyPath}\n`);
    });

  firmware
    .command('build')
    .description('build a signed, zstd-compressed image for a board: bundled agent, native addons for its CPU, profile, systemd unit and hooks')
    .requiredOption('--board <name>', 'board profile (sealcam boards list)')
    .requiredOption('--key <KEY>', 'firmware signing key (sealcam firmware keygen)')
    .requiredOption('--out <FILE>', 'image file to write')
    .option('--version <V>', 'image version', '0.1.0')
    .option('--security-version <N>', 'monotonic anti-rollback counter', integerIn(0, 0xffff_ffff), 1)
    .option('--level <N>', 'zstd level 1..22', integerIn(1, 22), DEFAULT_ZSTD_LEVEL)
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { board: string; key: string; out: string; version: string; securityVersion: number; level: number; json?: boolean }) => {
      const board = await loadBoard(opts.board);
      const key = await loadFirmwareSigningKey(resolve(opts.key));
      const started = performance.now();
      const built = await buildImage({
        board,
        profileJson: `${JSON.stringify(board, null, 2)}\n`,
        key,
        version: opts.version,
        securityVersion: opts.securityVersion,
        level: opts.level,
        onProgress: (m) => process.stderr.write(`  ${m}\n`),
      });
      await writeFile(resolve(opts.out), built.image);
      const summary = {
        image: resolve(opts.out),
        board: board.name,
        arch: board.arch,
        version: opts.version,
        securityVersion: opts.securityVersion,
        keyId: firmwareKeyId(key.publicKey),
        files: built.manifest.files.length,
        rawBytes: built.rawSize,
        imageBytes: built.image.length,
        compressionRatio: Number(built.ratio.toFixed(3)),
        zstdLevel: opts.level,
        compressMBps: Number((built.rawSize / 1e6 / (built.compressMs / 1000)).toFixed(1)),
        seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      };
      if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        process.stdout.write(
          [
            `image ${summary.image}`,
            `  board    ${summary.board} (${summary.arch}), version ${summary.version}, security version ${summary.securityVersion}, key ${summary.keyId}`,
            `  size     ${summary.imageBytes} bytes (${mb(summary.imageBytes)}) from ${summary.rawBytes} bytes in ${summary.files} files`,
            `  zstd     level ${summary.zstdLevel}: ratio ${summary.compressionRatio.toFixed(2)}:1, ${summary.compressMBps} MB/s`,
            '',
          ].join('\n'),
        );
      }
    });

  firmware
    .command('verify')
    .description('check an image: signature, board, every hash; exits non-zero with the error code on any mismatch')
    .requiredOption('--image <FILE>', 'image file')
    .requiredOption('--pubkey <KEY.pub>', 'firmware public key')
    .option('--board <name>', 'refuse an image for any other board')
    .option('--min-security-version <N>', 'refuse an image below this security version', integerIn(0, 0xffff_ffff))
    .action(async (opts: { image: string; pubkey: string; board?: string; minSecurityVersion?: number }) => {
      const publicKey = await loadFirmwarePublicKey(resolve(opts.pubkey));
      const image = new Uint8Array(await readFile(resolve(opts.image)));
      const { manifest } = await verifyImage(image, publicKey, {
        ...(opts.board ? { board: opts.board } : {}),
        ...(opts.minSecurityVersion !== undefined ? { minSecurityVersion: opts.minSecurityVersion } : {}),
      });
      process.stdout.write(`OK ${opts.image}: board ${manifest.board} (${manifest.arch}), version ${manifest.version}, security version ${manifest.securityVersion}, ${manifest.files.length} files verified, key ${firmwareKeyId(publicKey)}\n`);
    });

  firmware
    .command('flash')
    .description('install an image into a mounted or unpacked board root filesystem: A/B slots under opt/sealcam, atomic switch, systemd unit')
    .requiredOption('--image <FILE>', 'image file')
    .requiredOption('--target <DIR>', 'the board root filesystem (a local directory; ssh:// targets are not supported)')
    .requiredOption('--pubkey <KEY.pub>', 'firmware public key; also pinned on the board for OTA')
    .action(async (opts: { image: string; target: string; pubkey: string }) => {
      if (/^[a-z]+:\/\//.test(opts.target)) throw new SealcamError('E_FLASH_TARGET', `--target ${opts.target}: only local directories are supported (no ssh:// yet)`);
      const target = resolve(opts.target);
      const info = await stat(target).catch(() => undefined);
      if (!info?.isDirectory()) throw new SealcamError('E_FLASH_TARGET', `--target ${target} is not a directory (mount or unpack the board's root filesystem first)`);
      const publicKey = await loadFirmwarePublicKey(resolve(opts.pubkey));
      const slots = new SlotStore(join(target, SLOTS_PREFIX));
      await slots.recover();
      const active = await slots.active();
      const installed = active === undefined ? undefined : await slots.manifest(active);
      const image = new Uint8Array(await readFile(resolve(opts.image)));
      const { manifest, files } = await verifyImage(image, publicKey, {
        ...(installed ? { board: installed.board } : {}),
        minSecurityVersion: (await slots.state()).minSecurityVersion,
      });
      const result = await slots.install(manifest, files, { healthCheck: checkSlotFiles });
      const service = await installService(target, files, formatFirmwarePublicKey(publicKey));
      process.stdout.write(
        [
          `flashed ${manifest.board} ${manifest.version} (security version ${manifest.securityVersion}) into ${target}`,
          `  slot     ${SLOTS_PREFIX}/slots/${result.slot} is active${result.previous ? `; slot ${result.previous} keeps the previous image` : ''}`,
          ...service.map((p) => `  wrote    ${p}`),
          '',
        ].join('\n'),
      );
    });
}
