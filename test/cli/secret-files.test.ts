/**
 * Issue 12 row 10: every file that holds a secret (or the owner's video) is readable by its owner
 * only — mode 0600 in 0700 directories: the pairing code.png (pairing secret and provisioning
 * token), the owner and camera homes, and what `device run --out` writes.
 */
import test, { type ExecutionContext } from 'ava';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OwnerHome } from '../../src/owner/home.js';
import { sealcamBounded } from '../helpers/cli.js';
import { pairedDevice } from '../helpers/device.js';
import { embeddedRelay, tempDir } from '../helpers/relay.js';

/** Every file and directory under `dir`, with its permission bits. */
async function modesUnder(dir: string): Promise<{ path: string; mode: number; isDir: boolean }[]> {
  const out: { path: string; mode: number; isDir: boolean }[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const s = await stat(path);
    out.push({ path, mode: s.mode & 0o777, isDir: s.isDirectory() });
    if (s.isDirectory()) out.push(...(await modesUnder(path)));
  }
  return out;
}

async function assertPrivate(t: ExecutionContext, dir: string, what: string): Promise<void> {
  const entries = await modesUnder(dir);
  t.true(entries.some((e) => !e.isDir), `${what}: some files to check in ${dir}`);
  for (const e of entries) t.is(e.mode & 0o077, 0, `${what}: ${e.path} is mode ${e.mode.toString(8)}, readable by others`);
}

test("the pairing code.png (the pairing secret and a provisioning token) is not readable by other users, nor is the owner's home", async (t) => {
  const dir = await tempDir('secret-png');
  const relay = await embeddedRelay(join(dir, 'relay'));
  try {
    const home = await OwnerHome.init(join(dir, 'owner'));
    await home.setRelay({ httpUrl: relay.httpUrl, ...(await relay.accounts.addAccount('home')) });
    const png = join(dir, 'code.png');
    // No camera answers: the owner writes the code, waits 2 s and gives up.
    const r = await sealcamBounded(['owner', 'pair', '--home', home.dir, '--name', 'porch', '--qr-png', png, '--timeout', '2'], { killAfterMs: 40_000 });
    t.regex(r.stderr, /E_PAIRING_EXPIRED/, r.stderr);
    const mode = (await stat(png)).mode & 0o777;
    t.is(mode, 0o600, `code.png is mode ${mode.toString(8)}`);
    await assertPrivate(t, home.dir, 'owner home');
  } finally {
    await relay.close();
  }
});

test('device run --out writes envelopes that other users cannot read, and the camera home stays private', async (t) => {
  const { dir, home } = await pairedDevice('secret-out');
  const out = join(dir, 'out');
  const r = await sealcamBounded(['device', 'run', '--board', 'sim', '--home', home.dir, '--out', out, '--seconds', '1', '--json'], { killAfterMs: 120_000 });
  t.is(r.code, 0, r.stderr);
  await assertPrivate(t, out, 'device run --out');
  await assertPrivate(t, home.dir, 'camera home');
});
