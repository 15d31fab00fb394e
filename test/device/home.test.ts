/** The camera's home directory keeps its secrets private, and refuses to use a key others can read. */
import test from 'ava';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DeviceHome } from '../../src/device/home.js';
import { tempDir } from '../helpers/relay.js';
import { SealcamError } from '../../src/protocol/index.js';

test('the camera home is 0700, its key and relay login 0600; a key readable by others is refused with E_CONFIG', async (t) => {
  const dir = join(await tempDir('device-home'), 'cam');
  const home = await DeviceHome.open(dir);
  await home.setRelay({ url: 'mqtt://127.0.0.1:1', account: 'home', username: 'cam-x', password: 'secret-password' });
  t.is((await stat(dir)).mode & 0o777, 0o700);
  for (const f of ['camera.key', 'relay.json']) t.is((await stat(join(dir, f))).mode & 0o777, 0o600, f);
  // The same identity comes back on the next boot.
  t.is((await DeviceHome.open(dir)).identity.idHex, home.identity.idHex);
  const key = await readFile(join(dir, 'camera.key'), 'utf8');
  await chmod(join(dir, 'camera.key'), 0o644);
  const e = await t.throwsAsync(DeviceHome.open(dir));
  t.true(SealcamError.is(e, 'E_CONFIG'), String(e));
  t.regex(e!.message, /readable by others .*chmod 600/);
  t.is(await readFile(join(dir, 'camera.key'), 'utf8'), key, 'nothing was overwritten');
});
