/**
 * One uploader contract, run against every broker we support (STYLE.md §8, after MQTT.js'
 * abstract_client): the embedded aedes relay and a real Mosquitto with the relay's store worker.
 * A `Setup` provides a broker that can be stopped and started again on the same port, a camera
 * with its relay login, and the relay's store to check what arrived.
 */
import type { ExecutionContext, TestFn } from 'ava';
import mqtt from 'mqtt';
import { join } from 'node:path';
import { CameraEpochs, SegmentSealer, openRoster, signRoster, systemRandom, Identity, Viewer, publicIdentity, cameraTopic, accountWildcard } from '../../src/protocol/index.js';
import { DeviceHome, type RelayLogin } from '../../src/device/home.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import type { OpaqueStore } from '../../src/relay/store.js';

export interface Setup {
  /** the relay's store (where uploads must land); a getter, since a restarted relay has a new one */
  readonly store: OpaqueStore;
  /** the camera's relay login */
  camera: RelayLogin;
  /** a viewer login of the same account */
  viewer: { username: string; password: string; account: string };
  home: DeviceHome;
  owner: Identity;
  dir: string;
  stopBroker(): Promise<void>;
  startBroker(): Promise<void>;
  teardown(): Promise<void>;
}

export type MakeSetup = (t: ExecutionContext, label: string) => Promise<Setup | null>;

/** A camera that seals random payloads (no video needed to exercise the uploader). */
export function sealingCamera(s: Setup) {
  const roster = openRoster(signRoster(s.owner, { cameraId: s.home.identity.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [s.owner.public] }), s.owner.signPublicKey);
  const epochs = new CameraEpochs(s.home.identity, systemRandom, 0);
  const announcement = epochs.rotate(roster, Date.now());
  const sealer = new SegmentSealer(s.home.identity, epochs, systemRandom, 0);
  const viewer = new Viewer(s.owner);
  const view = viewer.pin(publicIdentity(s.home.identity.signPublicKey, s.home.identity.boxPublicKey));
  view.addAnnouncement(announcement);
  return {
    announcement,
    view,
    seal: (bytes: number, final = false) => {
      const seq = sealer.nextSeq;
      return { seq, envelope: sealer.seal({ kind: 'media', captureTime: Date.now(), durationMs: 2000, payload: systemRandom(bytes), final }) };
    },
  };
}

export async function uploaderFor(s: Setup, label: string, maxBytes = 64 * 1024 * 1024, receiptTimeoutMs?: number) {
  const spool = await Spool.open(join(s.dir, `spool-${label}`), maxBytes);
  const up = new MqttUploader({ ...s.camera, cameraId: s.home.identity.idHex, spool, maxMessageBytes: 128 * 1024, backoff: { baseMs: 100, capMs: 1000 }, ...(receiptTimeoutMs ? { receiptTimeoutMs } : {}) });
  return { spool, up };
}

/** Wait until `cond` holds, checking every 25 ms; fails after `timeoutMs`. Not a sleep: it ends as soon as the condition does. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Open every stored envelope of the camera in seq order with the owner's view; returns the seqs. */
export async function openStored(s: Setup, view: ReturnType<typeof sealingCamera>['view']): Promise<number[]> {
  const cam = s.home.identity.idHex;
  const seqs: number[] = [];
  for (const seg of s.store.list(s.camera.account, cam)) {
    const env = await s.store.readSegment(s.camera.account, cam, seg.seq);
    seqs.push(view.openSegment(env!).header.seq);
  }
  return seqs;
}

export function uploaderContract(test: TestFn, broker: string, make: MakeSetup, outageSeconds: number): void {
  test(`${broker}: envelopes larger than one message arrive whole, in order, and leave the spool`, async (t) => {
    const s = await make(t, 'basic');
    if (!s) return;
    try {
      const cam = sealingCamera(s);
      const { spool, up } = await uploaderFor(s, 'basic');
      await up.start();
      await up.announce(cam.announcement, 1);
      const sent = [cam.seal(300_000), cam.seal(1_000_000), cam.seal(10), cam.seal(400_000, true)];
      for (const x of sent) await up.segment(x.envelope, { seq: x.seq, kind: 'media', final: false, bytes: x.envelope.length });
      await up.flush(30_000);
      t.is(spool.status.entries, 0);
      await until(() => s.store.list(s.camera.account, s.home.identity.idHex).length === 4, 10_000, 'the store');
      t.deepEqual(await openStored(s, cam.view), [0, 1, 2, 3]);
      t.notThrows(() => cam.view.stream.assertComplete());
      const stored = await s.store.readSegment(s.camera.account, s.home.identity.idHex, 1);
      t.deepEqual(stored, sent[1]!.envelope);
      t.true(up.stats.piecesPublished >= 4 + 7);
      await up.close();
    } finally {
      await s.teardown();
    }
  });

  test(`${broker}: status is online on connect and offline by last will; keys are retained; live chunks reach a viewer`, async (t) => {
    const s = await make(t, 'status');
    if (!s) return;
    try {
      const cam = sealingCamera(s);
      const { up } = await uploaderFor(s, 'status');
      await up.start();
      await up.announce(cam.announcement, 1);
      const url = s.camera.url;
      const viewer = mqtt.connect(url, { protocolVersion: 4, username: s.viewer.username, password: s.viewer.password, reconnectPeriod: 0 });
      const got: { topic: string; payload: Buffer; retain: boolean }[] = [];
      viewer.on('message', (topic, payload, packet) => got.push({ topic, payload, retain: packet.retain }));
      await new Promise<void>((resolve, reject) => {
        viewer.once('connect', () => viewer.subscribe(accountWildcard(s.viewer.account), { qos: 1 }, (e) => (e ? reject(e) : resolve())));
        viewer.once('error', reject);
      });
      const id = s.home.identity.idHex;
      await until(() => got.some((m) => m.topic === cameraTopic(s.viewer.account, id, 'keys')), 5000, 'the retained announcement');
      t.deepEqual(new Uint8Array(got.find((m) => m.topic.endsWith('/keys'))!.payload), cam.announcement);
      await until(() => got.some((m) => m.topic.endsWith('/status') && JSON.parse(m.payload.toString()).state === 'online'), 5000, 'online status');
      up.live(new Uint8Array([1, 2, 3]));
      await until(() => got.some((m) => m.topic.endsWith('/live')), 5000, 'a live chunk');
      // An abrupt loss of the camera (no DISCONNECT): the broker publishes its last will.
      (up as unknown as { client: mqtt.MqttClient }).client.stream.destroy();
      await until(() => got.some((m) => m.topic.endsWith('/status') && JSON.parse(m.payload.toString()).state === 'offline'), 10_000, 'the last will');
      t.pass();
      await up.close();
      await viewer.endAsync();
    } finally {
      await s.teardown();
    }
  });

  test(`${broker}: a ${outageSeconds} s broker outage while streaming loses nothing; every segment arrives once, in order`, async (t) => {
    const s = await make(t, 'outage');
    if (!s) return;
    try {
      const cam = sealingCamera(s);
      const { spool, up } = await uploaderFor(s, 'outage');
      await up.start();
      await up.announce(cam.announcement, 1);
      const total = Math.max(10, outageSeconds + 10);
      let n = 0;
      // One 2 s segment of a 4 Mbit/s camera every 2 s of wall time would be slow; pace one every 200 ms.
      const stream = (async () => {
        for (; n < total; n++) {
          const x = cam.seal(250_000, n === total - 1);
          await up.segment(x.envelope, { seq: x.seq, kind: 'media', final: n === total - 1, bytes: x.envelope.length });
          if (n === 3) {
            await s.stopBroker();
            setTimeout(() => void s.startBroker(), outageSeconds * 1000);
          }
          await new Promise((r) => setTimeout(r, n > 3 && n < total - 2 ? (outageSeconds * 1000) / (total - 6) : 50));
        }
      })();
      await stream;
      await up.flush(outageSeconds * 1000 + 30_000);
      t.is(spool.status.entries, 0);
      t.is(spool.status.evicted, 0);
      t.true(up.stats.connects >= 2, 'it reconnected');
      await until(() => s.store.list(s.camera.account, s.home.identity.idHex).length === total, 15_000, 'every segment in the store').catch((e: Error) => {
        t.log('stored seqs', s.store.list(s.camera.account, s.home.identity.idHex).map((x) => x.seq).join(','), 'uploaded', up.stats.envelopesUploaded);
        throw e;
      });
      t.deepEqual(await openStored(s, cam.view), [...Array(total).keys()]);
      t.notThrows(() => cam.view.stream.assertComplete());
      await up.close();
    } finally {
      await s.teardown();
    }
  });
}
