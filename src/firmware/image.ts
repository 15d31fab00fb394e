/**
 * `sealcam firmware build` and `verify`: the firmware app's entry point. It wires
 *   the agent bundle (bundle.ts) + the target's native addons (addons.ts) + the board profile
 *   + what goes onto the board (top-level firmware/: systemd unit, sysusers, hooks, docs)
 *   → payload (protocol/firmware-image.ts packPayloadFiles) → zstd (zstd.ts) → signed image.
 * The board profile arrives already validated (the CLI loads it; firmware does not import device).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SealcamError } from '../protocol/errors.js';
import type { SigningKey } from '../protocol/primitives.js';
import {
  MAX_RAW_PAYLOAD_BYTES,
  encodeFirmwareImage,
  packPayloadFiles,
  splitPayloadFiles,
  verifyFirmwareImage,
  type FirmwareArch,
  type FirmwareExpectations,
  type FirmwareFile,
  type FirmwareManifest,
} from '../protocol/firmware-image.js';
import { AGENT_BUNDLE_PATH, bundleAgent } from './bundle.js';
import { DEFAULT_CACHE_DIR, fetchAddons } from './addons.js';
import { DEFAULT_ZSTD_LEVEL, zstdCompress, zstdDecompress } from '../media/zstd.js';

export const FIRMWARE_DIR = fileURLToPath(new URL('../../firmware/', import.meta.url));

/** What the builder needs from a (validated) board profile. */
export interface ImageBoard {
  readonly name: string;
  readonly arch: FirmwareArch;
  readonly service: 'systemd' | 'none';
  readonly memoryMaxMB?: number | undefined;
}

export interface BuildOptions {
  board: ImageBoard;
  /** The profile as it goes into the image (app/board.json). */
  profileJson: string;
  key: SigningKey;
  version: string;
  securityVersion: number;
  /** zstd level 1..22; default 19 */
  level?: number;
  /** build time written to the manifest; default now */
  builtAt?: Date;
  cacheDir?: string;
  onProgress?: (message: string) => void;
}

export interface BuiltImage {
  image: Uint8Array;
  manifest: FirmwareManifest;
  rawSize: number;
  payloadSize: number;
  /** rawSize / payloadSize */
  ratio: number;
  compressMs: number;
}

/** The files that go onto the board from firmware/, rendered for `board`. */
export async function boardFiles(board: ImageBoard): Promise<FirmwareFile[]> {
  const read = async (path: string) => new Uint8Array(await readFile(`${FIRMWARE_DIR}${path}`));
  const text = (s: string) => new TextEncoder().encode(s);
  const files: FirmwareFile[] = [];
  if (board.service === 'systemd') {
    if (board.memoryMaxMB === undefined) throw new SealcamError('E_BOARD_PROFILE', `board ${board.name}: a systemd service needs memoryMaxMB`);
    const unit = new TextDecoder().decode(await read('sealcam-agent.service')).replaceAll('@BOARD@', board.name).replaceAll('@MEMORY_MAX_MB@', String(board.memoryMaxMB));
    files.push({ path: 'firmware/sealcam-agent.service', mode: 0o644, data: text(unit) });
    files.push({ path: 'firmware/sysusers-sealcam.conf', mode: 0o644, data: await read('sysusers-sealcam.conf') });
  }
  files.push({ path: 'firmware/hooks/sealcam-slot-recover', mode: 0o755, data: await read('hooks/sealcam-slot-recover') });
  files.push({ path: 'firmware/README.md', mode: 0o644, data: await read('README.md') });
  files.push({ path: 'firmware/SLOTS.md', mode: 0o644, data: await read('SLOTS.md') });
  return files;
}

export async function buildImage(o: BuildOptions): Promise<BuiltImage> {
  const progress = o.onProgress ?? (() => undefined);
  progress('bundling the agent (esbuild)');
  const agent = await bundleAgent();
  progress(`native addons for linux-${o.board.arch}`);
  const addons = await fetchAddons(o.board.arch, o.cacheDir ?? DEFAULT_CACHE_DIR, progress);
  const files: FirmwareFile[] = [
    { path: AGENT_BUNDLE_PATH, mode: 0o644, data: agent },
    { path: 'app/board.json', mode: 0o644, data: new TextEncoder().encode(o.profileJson) },
    ...addons.map(({ source, data }) => ({ path: `app/native/${source.name}`, mode: 0o644, data })),
    ...(await boardFiles(o.board)),
  ];
  const { raw, entries } = packPayloadFiles(files);
  const level = o.level ?? DEFAULT_ZSTD_LEVEL;
  progress(`compressing ${raw.length} bytes (zstd level ${level})`);
  const started = performance.now();
  const payload = await zstdCompress(raw, level);
  const compressMs = performance.now() - started;
  progress('signing');
  const image = encodeFirmwareImage(
    { board: o.board.name, arch: o.board.arch, version: o.version, securityVersion: o.securityVersion, builtAt: (o.builtAt ?? new Date()).toISOString(), files: entries, rawSize: raw.length },
    payload,
    o.key,
  );
  const { manifest } = verifyFirmwareImage(image, o.key.publicKey);
  return { image, manifest, rawSize: raw.length, payloadSize: payload.length, ratio: raw.length / payload.length, compressMs };
}

/**
 * Full verification: signature, board, security version and payload hash (protocol), then
 * decompression and every file's SHA-256. Returns the manifest and the files.
 */
export async function verifyImage(image: Uint8Array, publicKey: Uint8Array, expect: FirmwareExpectations = {}): Promise<{ manifest: FirmwareManifest; files: FirmwareFile[] }> {
  const { manifest, payload } = verifyFirmwareImage(image, publicKey, expect);
  const raw = await zstdDecompress(payload, Math.min(manifest.payload.rawSize, MAX_RAW_PAYLOAD_BYTES), `firmware image ${manifest.version}`);
  return { manifest, files: splitPayloadFiles(manifest, raw) };
}
