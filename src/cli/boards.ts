/** `sealcam boards …`: the board profiles in boards/. */
import { Command } from 'commander';
import { boardJsonSchema, listBoardNames, loadBoard } from '../device/board.js';

export function registerBoards(program: Command): void {
  const boards = program.command('boards').description('supported camera boards (boards/*.json)');
  boards
    .command('list')
    .description('list the board profiles')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const profiles = await Promise.all((await listBoardNames()).map((n) => loadBoard(n)));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(profiles, null, 2)}\n`);
        return;
      }
      const rows = profiles.map((b) => [b.name, b.arch, `${b.ramMB} MB`, b.encoder.strategy === 'passthrough' ? 'hardware H.264 (passthrough)' : 'software (node-webcodecs)', b.capture.command?.[0] ?? 'synthetic']);
      const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) process.stdout.write(`${r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ')}\n`);
    });
  boards
    .command('show')
    .description('print one profile, validated')
    .argument('<name>', 'profile name (see `sealcam boards list`) or a path to a .json profile')
    .action(async (name: string) => {
      process.stdout.write(`${JSON.stringify(await loadBoard(name), null, 2)}\n`);
    });
  boards
    .command('schema')
    .description('print the JSON Schema of a profile (boards/schema.json is this output)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(boardJsonSchema(), null, 2)}\n`);
    });
}
