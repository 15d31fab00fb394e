/**
 * The `sealcam` command: commander wiring only. Each command group lives in its own file and
 * registers itself here; the work is done in src/<app>/.
 */
import { Command, CommanderError } from 'commander';
import { SealcamError } from '../protocol/index.js';
import { registerInspect } from './inspect.js';
import { registerDemo } from './demo.js';
import { registerDevice } from './device.js';

export function buildProgram(): Command {
  const program = new Command('sealcam')
    .description('Camera firmware companion: seals every video segment for its owner, so a misrouting cloud leaks nothing.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerDemo(program);
  registerDevice(program);
  registerInspect(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (SealcamError.is(e)) {
      process.stderr.write(`sealcam: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
