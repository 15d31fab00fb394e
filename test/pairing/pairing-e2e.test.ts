/**
 * Pairing end to end through the embedded relay: the owner's code is rendered into the synthetic
 * camera's 1080p frames at about 25 % of the frame height with noise; the camera finds it, the
 * handshake completes, both sides hold each other's pinned keys, and the camera then streams
 * segments only its owner opens. Junk on the pairing topic, from any login that knows it, is
 * ignored and counted on both sides; a relay's forged answer pairs nothing.
 */
import test from 'ava';
import { join } from 'node:path';
import { CameraHandshake, Identity, Viewer, asciiBytes, createPairingOffer, sealCameraAnswer, systemRandom, decodeQrPayload, pairingId, pairingTopic, toHex } from '../../src/protocol/index.js';
import { connectMqtt } from '../../src/media/mqtt.js';
import { DeviceHome } from '../../src/device/home.js';
import { pairAsCamera, scanForCode, type ScanStats } from '../../src/device/pair.js';
import { runAgent } from '../../src/device/agent.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { loadBoard } from '../../src/device/board.js';
import { OwnerHome } from '../../src/owner/home.js';
import { pairAsOwner } from '../../src/owner/pair.js';
import { fetchHistory } from '../../src/owner/history.js';
import { SyntheticSource } from '../../src/media/synthetic.js';
import { qrLuma } from '../../src/media/qr.js';
import { embeddedRelay, tempDir } from '../helpers/relay.js';

async function setup(label: string) {
  const dir = await tempDir(label);
  const relay = await embeddedRelay(join(dir, 'relay'));
  const login = await relay.accounts.addAccount('home');
  const owner = await OwnerHome.init(join(dir, 'owner'));
  await owner.setRelay({ httpUrl: relay.httpUrl, account: 'home', username: login.username, password: login.password });
  const camera = await DeviceHome.open(join(dir, 'camera'));
  return { dir, relay, owner, camera };
}

/** Start the owner's side of pairing; resolves once its code is shown. Ignored messages are collected by code. */
async function ownerShowing(owner: OwnerHome, name: string, timeoutMs: number) {
  let shown!: (text: string) => void;
  const codeShown = new Promise<string>((r) => (shown = r));
  const ignored: string[] = [];
  const result = pairAsOwner({ home: owner, name, showCode: (text) => shown(text), timeoutMs, onIgnored: (e) => ignored.push(e.code) });
  const text = await codeShown;
  return { text, offer: decodeQrPayload(text), result, ignored };
}

/** Show `text` to the sim camera's lens: ~25 % of 1080 rows, off-centre, with noise. */
function cameraSeeing(text: string): SyntheticSource {
  const source = new SyntheticSource({ realtime: true, fps: 30 });
  const img = qrLuma(text);
  const scale = Math.max(1, Math.round(270 / img.height));
  source.scene.setOverlay({ luma: img.luma, width: img.width, height: img.height, x: 1100, y: 400, scale, noise: 12 });
  return source;
}

test('the code in the camera\'s frames pairs both sides through the relay; then only the owner opens its video', async (t) => {
  const { relay, owner, camera } = await setup('pair-e2e');
  try {
    const { text, result: ownerSide } = await ownerShowing(owner, 'nursery', 60_000);
    const stats: ScanStats = { framesSeen: 0, framesScanned: 0 };
    const appeared = Date.now(); // the code is in the camera's frames from its first frame on
    const scanned = await scanForCode(cameraSeeing(text), { timeoutMs: 30_000, stats });
    t.is(scanned, text);
    const cameraSide = await pairAsCamera(camera, scanned);
    t.log(`code in frames → paired: ${Date.now() - appeared} ms (goal ≤ 3000 ms; reported, not asserted)`);
    const ownerResult = await ownerSide;
    t.is(cameraSide.code, ownerResult.code, 'both sides show the same confirmation code');
    t.deepEqual(ownerResult.camera.id, camera.identity.id);
    t.deepEqual((await owner.camera('nursery')).camera.signPublicKey, camera.identity.signPublicKey);
    t.deepEqual((await camera.pairing()).owner.signPublicKey, owner.identity.signPublicKey);
    t.log(`found the code after ${stats.framesScanned} scans of ${stats.framesSeen} frames`);

    // The same code cannot pair again (camera side), even after a restart of the camera's process.
    t.is(await pairAsCamera(await DeviceHome.open(camera.dir), scanned).then(() => undefined, (e) => e.code), 'E_PAIRING_REUSED');

    // The paired camera streams; the owner opens it from history.
    const board = await loadBoard('sim');
    const up = new MqttUploader({ ...(await camera.relay())!, cameraId: camera.identity.idHex, spool: await Spool.open(join(camera.dir, 'spool'), 64 << 20) });
    await up.start();
    await runAgent({ board, home: camera, sink: up, seconds: 1, video: { width: 640, height: 360, bitrate: 800_000 } });
    await up.flush(20_000);
    await up.close();
    const viewer = new Viewer(owner.identity);
    viewer.pin((await owner.camera('nursery')).camera);
    const history = await fetchHistory(await owner.relay(), viewer, camera.identity.idHex);
    t.is(history.rejected.length, 0);
    t.is(history.opened.length, 2);
    t.false(history.truncated);
  } finally {
    await relay.close();
  }
});

test('junk from a login that knows the pairing topic does not abort pairing: both sides ignore and count it, then pair', async (t) => {
  const { relay, owner, camera } = await setup('pair-junk');
  const strangerLogin = await relay.accounts.addAccount('stranger');
  try {
    const { text, offer, result: ownerSide, ignored: ownerIgnored } = await ownerShowing(owner, 'door', 30_000);
    const topic = pairingTopic(pairingId(offer.secret));
    // A stranger (another account's login) knows the topic; it cannot know the secret.
    const anotherPairing = createPairingOffer({ owner: Identity.generate(systemRandom), relayUrl: relay.httpUrl, account: 'home', provisionToken: systemRandom(16), expiresAt: Date.now() + 60_000 }, systemRandom);
    const replayed = new CameraHandshake(anotherPairing, Identity.generate(systemRandom), systemRandom).answer; // an answer from another pairing
    const junk = () => {
      const wrongMagic = replayed.slice();
      wrongMagic.set(asciiBytes('JUNK'), 0);
      const forged = sealCameraAnswer({ ...offer, secret: systemRandom(16) }, Identity.generate(systemRandom), systemRandom(32), systemRandom); // MAC'd under another key
      // Answer headers (version 2 kind 3, and version 1 kind 1) in front of random bytes.
      const answerLike = [Uint8Array.of(2, 3, 0, 0), Uint8Array.of(1, 1, 0, 0)].map((h) => Uint8Array.from([...asciiBytes('SCP1'), ...h, ...systemRandom(200)]));
      return [systemRandom(1 + systemRandom(1)[0]!), wrongMagic, forged, replayed, ...answerLike];
    };
    const stranger = await connectMqtt(relay.mqttUrl, strangerLogin);
    const mine = new Set<string>();
    const spray = async () => {
      for (const m of junk()) {
        mine.add(toHex(m));
        await stranger.publishAsync(topic, Buffer.from(m), { qos: 1 });
      }
    };
    let batches = 0;
    stranger.on('message', (_t, payload) => {
      if (!mine.has(toHex(payload))) void spray().then(() => batches++); // once more after every message of the handshake
    });
    await stranger.subscribeAsync(topic, { qos: 1 });
    await spray(); // before the camera answers
    batches++;

    const cameraIgnored: string[] = [];
    const cameraSide = await pairAsCamera(camera, text, { onIgnored: (e) => cameraIgnored.push(e.code) });
    const ownerResult = await ownerSide;
    await stranger.endAsync();
    t.log(`junk batches sent: ${batches}; ignored by the owner: ${ownerResult.ignored} (${ownerIgnored.join(' ')}), by the camera: ${cameraSide.ignored} (${cameraIgnored.join(' ')})`);
    t.is(cameraSide.code, ownerResult.code, 'both sides show the same confirmation code');
    t.deepEqual(ownerResult.camera.id, camera.identity.id);
    t.true(ownerResult.ignored >= 6, 'the batch sent before the answer is ignored by the owner');
    t.is(ownerResult.ignored, ownerIgnored.length);
    t.true(cameraSide.ignored >= 1, 'the camera ignores junk while it waits for the owner');
    t.is(cameraSide.ignored, cameraIgnored.length);
    t.true(['E_PAIRING_MAC', 'E_BAD_MAGIC', 'E_UNSUPPORTED_VERSION'].every((c) => ownerIgnored.includes(c)));
    t.deepEqual((await owner.cameras()).map((c) => c.name), ['door']);
  } finally {
    await relay.close();
  }
});

test('a relay that forges the camera\'s answer with its own keys pairs nothing: the owner ignores it and times out', async (t) => {
  const { relay, owner } = await setup('pair-swap');
  try {
    const { offer, result: ownerSide, ignored } = await ownerShowing(owner, 'door', 3_000);
    // The relay knows the topic (it routes it) but not the secret: its answer carries its own keys,
    // sealed under a key it had to guess.
    const relayKeys = Identity.generate(systemRandom);
    const forged = sealCameraAnswer({ ...offer, secret: systemRandom(16) }, relayKeys, systemRandom(32), systemRandom);
    relay.broker!.aedes.publish({ cmd: 'publish', topic: pairingTopic(pairingId(offer.secret)), payload: Buffer.from(forged), qos: 1, retain: false, dup: false }, () => undefined);
    const err = await ownerSide.then(() => undefined, (e: Error & { code: string }) => e);
    t.is(err?.code, 'E_PAIRING_EXPIRED');
    t.regex(err!.message, /1 invalid messages ignored/);
    t.deepEqual(ignored, ['E_PAIRING_MAC']);
    t.deepEqual(await owner.cameras(), []);
  } finally {
    await relay.close();
  }
});

test('a camera refuses an expired code and a code that is not a sealcam code', async (t) => {
  const { relay, camera } = await setup('pair-expired');
  try {
    const owner = Identity.generate(systemRandom);
    const { encodeQrPayload, createPairingOffer } = await import('../../src/protocol/index.js');
    const expired = encodeQrPayload(createPairingOffer({ owner, relayUrl: relay.httpUrl, account: 'home', provisionToken: systemRandom(16), expiresAt: Date.now() - 1 }, systemRandom));
    t.is(await pairAsCamera(camera, expired).then(() => undefined, (e) => e.code), 'E_PAIRING_EXPIRED');
    t.is(await pairAsCamera(camera, 'WIFI:S:home;P:secret;;').then(() => undefined, (e) => e.code), 'E_QR_FORMAT');
    // A code with an unknown token: the relay refuses to provision.
    const unknownToken = encodeQrPayload(createPairingOffer({ owner, relayUrl: relay.httpUrl, account: 'home', provisionToken: systemRandom(16), expiresAt: Date.now() + 60_000 }, systemRandom));
    t.is(await pairAsCamera(camera, unknownToken).then(() => undefined, (e) => e.code), 'E_AUTH');
  } finally {
    await relay.close();
  }
});
