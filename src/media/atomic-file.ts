/**
 * (Shared by every app: media/ is the layer under them.) Crash-safe file writes: write a temporary
 * file, fsync it, rename over the target, fsync the directory. And the matching read of a small
 * JSON state file.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SealcamError } from '../protocol/errors.js';

export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** A JSON file's contents, or null if there is no such file; E_CONFIG if it is not JSON. */
export async function readJson<T>(path: string): Promise<T | null> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new SealcamError('E_CONFIG', `${path} is damaged (not JSON)`);
  }
}
