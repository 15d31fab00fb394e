/**
 * Interop tests need outside tools (python3 with libsodium, ffprobe, mosquitto, zbarimg,
 * chromium). Locally a missing tool skips the test with a message; under CI=true it fails,
 * because .ci/run installs them all and a silent skip would hide a broken check.
 */
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** True if `probe` (a command and args) exits 0. */
export function toolWorks(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}

/**
 * Returns true if the test may go on. Otherwise fails the test under CI, or records why it
 * did not run locally (ava prints the message), and returns false.
 */
export function requireTool(t: ExecutionContext, name: string, available: boolean): boolean {
  if (available) return true;
  if (IN_CI) {
    t.fail(`${name} is required under CI=true (.ci/run installs it) but is not available`);
  } else {
    t.log(`${name} is not available: interop check NOT run (it runs, and must pass, in CI)`);
    t.pass();
  }
  return false;
}

/** The path of `command` if it can be started (for tools whose help exits non-zero, like mosquitto). */
export function findTool(command: string, extraDirs: string[] = ['/usr/sbin', '/sbin']): string | null {
  for (const candidate of [command, ...extraDirs.map((d) => `${d}/${command}`)]) {
    const r = spawnSync(candidate, ['-h'], { stdio: 'ignore', timeout: 30_000 });
    if (!r.error) return candidate;
  }
  return null;
}
