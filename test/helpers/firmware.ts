/** Small signed firmware images for slot and OTA tests (no esbuild, no addons: just files). */
import { SigningKey } from '../../src/protocol/primitives.js';
import { encodeFirmwareImage, packPayloadFiles, type FirmwareFile } from '../../src/protocol/firmware-image.js';
import { zstdCompress } from '../../src/media/zstd.js';
import { readFileSync } from 'node:fs';

export const firmwareKey = (byte: number) => new SigningKey(new Uint8Array(32).fill(byte));

const RECOVER_HOOK = readFileSync(new URL('../../firmware/hooks/sealcam-slot-recover', import.meta.url));

export function smallFiles(version: string): FirmwareFile[] {
  const text = (s: string) => new TextEncoder().encode(s);
  return [
    { path: 'app/sealcam-agent.mjs', mode: 0o644, data: text(`// agent ${version}\n${'x'.repeat(4000)}\n`) },
    { path: 'app/board.json', mode: 0o644, data: text(`{"name":"rpi-4b","version":"${version}"}\n`) },
    { path: 'app/native/zstd.node', mode: 0o644, data: new Uint8Array(2048).fill(version.length) },
    { path: 'firmware/hooks/sealcam-slot-recover', mode: 0o755, data: new Uint8Array(RECOVER_HOOK) },
  ];
}

export async function smallImage(o: { key: SigningKey; board?: string; version: string; securityVersion: number; files?: FirmwareFile[] }): Promise<Uint8Array> {
  const { raw, entries } = packPayloadFiles(o.files ?? smallFiles(o.version));
  const payload = await zstdCompress(raw, 3);
  return encodeFirmwareImage({ board: o.board ?? 'rpi-4b', arch: 'arm64', version: o.version, securityVersion: o.securityVersion, builtAt: '2026-01-01T00:00:00.000Z', files: entries, rawSize: raw.length }, payload, o.key);
}
