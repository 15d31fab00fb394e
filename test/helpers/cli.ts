/** The `sealcam` bin as a user runs it: a real child process through bin/sealcam.js. */
import { execFile } from 'node:child_process';

export const SEALCAM_BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;

/** Runs `sealcam ARGS`; resolves with the exit code and output, whatever the code. */
export function sealcam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SEALCAM_BIN, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
