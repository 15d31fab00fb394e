/** The `sealcam` bin as a user runs it: a real child process through bin/sealcam.js. */
import { execFile } from 'node:child_process';

export const SEALCAM_BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;

/** Runs `sealcam ARGS`; resolves with the exit code and output, whatever the code. */
export function sealcam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SEALCAM_BIN, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // A process ended by a signal (a native crash at exit, say) has no exit code: reported as 1,
      // and its stderr says which signal, so a failing assertion shows it.
      const signal = error && typeof error.code !== 'number' ? error.signal : null;
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr: signal ? `${stderr}\n[sealcam was ended by ${signal}]` : stderr });
    });
  });
}

export interface BoundedRun {
  code: number | null;
  /** the signal that ended it: set only when the kill timer had to stop it (it hung) */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `sealcam ARGS` with a kill timer: a run still going after `killAfterMs` is killed (SIGKILL)
 * and reported with its signal, so a hang fails the test instead of stalling it. `input` is its stdin.
 */
export function sealcamBounded(args: string[], o: { killAfterMs: number; input?: string; env?: NodeJS.ProcessEnv }): Promise<BoundedRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [SEALCAM_BIN, ...args],
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: o.killAfterMs, killSignal: 'SIGKILL', env: { ...process.env, SEALCAM_DEBUG: '', ...o.env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr, ms: Date.now() - started });
      },
    );
    child.stdin?.end(o.input ?? '');
  });
}
