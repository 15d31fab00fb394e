import test from 'ava';
import { join } from 'node:path';
import { Identity, signRoster, systemRandom } from '../../src/protocol/index.js';
import { DeviceHome } from '../../src/device/home.js';
import type { Relay } from '../../src/relay/relay.js';
import { embeddedRelay, provisionCamera, tempDir } from '../helpers/relay.js';
import { uploaderContract, type Setup } from './uploader-contract.js';

async function makeSetup(label: string): Promise<Setup> {
  const dir = await tempDir(`up-embedded-${label}`);
  const dataDir = join(dir, 'relay');
  let relay: Relay = await embeddedRelay(dataDir);
  const port = relay.broker!.port;
  const viewer = await relay.accounts.addAccount('home');
  const home = await DeviceHome.open(join(dir, 'camera'));
  const owner = Identity.generate(systemRandom);
  await home.pinOwner(owner.public, signRoster(owner, { cameraId: home.identity.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] }));
  await provisionCamera(relay, viewer, home);
  const camera = (await home.relay())!;
  let running = true;
  return {
    get store() {
      return relay.store;
    },
    camera,
    viewer,
    home,
    owner,
    dir,
    stopBroker: async () => {
      running = false;
      await relay.close();
    },
    startBroker: async () => {
      relay = await embeddedRelay(dataDir, { port });
      running = true;
    },
    teardown: async () => {
      if (running) await relay.close();
    },
  };
}

uploaderContract(test, 'embedded aedes relay', (_t, label) => makeSetup(label), Number(process.env.SEALCAM_OUTAGE_SECONDS ?? 12)); // longer cuts (60 s, past the spool) run in npm run bench:soak
