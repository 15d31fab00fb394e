/**
 * The `sealcam` command: commander wiring only. Each command group lives in its own file and
 * registers itself here; the work is done in src/<app>/.
 */
import { Command, CommanderError } from 'commander';
import { reportError } from './report-error.js';
import { registerInspect } from './inspect.js';
import { registerDemo } from './demo.js';
import { registerDevice } from './device.js';
import { registerBoards } from './boards.js';
import { registerFirmware } from './firmware.js';
import { registerRelay } from './relay.js';
import { registerOwner } from './owner.js';
import { registerView } from './view.js';
import { registerApp } from './app.js';

export function buildProgram(): Command {
  const program = new Command('sealcam')
    .description('Camera firmware companion: seals every video segment for its owner, so a misrouting cloud leaks nothing.')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText('after', `\nErrors print a stable code (E_…) and what to do next, and exit non-zero (2).\nSet SEALCAM_DEBUG=1 to also print the stack trace of an error.`)
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
  registerApp(program);
  return program;
}

/**
 * Runs the command line; resolves true if the command failed with an error (already reported:
 * the caller exits at once, so nothing the failed command left open keeps the process alive).
 */
export async function main(argv: string[]): Promise<boolean> {
  // Errors outside the command's own await chain (an event emitter, a timer) take the same funnel.
  const fatal = (e: unknown) => {
    reportError(e);
    process.exit();
  };
  process.on('uncaughtException', fatal).on('unhandledRejection', fatal);
  // A command that has done its work ends through process.exit, which skips tearing down the V8
  // heap and the addons' objects. That teardown is where node-webcodecs 1.3.0 crashed after a
  // correct run (a core from `sealcam demo`: SIGSEGV in Isolate::Delete → Heap::TearDown,
  // free(0x1) of a V8 slot set, the mark of a `true` written into freed memory at exit; see
  // src/media/webcodecs.ts for the one such write found). The exit code is the one set.
  process.once('beforeExit', () => process.exit());
  try {
    await buildProgram().parseAsync(argv);
    return false;
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return false;
    }
    reportError(e);
    return true;
  }
}
