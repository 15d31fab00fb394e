import test from 'ava';
import { join } from 'node:path';
import { Identity, signRoster, systemRandom } from '../../src/protocol/index.js';
import { DeviceHome } from '../../src/device/home.js';
import { AccountStore } from '../../src/relay/accounts.js';
import { startRelay, type Relay } from '../../src/relay/relay.js';
import { redeemCamera, startMosquitto, tempDir } from '../helpers/relay.js';
import { findTool, requireTool } from '../helpers/tools.js';
import { uploaderContract, type Setup } from './uploader-contract.js';

const mosquittoBin = findTool('mosquitto');

uploaderContract(
  test,
  'Mosquitto + store worker',
  async (t, label): Promise<Setup | null> => {
    if (!requireTool(t, 'mosquitto (Debian mosquitto)', mosquittoBin !== null)) return null;
    const dir = await tempDir(`up-mosquitto-${label}`);
    const dataDir = join(dir, 'relay');
    // Logins first (Mosquitto reads its password file at start), through the same account store.
    const accounts = await AccountStore.open(dataDir);
    const viewer = await accounts.addAccount('home');
    const home = await DeviceHome.open(join(dir, 'camera'));
    const owner = Identity.generate(systemRandom);
    await home.pinOwner(owner.public, signRoster(owner, { cameraId: home.identity.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] }));
    const cam = await redeemCamera(accounts, 'home', home.identity);
    const mosquitto = await startMosquitto(dataDir, mosquittoBin!);
    await home.setRelay({ url: mosquitto.url, account: cam.account, username: cam.username, password: cam.password });
    const relay: Relay = await startRelay({ dataDir, httpPort: 0, broker: mosquitto.url });
    return {
      get store() {
        return relay.store;
      },
      camera: (await home.relay())!,
      viewer,
      home,
      owner,
      dir,
      stopBroker: () => mosquitto.stop(),
      startBroker: () => mosquitto.restart(),
      teardown: async () => {
        await relay.close();
        await mosquitto.stop();
      },
    };
  },
  Number(process.env.SEALCAM_OUTAGE_SECONDS ?? 30),
);
