/**
 * ACL isolation on a real 3-node NATS cluster (issue 15), over 12 accounts as on the embedded
 * relay (isolation.test.ts) and Mosquitto: the permissions `relay nats-config` derives from acl.ts
 * refuse every subscription to another account (SUBACK 0x80), drop every publish outside a login's
 * own topics (nats-server acknowledges it and delivers it nowhere; the connection stays), and zero messages cross accounts, with each account's viewer and camera on different
 * nodes so every delivery crosses a cluster route. MQTT logins cannot speak the NATS protocol.
 */
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { connect as natsConnect } from '@nats-io/transport-node';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AccountStore } from '../../src/relay/accounts.js';
import { mirrorNatsLogins } from '../../src/relay/nats-logins.js';
import { tempDir } from '../helpers/relay.js';
import { requireTool } from '../helpers/tools.js';
import { NATS_SERVER, startNatsCluster, type TestNatsCluster } from '../helpers/nats.js';
import { until } from './uploader-contract.js';

const ACCOUNTS = 12;

type Login = { username: string; password: string };

function connect(url: string, l: Login): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { protocolVersion: 4, username: l.username, password: l.password, reconnectPeriod: 0, connectTimeout: 10_000 });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error(`${url} closed the connection of ${l.username}`)));
  });
}

/**
 * The first MQTT login after the nodes start: their MQTT layer closes connections until its
 * JetStream streams (replicas 3) have a leader, about 4-6 s after the ports open here.
 */
async function connectWhenReady(url: string, l: Login, timeoutMs = 30_000): Promise<MqttClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connect(url, l);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The SUBACK codes for `filters` (128: refused); mqtt.js 5.16's callback reports the requested QoS, so read the packet. */
function subscribeCodes(c: MqttClient, filters: string[], qos: 0 | 1): Promise<number[]> {
  return new Promise((resolve) => {
    const onPacket = (p: { cmd: string; granted?: number[] }) => {
      if (p.cmd !== 'suback') return;
      c.off('packetreceive', onPacket as never);
      resolve(p.granted ?? []);
    };
    c.on('packetreceive', onPacket as never);
    c.subscribe(filters, { qos }, () => undefined);
  });
}

test.serial(`nats cluster, ${ACCOUNTS} accounts: foreign subscriptions refused, foreign publishes dropped, nothing crosses accounts`, async (t) => {
  if (!requireTool(t, 'nats-server', NATS_SERVER !== null)) return;
  t.timeout(120_000);
  const root = await tempDir('nats-isolation');
  const dataDir = join(root, 'data');
  const accounts = await AccountStore.open(dataDir, { maxCamerasPerAccount: 4 });
  mirrorNatsLogins(accounts, dataDir);
  const names = Array.from({ length: ACCOUNTS }, (_, i) => `acct${i}`);
  const logins: { name: string; viewer: Login; camera: Login; cameraId: string }[] = [];
  for (const [i, name] of names.entries()) {
    const viewer = await accounts.addAccount(name);
    const cameraId = (i + 16).toString(16).padStart(2, '0').repeat(16);
    logins.push({ name, viewer, camera: await accounts.addCameraLogin(name, cameraId), cameraId });
  }
  let cluster: TestNatsCluster | null = null;
  const clients: MqttClient[] = [];
  const open = async (url: string, l: Login) => {
    const c = await connect(url, l);
    clients.push(c);
    return c;
  };
  try {
    const t0 = Date.now();
    cluster = await startNatsCluster(accounts, dataDir, join(root, 'nats'));
    const { mqttUrls, natsUrls } = cluster.config;
    const node = (i: number) => mqttUrls[i % mqttUrls.length]!;
    for (const url of mqttUrls) (await connectWhenReady(url, logins[0]!.viewer)).end(true);

    // Every viewer (on node i) listens to its own account, and tries to listen to everyone else's.
    const received = new Map<string, { topic: string; payload: string }[]>();
    const refused: string[] = [];
    const viewers: MqttClient[] = [];
    t.log(`cluster ready after ${Date.now() - t0} ms`);
    const t1 = Date.now();
    for (const [i, l] of logins.entries()) {
      const v = await open(node(i), l.viewer);
      viewers.push(v);
      received.set(l.name, []);
      v.on('message', (topic, payload) => received.get(l.name)!.push({ topic, payload: payload.toString() }));
      const other = logins[(i + 1) % ACCOUNTS]!;
      const filters = [`sc/v1/${l.name}/#`, `sc/v1/${other.name}/#`, `sc/v1/${other.name}/${other.cameraId}/seg`, 'sc/v1/+/#', '#', `sc/v1/+/${other.cameraId}/seg`, '$MQTT/sub/#'];
      // Half the viewers at QoS 1 (delivered through a JetStream consumer per subscription), half at QoS 0.
      const qos = i % 2 === 0 ? 1 : 0;
      const codes = await subscribeCodes(v, filters, qos);
      t.deepEqual(codes, [qos, 128, 128, 128, 128, 128, 128], `${l.name}'s SUBACK for ${filters.join(' ')}`);
      refused.push(...filters.filter((_, k) => codes[k] === 128));
    }

    // Every camera (on node i+1) publishes on its own topics, then into two other accounts and as
    // another camera; its account's viewer (on node i) publishes a forged segment.
    // A "done" marker after them on the same connection shows the broker has handled what came before.
    const attempts = { foreign: 0, forged: 0 };
    for (const [i, l] of logins.entries()) {
      const c = await open(node(i + 1), l.camera);
      await c.publishAsync(`sc/v1/${l.name}/${l.cameraId}/status`, `status of ${l.name}`, { qos: 1 });
      await c.publishAsync(`sc/v1/${l.name}/${l.cameraId}/live`, 'live', { qos: 0 });
      for (const target of [logins[(i + 1) % ACCOUNTS]!, logins[(i + 5) % ACCOUNTS]!]) {
        c.publish(`sc/v1/${target.name}/${target.cameraId}/status`, `intruder from ${l.name}`, { qos: 1 });
        c.publish(`sc/v1/${target.name}/${l.cameraId}/seg`, `intruder from ${l.name}`, { qos: 1 });
        c.publish(`sc/v1/${l.name}/${target.cameraId}/live`, `impersonating from ${l.name}`, { qos: 0 });
        attempts.foreign += 3;
      }
      viewers[i]!.publish(`sc/v1/${l.name}/${l.cameraId}/seg`, `forged by ${l.name}'s viewer`, { qos: 1 });
      attempts.forged++;
      await c.publishAsync(`sc/v1/${l.name}/${l.cameraId}/status`, `done ${l.name}`, { qos: 1 });
    }
    t.log(`subscribed and published in ${Date.now() - t1} ms`);
    await until(() => logins.every((l) => received.get(l.name)!.some((m) => m.payload === `done ${l.name}`)), 15_000, "every account to hear its camera's marker");

    let crossed = 0;
    for (const [name, msgs] of received) crossed += msgs.filter((m) => !m.topic.startsWith(`sc/v1/${name}/`)).length;
    const all = [...received.values()].flat();
    t.is(crossed, 0, `messages delivered across accounts: ${JSON.stringify(all.filter((m) => !m.topic.startsWith('sc/v1/acct')))}`);
    const dropped = all.filter((m) => /intruder|impersonating|forged/.test(m.payload));
    t.deepEqual(dropped, [], `${attempts.foreign} foreign and ${attempts.forged} forged publishes: none delivered`);
    t.is(refused.length, ACCOUNTS * 6);
    for (const l of logins) t.deepEqual(received.get(l.name)!.map((m) => m.payload).filter((p) => p !== 'live'), [`status of ${l.name}`, `done ${l.name}`], `${l.name} heard its own camera only`);

    // An MQTT login is refused on the NATS client port (allowed_connection_types), where it could
    // otherwise subscribe outside the MQTT layer.
    const l = logins[0]!;
    const err = await natsConnect({ servers: natsUrls, user: l.viewer.username, pass: l.viewer.password, reconnect: false }).then(
      async (nc) => {
        await nc.close();
        return null;
      },
      (e: Error) => e.message,
    );
    t.truthy(err, 'a viewer login connecting as a NATS client');
  } finally {
    for (const c of clients) c.end(true);
    await cluster?.stop();
    await rm(root, { recursive: true, force: true });
  }
});
