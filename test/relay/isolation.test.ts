/**
 * ACL isolation on the embedded relay, over many account pairs: no login of one account can
 * publish into, or subscribe to, another account's topics, and zero messages cross accounts.
 */
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { join } from 'node:path';
import { maySubscribe, mayPublish, type Principal } from '../../src/relay/acl.js';
import { embeddedRelay, tempDir } from '../helpers/relay.js';
import { until } from './uploader-contract.js';

const ACCOUNTS = 12;

function connect(url: string, username: string, password: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { protocolVersion: 4, username, password, reconnectPeriod: 0, connectTimeout: 10_000 });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

test(`${ACCOUNTS} accounts: foreign publishes and subscriptions are refused and nothing crosses accounts`, async (t) => {
  const dir = await tempDir('isolation');
  const relay = await embeddedRelay(join(dir, 'relay'));
  try {
    const names = Array.from({ length: ACCOUNTS }, (_, i) => `acct${i}`);
    const logins = [];
    for (const name of names) {
      const viewer = await relay.accounts.addAccount(name);
      const cameraId = (names.indexOf(name) + 16).toString(16).padStart(2, '0').repeat(16);
      const camera = await relay.accounts.addCameraLogin(name, cameraId);
      logins.push({ name, viewer, camera, cameraId });
    }
    // Every viewer listens to its own account, and tries to listen to everyone else's.
    const received = new Map<string, string[]>();
    const viewers: MqttClient[] = [];
    let refusedSubs = 0;
    for (const l of logins) {
      const v = await connect(relay.mqttUrl, l.viewer.username, l.viewer.password);
      viewers.push(v);
      received.set(l.name, []);
      v.on('message', (topic) => received.get(l.name)!.push(topic));
      const other = logins[(logins.indexOf(l) + 1) % logins.length]!;
      const filters = [`sc/v1/${l.name}/#`, `sc/v1/${other.name}/#`, `sc/v1/${other.name}/${other.cameraId}/seg`, 'sc/v1/+/#', '#', `sc/v1/+/${other.cameraId}/seg`];
      // mqtt.js 5.16 hands its callback the requested QoS, not the SUBACK codes: read the SUBACK itself.
      const granted = await new Promise<{ qos: number }[]>((resolve) => {
        const onPacket = (p: { cmd: string; granted?: number[] }) => {
          if (p.cmd !== 'suback') return;
          v.off('packetreceive', onPacket as never);
          resolve((p.granted ?? []).map((qos) => ({ qos })));
        };
        v.on('packetreceive', onPacket as never);
        v.subscribe(filters, { qos: 1 }, () => undefined);
      });
      t.deepEqual(granted.map((g) => g.qos), [1, 128, 128, 128, 128, 128], `${l.name}'s subscriptions`);
      refusedSubs += granted.filter((g) => g.qos === 128).length;
    }
    // Every camera publishes to its own topics (allowed) and to a foreign one (refused: the broker closes it).
    let refusedPubs = 0;
    for (const l of logins) {
      const c = await connect(relay.mqttUrl, l.camera.username, l.camera.password);
      await c.publishAsync(`sc/v1/${l.name}/${l.cameraId}/status`, JSON.stringify({ from: l.name }), { qos: 1 });
      await c.publishAsync(`sc/v1/${l.name}/${l.cameraId}/live`, 'live', { qos: 0 });
      await c.endAsync();
      for (const target of [logins[(logins.indexOf(l) + 1) % logins.length]!, logins[(logins.indexOf(l) + 5) % logins.length]!]) {
        const bad = await connect(relay.mqttUrl, l.camera.username, l.camera.password);
        const closed = new Promise<void>((r) => bad.once('close', () => r()));
        bad.publish(`sc/v1/${target.name}/${target.cameraId}/status`, 'intruder', { qos: 1 });
        bad.publish(`sc/v1/${target.name}/${l.cameraId}/seg`, 'intruder', { qos: 1 });
        await closed;
        bad.end(true);
        refusedPubs++;
      }
      // A viewer may not impersonate cameras, even in its own account.
      const v = await connect(relay.mqttUrl, l.viewer.username, l.viewer.password);
      const vClosed = new Promise<void>((r) => v.once('close', () => r()));
      v.publish(`sc/v1/${l.name}/${l.cameraId}/seg`, 'forged', { qos: 1 });
      await vClosed;
      v.end(true);
    }
    await until(() => [...received.values()].every((topics) => topics.filter((x) => x.endsWith('/status')).length >= 1), 10_000, 'every account to hear its camera');
    let crossed = 0;
    for (const [name, topics] of received) crossed += topics.filter((topic) => !topic.startsWith(`sc/v1/${name}/`)).length;
    t.is(crossed, 0, 'messages delivered across accounts');
    for (const [, topics] of received) t.false(topics.some((x) => x.endsWith('/seg')), 'no forged or foreign segment reached anyone');
    t.is(refusedSubs, ACCOUNTS * 5);
    t.is(refusedPubs, ACCOUNTS * 2);
    t.true(relay.broker!.stats.refusedPublishes >= ACCOUNTS * 3);
    for (const v of viewers) await v.endAsync();
  } finally {
    await relay.close();
  }
});

test('the ACL rules themselves: literal account levels, camera-bound publishing, no wildcards for cameras', (t) => {
  const cam: Principal = { username: 'cam-x', role: 'camera', account: 'a', cameraId: 'ab'.repeat(16) };
  const viewer: Principal = { username: 'a-owner', role: 'viewer', account: 'a' };
  const store: Principal = { username: 'sealcam-store', role: 'store', account: '' };
  const id = 'ab'.repeat(16);
  t.true(mayPublish(cam, `sc/v1/a/${id}/seg`));
  t.false(mayPublish(cam, `sc/v1/a/${'cd'.repeat(16)}/seg`), 'another camera of the same account');
  t.false(mayPublish(cam, `sc/v1/a/${id}/roster`));
  t.false(mayPublish(cam, `sc/v1/b/${id}/seg`));
  t.false(mayPublish(cam, `sc/v1/a/${id}/seg/extra`));
  t.false(mayPublish(cam, '$SYS/broker'));
  t.true(maySubscribe(cam, `sc/v1/a/${id}/roster`));
  t.false(maySubscribe(cam, `sc/v1/a/${id}/#`));
  t.false(maySubscribe(cam, `sc/v1/a/+/roster`));
  t.true(maySubscribe(viewer, 'sc/v1/a/#'));
  t.true(maySubscribe(viewer, `sc/v1/a/+/seg`));
  t.false(maySubscribe(viewer, 'sc/v1/+/#'));
  t.false(maySubscribe(viewer, 'sc/#'));
  t.false(maySubscribe(viewer, 'sc/v1/a/#/seg'));
  t.false(mayPublish(viewer, `sc/v1/a/${id}/seg`));
  t.true(mayPublish(viewer, `sc/v1/a/${id}/roster`));
  t.true(maySubscribe(viewer, 'sc/v1/fw/rpi-5/announce'));
  t.false(mayPublish(viewer, 'sc/v1/fw/rpi-5/announce'));
  t.true(maySubscribe(store, '$share/g/sc/v1/+/+/seg'));
  t.false(maySubscribe(store, 'sc/v1/#'));
  t.false(mayPublish(store, `sc/v1/a/${id}/seg`));
  // Storage receipts (§10.5): only the store says what is stored, and a camera hears only its own.
  t.true(mayPublish(store, `sc/v1/a/${id}/stored`));
  t.false(mayPublish(store, `sc/v1/a/${id}/roster`));
  t.false(mayPublish(viewer, `sc/v1/a/${id}/stored`), 'a household viewer cannot forge a receipt');
  t.false(mayPublish(cam, `sc/v1/a/${'cd'.repeat(16)}/stored`), 'nor can another camera');
  t.false(mayPublish(cam, `sc/v1/a/${id}/stored`), 'nor the camera itself');
  t.true(maySubscribe(cam, `sc/v1/a/${id}/stored`));
  t.false(maySubscribe(cam, `sc/v1/a/${'cd'.repeat(16)}/stored`));
});
