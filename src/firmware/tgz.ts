/**
 * Read one file out of an npm package tarball (gzip + POSIX ustar, as `npm pack` writes it).
 * Enough tar for that job: 512-byte headers, size in octal at offset 124, name at 0 with the
 * ustar prefix at 345; pax ('x', 'g') and other non-file entries are skipped.
 */
import { gunzipSync } from 'node:zlib';
import { SealcamError } from '../protocol/errors.js';

const BLOCK = 512;

function field(header: Uint8Array, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return Buffer.from(end === -1 ? raw : raw.subarray(0, end)).toString('utf8');
}

/** The contents of `path` (e.g. "package/zstd.linux-arm64-gnu.node") in the .tgz `tgz`. */
export function extractFromTgz(tgz: Uint8Array, path: string, what: string): Uint8Array {
  const tar = new Uint8Array(gunzipSync(tgz));
  for (let off = 0; off + BLOCK <= tar.length; ) {
    const header = tar.subarray(off, off + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    const prefix = field(header, 345, 155);
    const name = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
    const body = off + BLOCK;
    if ((type === '0' || type === '\0') && name === path) return tar.slice(body, body + size);
    off = body + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new SealcamError('E_FIRMWARE_FORMAT', `${what}: ${path} is not in the package tarball`);
}
