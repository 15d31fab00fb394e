/** A paired camera home in a temp dir, and the owner's viewer for it. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity, Viewer, publicIdentity, signRoster, systemRandom } from '../../src/protocol/index.js';
import { DeviceHome } from '../../src/device/home.js';

export async function pairedDevice(label: string): Promise<{ dir: string; home: DeviceHome; owner: Identity; viewer: Viewer }> {
  const dir = await mkdtemp(join(tmpdir(), `sealcam-${label}-`));
  const home = await DeviceHome.open(join(dir, 'home'));
  const owner = Identity.generate(systemRandom);
  const roster = signRoster(owner, { cameraId: home.identity.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] });
  await home.pinOwner(owner.public, roster);
  const viewer = new Viewer(owner);
  viewer.pin(publicIdentity(home.identity.signPublicKey, home.identity.boxPublicKey));
  return { dir, home, owner, viewer };
}
