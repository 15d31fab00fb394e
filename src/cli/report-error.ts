/**
 * The one place where the CLI turns an error into output (PROTOCOL.md §9.14). A SealcamError
 * prints `sealcam: E_CODE: message` and, where its code has one, the next step; any other error is
 * given a stable code (a file that cannot be read → E_FILE, a relay that does not answer →
 * E_RELAY_UNREACHABLE, anything else → E_INTERNAL). No stack trace is printed unless
 * SEALCAM_DEBUG=1.
 */
import { SealcamError, type ErrorCode } from '../protocol/index.js';

/** The exit code of a command that failed with an error. */
export const ERROR_EXIT_CODE = 2;

const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  E_RELAY_REPLY: 'check that the URL is the HTTP API of a sealcam relay of this version (`sealcam relay` prints it)',
  E_FILE: 'check the path and its permissions',
  E_INTERNAL: 'this is a bug in sealcam: run again with SEALCAM_DEBUG=1 and report the output',
};

/** Error codes of the operating system that mean "this path cannot be used". */
const FILE_ERRNO: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EEXIST: 'already exists',
};

/** Any thrown value as a SealcamError with a stable code. */
export function asSealcamError(e: unknown): SealcamError {
  if (SealcamError.is(e)) return e;
  const errno = e as NodeJS.ErrnoException | undefined;
  if (errno?.code && FILE_ERRNO[errno.code]) {
    const what = errno.path ? `${errno.path}: ` : '';
    return new SealcamError('E_FILE', `${what}${FILE_ERRNO[errno.code]} (${errno.syscall ?? 'file'} ${errno.code})`, { cause: e });
  }
  if (e instanceof TypeError && e.message === 'fetch failed') {
    const cause = e.cause as NodeJS.ErrnoException | undefined;
    const where = cause && 'address' in cause ? ` at ${String((cause as { address?: string }).address)}:${String((cause as { port?: number }).port ?? '')}` : '';
    return new SealcamError('E_RELAY_UNREACHABLE', `cannot reach the relay${where} (${cause?.code ?? cause?.message ?? 'fetch failed'})`, { cause: e });
  }
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new SealcamError('E_INTERNAL', `unexpected error: ${message.split('\n')[0]}`, { cause: e });
}

/** Print `e` for a person and set the exit code; returns the code. */
export function reportError(e: unknown, out: (s: string) => void = (s) => process.stderr.write(s)): number {
  const err = asSealcamError(e);
  const next = NEXT_STEP[err.code];
  out(`sealcam: ${err.message}\n${next ? `  next: ${next}\n` : ''}`);
  if (process.env.SEALCAM_DEBUG === '1') {
    for (let c: unknown = e; c; c = c instanceof Error ? c.cause : undefined) out(`${c instanceof Error ? (c.stack ?? c.message) : String(c)}\n`);
  }
  process.exitCode = ERROR_EXIT_CODE;
  return ERROR_EXIT_CODE;
}
