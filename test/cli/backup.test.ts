/**
 * The owner moves between the CLI and the phone app (issue 13): `owner backup` writes the app's
 * backup format (protocol/backup.ts) and `owner restore` takes one, so a camera paired on one side is
 * watched on the other. A wrong passphrase or a file that is not a backup is refused with a code.
 */
import test from 'ava';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openBackup, sealBackup } from '../../src/protocol/backup.js';
import { pageScrypt } from '../../src/app/scrypt.js';
import { toHex } from '../../src/protocol/index.js';
import { pairedOverRelay, streamPaired } from '../helpers/device.js';
import { sealcam } from '../helpers/cli.js';

test('owner backup → restore into a new home → sealcam view plays; an app-made backup restores too; bad input has codes', async (t) => {
  const p = await pairedOverRelay('cli-backup', 'porch');
  try {
    await streamPaired(p, 2);

    const pass = join(p.dir, 'pass.txt');
    await writeFile(pass, 'correct horse battery staple\n');
    const file = join(p.dir, 'owner.backup');
    const b = await sealcam('owner', 'backup', '--home', p.owner.dir, '--out', file, '--passphrase-file', pass);
    t.is(b.code, 0, b.stderr);
    t.is((await stat(file)).mode & 0o777, 0o600);
    // What the phone app reads out of it: the owner's keys, the relay login with its pin, the camera.
    const { readFile } = await import('node:fs/promises');
    const content = await openBackup(pageScrypt, await readFile(file, 'utf8'), 'correct horse battery staple');
    t.is(content.identitySecret, toHex(p.owner.identity.exportSecret()));
    t.deepEqual(content.cameras.map((c) => [c.name, c.id]), [['porch', p.camera.identity.idHex]]);

    const restored = join(p.dir, 'restored');
    const r = await sealcam('owner', 'restore', '--home', restored, '--file', file, '--passphrase-file', pass);
    t.is(r.code, 0, r.stderr);
    const v = await sealcam('view', '--home', restored, '--camera', 'porch', '--out', join(p.dir, 'a.mp4'), '--json');
    t.true(JSON.parse(v.stdout).framesDecoded >= 60, `frames decoded from the restored home: ${v.stdout.slice(0, 200)}`);

    // A backup as the app writes it (its own camera fields, a pairing time, no viewers) restores the same way.
    const appMade = join(p.dir, 'app.backup');
    await writeFile(appMade, await sealBackup(pageScrypt, { ...content, cameras: content.cameras.map((c) => ({ ...c, name: 'hall', pairedAt: Date.now() })) }, 'another long passphrase'));
    await writeFile(pass, 'another long passphrase');
    const r2 = await sealcam('owner', 'restore', '--home', join(p.dir, 'from-app'), '--file', appMade, '--passphrase-file', pass);
    t.is(r2.code, 0, r2.stderr);
    const v2 = await sealcam('view', '--home', join(p.dir, 'from-app'), '--camera', 'hall', '--out', join(p.dir, 'b.mp4'), '--json');
    t.true(JSON.parse(v2.stdout).framesDecoded >= 60);

    await writeFile(pass, 'not the passphrase');
    const wrong = await sealcam('owner', 'restore', '--home', join(p.dir, 'wrong'), '--file', appMade, '--passphrase-file', pass);
    t.not(wrong.code, 0);
    t.regex(wrong.stderr, /E_DECRYPT/);
    const notBackup = await sealcam('owner', 'restore', '--home', join(p.dir, 'wrong2'), '--file', pass, '--passphrase-file', pass);
    t.regex(notBackup.stderr, /E_MALFORMED/);
    t.notRegex(wrong.stderr + notBackup.stderr, /^\s+at /m);
  } finally {
    await p.relay.close();
  }
});
