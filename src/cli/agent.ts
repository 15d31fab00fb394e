/**
 * Entry point of the on-board agent, the one file that src/firmware/bundle.ts bundles into a
 * firmware image (app/sealcam-agent.mjs). Only the device side is wired: `device run` and
 * `self-test` (what slots.ts runs before it confirms a new slot).
 */
import { Command, CommanderError } from 'commander';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { SealcamError } from '../protocol/errors.js';
import { registerDevice } from './device.js';
import { runSelfTest } from '../device/self-test.js';

export function buildAgentProgram(): Command {
  const program = new Command('sealcam-agent').description('sealcam on-board agent').exitOverride();
  registerDevice(program);
  program
    .command('self-test')
    .description("check this installation: board profile, zstd and node-webcodecs addons; prints JSON, exits 1 on failure")
    .option('--board <path>', 'board profile (default: board.json next to this file)')
    .action(async (opts: { board?: string }) => {
      const here = dirname(fileURLToPath(import.meta.url));
      const report = await runSelfTest(opts.board ?? join(here, 'board.json'));
      process.stdout.write(`${JSON.stringify(report)}\n`);
      if (!report.ok) process.exitCode = 1;
    });
  return program;
}

try {
  await buildAgentProgram().parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode;
  else if (SealcamError.is(e)) {
    process.stderr.write(`sealcam-agent: ${e.message}\n`);
    process.exitCode = 2;
  } else throw e;
}
