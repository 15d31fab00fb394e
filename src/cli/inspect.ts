/** `sealcam inspect FILE`: print the public header of any sealcam message (what the relay sees). */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { describeMessage } from '../protocol/index.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('print the public header fields of a sealcam message file (envelope, seal, live chunk, epoch announcement, roster or transport chunk); needs no keys and decrypts nothing')
    .argument('<file>', 'message file to read')
    .action(async (file: string) => {
      const bytes = new Uint8Array(await readFile(file));
      process.stdout.write(`${JSON.stringify(describeMessage(bytes), null, 2)}\n`);
    });
}
