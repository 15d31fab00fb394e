/**
 * The `sealcam` command: commander wiring only. Each command group lives in its own file and
 * registers itself here; the work is done in src/<app>/.
 */
import { Command, CommanderError } from 'commander';
import { SealcamError } from '../protocol/index.js';
import { registerInspect } from './inspect.js';
import { registerDemo } from './demo.js';
import { registerDevice } from './device.js';
import { registerBoards } from './boards.js';
import { registerFirmware } from './firmware.js';
import { registerRelay } from './relay.js';
import { registerOwner } from './owner.js';
import { registerView } from './view.js';

export function buildProgram(): Command {
  const program = new Command('sealcam')
    .description('Camera firmware companion: seals every video segment for its owner, so a misrouting cloud leaks nothing.')
    .version('0.1.0')
    .showHelpAfterError()
    // Program options (--version) only before the command, so `firmware build --version V` reaches build.
    .enablePositionalOptions()
    .exitOverride();
  registerDemo(program);
  registerDevice(program);
  registerInspect(program);
  registerBoards(program);
  registerFirmware(program);
  registerRelay(program);
  registerOwner(program);
  registerView(program);
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
