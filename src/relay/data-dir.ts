/**
 * The relay's data directory is trusted with hashed logins and every account's history, so it
 * must be the relay's alone (PROTOCOL.md §15.5): owned by the user the relay runs as, and
 * writable by nobody else (no group or other write bit). Inside it nothing is ever reached
 * through a symlink: each directory of the store is checked with lstat before use, and files are
 * opened with O_NOFOLLOW (media/atomic-file.ts). Anything else is E_DATA_DIR.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, stat } from 'node:fs/promises';
import { SealcamError } from '../protocol/errors.js';

const OTHERS_WRITE = 0o022;

function checkOwnedAndPrivate(st: Stats, what: string): void {
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new SealcamError('E_DATA_DIR', `${what} is owned by uid ${st.uid}, not by the relay's user (uid ${uid}); chown it or choose another --data`);
  if (st.mode & OTHERS_WRITE) throw new SealcamError('E_DATA_DIR', `${what} is writable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); run chmod go-w on it (0700 is best)`);
}

/** Create the data directory (0700) if missing, then refuse it unless it is the relay's alone. */
export async function openDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The operator's own path may be a symlink (e.g. /var/lib/sealcam → /srv/sealcam): follow it here only.
  const st = await stat(dir);
  if (!st.isDirectory()) throw new SealcamError('E_DATA_DIR', `${dir} is not a directory`);
  checkOwnedAndPrivate(st, `data directory ${dir}`);
}

/**
 * A directory inside the data directory: created 0700 if missing; refused if it is a symlink, not
 * a directory, not ours or writable by others. `label` names it without the absolute path.
 */
export async function ensurePrivateDir(path: string, label: string): Promise<void> {
  let st = await lstat(path).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
  if (!st) {
    await mkdir(path, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
    st = await lstat(path);
  }
  if (st.isSymbolicLink()) throw new SealcamError('E_DATA_DIR', `${label} is a symlink; the store never follows one`);
  if (!st.isDirectory()) throw new SealcamError('E_DATA_DIR', `${label} is not a directory`);
  checkOwnedAndPrivate(st, label);
}
