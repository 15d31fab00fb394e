import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { Identity, signRoster, systemRandom } from '../../src/protocol/index.js';
import { DeviceHome } from '../../src/device/home.js';
import { AccountStore } from '../../src/relay/accounts.js';
import { startRelay, type Relay } from '../../src/relay/relay.js';
import { redeemCamera, startMosquitto, tempDir } from '../helpers/relay.js';
import { findTool, requireTool } from '../helpers/tools.js';
import { openStored, sealingCamera, until, uploaderContract, uploaderFor, type Setup } from './uploader-contract.js';

const mosquittoBin = findTool('mosquitto');

/** Mosquitto with the camera's and the store's logins, and (unless `storeNow` is false) the relay's store worker. */
async function mosquittoSetup(t: ExecutionContext, label: string, storeNow = true): Promise<(Setup & { startStore(): Promise<void> }) | null> {
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
  let relay: Relay | null = null;
  const startStore = async () => {
    relay = await startRelay({ dataDir, httpPort: 0, broker: mosquitto.url });
  };
  if (storeNow) await startStore();
  return {
    get store() {
      if (!relay) throw new Error('the store worker is not running');
      return relay.store;
    },
    startStore,
    camera: (await home.relay())!,
    viewer,
    home,
    owner,
    dir,
    stopBroker: () => mosquitto.stop(),
    startBroker: () => mosquitto.restart(),
    teardown: async () => {
      await relay?.close();
      await mosquitto.stop();
    },
  };
}

uploaderContract(test, 'Mosquitto + store worker', mosquittoSetup, Number(process.env.SEALCAM_OUTAGE_SECONDS ?? 12)); // longer cuts (60 s, past the spool) run in npm run bench:soak

// The broker acknowledges (PUBACK) what no store ever takes: here no store worker has connected
// yet, so Mosquitto has no session to queue for and drops each message at once. The same happens
// on a cluster node whose stream is electing a leader (issue 15), or on AWS IoT when a rule's
// queue is down. Before storage receipts the camera emptied its spool on the PUBACKs, and all of
// it was lost (0 of 4 stored). Now it keeps each envelope until the store confirms it (§10.5).
test('Mosquitto acknowledges while no store takes the uploads: nothing leaves the spool until the store confirms it, then all arrive once, in order', async (t) => {
  const s = await mosquittoSetup(t, 'no-store', false);
  if (!s) return;
  try {
    const cam = sealingCamera(s);
    const { spool, up } = await uploaderFor(s, 'no-store', undefined, 500);
    await up.start();
    await up.announce(cam.announcement, 1);
    for (const x of [cam.seal(300_000), cam.seal(200_000), cam.seal(10), cam.seal(150_000, true)]) await up.segment(x.envelope, { seq: x.seq, kind: 'media', final: false, bytes: x.envelope.length });
    await until(() => up.stats.piecesPublished >= 8, 10_000, 'every piece acknowledged by Mosquitto');
    t.is(spool.status.entries, 4, `acknowledged but unconfirmed envelopes stay spooled (uploaded ${up.stats.envelopesUploaded})`);
    await s.startStore();
    await up.flush(30_000);
    t.deepEqual(await openStored(s, cam.view), [0, 1, 2, 3]);
    t.notThrows(() => cam.view.stream.assertComplete());
    t.true(up.stats.resent >= 4, `resent ${up.stats.resent}`);
    t.is(up.stats.envelopesUploaded, 4);
    t.true((await s.store.announcements(s.camera.account, s.home.identity.idHex)).length >= 1, 'the announcement, re-sent too');
    await up.close();
  } finally {
    await s.teardown();
  }
});
