/**
 * (Shared by every app: media/ is the layer under them.) Crash-safe file writes: create a
 * temporary file with an unpredictable name, exclusively (O_CREAT|O_EXCL, O_NOFOLLOW: a file or
 * symlink planted at that name is never opened), fsync it, rename it over the target (rename
 * replaces a symlink at the target, it never writes through it), fsync the directory. And the
 * matching reads, which never follow a symlink at the last path component.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SealcamError } from '../protocol/errors.js';

const { O_CREAT, O_EXCL, O_WRONLY, O_RDONLY, O_NOFOLLOW } = constants;

/** The temporary name used next to `path`: `.<name>.<16 random hex>.tmp` (PROTOCOL.md §15.1). */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const tmp = tempNameFor(path);
  const fh = await open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path).catch(async (e: unknown) => {
    await unlink(tmp).catch(() => undefined);
    throw e;
  });
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** A file's bytes; refuses (ELOOP) a symlink at the last component instead of following it. */
export async function readFileNoFollow(path: string): Promise<Buffer> {
  const fh = await open(path, O_RDONLY | O_NOFOLLOW);
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
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
