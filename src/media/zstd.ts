/**
 * zstd (RFC 8878) for firmware images, from @mongodb-js/zstd 1.2.2's native binding: its package
 * export ignores the level, the binding honours it. Shared by the firmware tooling and the device
 * (OTA), so it lives in media/, the layer under both.
 */
import { compress, decompress } from '@mongodb-js/zstd/bindings.js';
import { SealcamError } from '../protocol/errors.js';

export const DEFAULT_ZSTD_LEVEL = 19;

export async function zstdCompress(data: Uint8Array, level = DEFAULT_ZSTD_LEVEL): Promise<Uint8Array> {
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new SealcamError('E_BAD_ARGUMENT', `zstd level: expected an integer in 1..22, got ${level}`);
  const out = await compress(Buffer.from(data.buffer, data.byteOffset, data.byteLength), level);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A corrupt frame is E_FIRMWARE_HASH; a result over `maxBytes` E_FIRMWARE_FORMAT. */
export async function zstdDecompress(frame: Uint8Array, maxBytes: number, what: string): Promise<Uint8Array> {
  let out: Buffer;
  try {
    out = await decompress(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
  } catch (e) {
    throw new SealcamError('E_FIRMWARE_HASH', `${what}: zstd payload does not decompress (${(e as Error).message})`, { cause: e });
  }
  if (out.length > maxBytes) throw new SealcamError('E_FIRMWARE_FORMAT', `${what}: payload decompresses to ${out.length} bytes, over ${maxBytes}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
