/**
 * The relay on a real Mosquitto. With a static passwd + acl_file, and with the dynamic-security
 * plugin, the broker refuses what acl.ts refuses. With dynamic security, logins the relay makes while the
 * broker runs (accounts, a camera's login at provisioning, a re-paired camera's new login, one made
 * by `sealcam relay account add` in another process) are accepted at once, and the broker enforces
 * the topic rules of acl.ts for them. The misroute fault on an external broker is a republish by the
 * relay; the demo test (test/cli/demo.test.ts) runs the whole story through it.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { splitForTransport, toHex } from '../../src/protocol/index.js';
import { connectMqtt } from '../../src/media/mqtt.js';
import { startRelay, type Relay } from '../../src/relay/relay.js';
import { findDynsecPlugin } from '../../src/relay/dynsec.js';
import { AccountStore } from '../../src/relay/accounts.js';
import { relayTls } from '../../src/relay/tls.js';
import { household, T0, bytesOf } from '../helpers/fixtures.js';
import { freePort, provisionLogin, redeemCamera, startMosquitto, tempDir } from '../helpers/relay.js';
import { findTool, requireTool } from '../helpers/tools.js';
import { until } from './uploader-contract.js';

const mosquittoBin = findTool('mosquitto');
const BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;

/** The QoS the broker grants for `filter` (128: refused). mqtt.js rejects a refused SUBACK. */
async function granted(client: MqttClient, filter: string): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]!.qos;
  } catch (e) {
    const g = (e as { packet?: { granted?: number[] } }).packet?.granted?.[0];
    if (g === undefined) throw e;
    return g;
  }
}

/** `sealcam relay --broker` as its own process: up, `during(httpUrl)`, then SIGTERM. */
async function runCliRelay(dataDir: string, brokerUrl: string, during: (httpUrl: string) => Promise<void>): Promise<void> {
  const httpPort = await freePort();
  const child = spawn(process.execPath, [BIN, 'relay', '--data', dataDir, '--plaintext', '--broker', brokerUrl, '--http-port', String(httpPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()).includes('relay up') && resolve());
      child.once('exit', (code) => reject(new Error(`sealcam relay exited with ${code}`)));
    });
    await during(`http://127.0.0.1:${httpPort}`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** Everything `client` receives, by topic. */
function inbox(client: MqttClient): { topic: string; payload: Buffer }[] {
  const got: { topic: string; payload: Buffer }[] = [];
  client.on('message', (topic, payload) => got.push({ topic, payload }));
  return got;
}

type Login = { username: string; password: string };

/** MQTT sessions opened during a test; `end()` ends them all. */
function sessions(url: string, fingerprint?: string): { connect: (l: Login) => Promise<MqttClient>; end: () => Promise<unknown> } {
  const clients: MqttClient[] = [];
  return {
    connect: async (login) => {
      const c = await connectMqtt(url, { ...login, ...(fingerprint ? { fingerprint } : {}) });
      clients.push(c);
      return c;
    },
    end: () => Promise.all(clients.map((c) => c.endAsync())),
  };
}

/**
 * What acl.ts refuses, Mosquitto refuses: a stranger subscribed to another account's topics, to
 * everything, to the store's filters or to the broker's control topics receives nothing (with
 * dynamic security the SUBSCRIBE itself is refused; under an acl_file Mosquitto 2.0.11 grants it
 * and drops every message on delivery); a camera's publishes outside its own topics, and a viewer's
 * on camera channels, are dropped (MQTT 3.1.1 has no refusal for a publish). The camera's own
 * segment reaches the owner and the store.
 */
async function isolation(t: ExecutionContext, o: { relay: Relay; connect: (l: Login) => Promise<MqttClient>; home: Login; stranger: Login; camera: Login; h: ReturnType<typeof household>; refusesAtSubscribe: boolean }): Promise<void> {
  const { relay, connect, home, stranger, camera: first, h } = o;
  const cam = toHex(h.camera.id);
  const owner = await connect(home);
  const ownerInbox = inbox(owner);
  t.not(await granted(owner, `sc/v1/home/#`), 128);
  const nosy = await connect(stranger);
  const nosyInbox = inbox(nosy);
  for (const filter of ['sc/v1/home/#', 'sc/v1/home/+', 'sc/v1/home/+/live', `sc/v1/home/${cam}/#`, `sc/v1/home/${cam}/+`, `sc/v1/home/${cam}/live`, 'sc/v1/#', 'sc/v1/+/#', '#', 'sc/v1/+/+/seg', '$CONTROL/dynamic-security/#']) {
    const qos = await granted(nosy, filter);
    if (o.refusesAtSubscribe) t.is(qos, 128, `stranger subscribing to ${filter}`);
  }
  t.not(await granted(nosy, 'sc/v1/stranger/#'), 128);

  // The camera's new login publishes its sealed segment; the owner gets it, the store files it.
  const camera = await connect(first);
  const envelope = h.sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: bytesOf('init') });
  await camera.publishAsync(`sc/v1/home/${cam}/keys`, Buffer.from(h.announcement), { qos: 1 });
  for (const piece of splitForTransport(envelope, 64)) await camera.publishAsync(`sc/v1/home/${cam}/seg`, Buffer.from(piece), { qos: 1 });
  // Outside its own topics the broker drops its messages (MQTT 3.1.1 has no refusal for a publish).
  await camera.publishAsync(`sc/v1/stranger/${cam}/live`, Buffer.from('misdirected'), { qos: 1 });
  await camera.publishAsync(`sc/v1/home/${'0'.repeat(32)}/live`, Buffer.from('impersonating'), { qos: 1 });
  await owner.publishAsync(`sc/v1/home/${cam}/live`, Buffer.from('forged by a viewer'), { qos: 1 });
  await camera.publishAsync(`sc/v1/home/${cam}/live`, Buffer.from('last'), { qos: 1 });
  await until(() => relay.store.list('home', cam).length === 1 && ownerInbox.some((m) => m.payload.toString() === 'last'), 10_000, 'the segment to be filed');
  t.deepEqual(await relay.store.readSegment('home', cam, 0), envelope);
  t.false(ownerInbox.some((m) => ['impersonating', 'forged by a viewer'].includes(m.payload.toString())));
  t.is(nosyInbox.length, 0, 'the stranger received nothing');
}

test('dynamic-security Mosquitto: logins made while it runs work at once, and it refuses what acl.ts refuses', async (t) => {
  if (!requireTool(t, 'mosquitto with mosquitto_dynamic_security.so (Debian mosquitto)', mosquittoBin !== null && (await findDynsecPlugin()) !== null)) return;
  const dir = await tempDir('dynsec');
  const dataDir = join(dir, 'relay');
  const mosquitto = await startMosquitto(dataDir, mosquittoBin!, { dynamicSecurity: true });
  let relay = await startRelay({ dataDir, httpPort: 0, broker: mosquitto.url });
  const { connect, end } = sessions(mosquitto.url);
  try {
    t.truthy(relay.admin, 'the relay found its admin login in the data directory');
    // Accounts and a camera, all after the broker started.
    const home = await relay.accounts.addAccount('home');
    const stranger = await relay.accounts.addAccount('stranger');
    const h = household('dynsec');
    const cam = toHex(h.camera.id);
    const first = await provisionLogin(relay, home, h.camera);

    await isolation(t, { relay, connect, home, stranger, camera: first, h, refusesAtSubscribe: true });

    // Re-paired after a reset: the camera's new login replaces the old one in the broker.
    const second = await provisionLogin(relay, home, h.camera);
    t.not(second.password, first.password);
    await t.throwsAsync(connectMqtt(mosquitto.url, first), { message: /E_AUTH: .*Not authorized/ });
    await connect(second);

    // A login made by another process (`relay account add`) reaches the broker too.
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'relay', 'account', 'add', 'garage', '--data', dataDir, '--json'], { encoding: 'utf8' });
    const garage = JSON.parse(stdout) as { username: string; password: string };
    const g = await connect(garage);
    t.not(await granted(g, 'sc/v1/garage/#'), 128);
    t.is(await granted(g, 'sc/v1/home/#'), 128);
    // Unknown logins, and known ones with a wrong password, are refused.
    await t.throwsAsync(connectMqtt(mosquitto.url, { username: 'home-owner', password: 'guess' }), { message: /Not authorized/ });
    await t.throwsAsync(connectMqtt(mosquitto.url, { username: 'nobody', password: 'guess' }), { message: /Not authorized/ });

    // The relay restarts as another process: what the camera sent meanwhile waited in the store
    // worker's session, which the new process takes over (its client id is kept with its login).
    await relay.close();
    await runCliRelay(dataDir, mosquitto.url, async () => undefined);
    const media = h.sealer.seal({ kind: 'media', captureTime: T0 + 40, durationMs: 2000, payload: bytesOf('while the relay was down') });
    const cam2 = await connect(second);
    for (const piece of splitForTransport(media, 64)) await cam2.publishAsync(`sc/v1/home/${cam}/seg`, Buffer.from(piece), { qos: 1 });
    await runCliRelay(dataDir, mosquitto.url, async (httpUrl) => {
      const auth = { authorization: `Basic ${Buffer.from(`${home.username}:${home.password}`).toString('base64')}` };
      const listed = async () => ((await (await fetch(`${httpUrl}/v1/accounts/home/cameras/${cam}/segments`, { headers: auth })).json()) as { items: unknown[] }).items.length;
      let n = 0;
      for (const until = Date.now() + 10_000; (n = await listed()) < 2 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
      t.is(n, 2, 'the segment sent while the relay was down was filed by the next relay process');
    });
    relay = await startRelay({ dataDir, httpPort: 0, broker: mosquitto.url });
    t.deepEqual(await relay.store.readSegment('home', cam, 1), media);
  } finally {
    await end();
    await relay.close();
    await mosquitto.stop();
  }
});

test('static passwd + acl_file Mosquitto: nothing crosses accounts, for logins made before it started', async (t) => {
  if (!requireTool(t, 'mosquitto (Debian mosquitto)', mosquittoBin !== null)) return;
  const dataDir = join(await tempDir('mosquitto-acl'), 'relay');
  // Logins first: Mosquitto reads its password file at start. The relay's HTTP API on the embedded
  // default is not needed for that; the account store is.
  const accounts = await AccountStore.open(dataDir);
  const home = await accounts.addAccount('home');
  const stranger = await accounts.addAccount('stranger');
  const h = household('mosquitto-acl');
  const camera = await redeemCamera(accounts, 'home', h.camera);
  const mosquitto = await startMosquitto(dataDir, mosquittoBin!);
  const relay = await startRelay({ dataDir, httpPort: 0, broker: mosquitto.url });
  const { connect, end } = sessions(mosquitto.url);
  try {
    t.is(relay.admin, null);
    // Mosquitto 2.0.11 grants every SUBSCRIBE under an acl_file and checks each message on delivery.
    await isolation(t, { relay, connect, home, stranger, camera, h, refusesAtSubscribe: false });
  } finally {
    await end();
    await relay.close();
    await mosquitto.stop();
  }
});

test('Mosquitto with the TLS listener relay mosquitto-config writes: the relay and every login pin the relay key, and nothing crosses accounts', async (t) => {
  if (!requireTool(t, 'mosquitto (Debian mosquitto)', mosquittoBin !== null)) return;
  const dataDir = join(await tempDir('mosquitto-tls'), 'relay');
  const accounts = await AccountStore.open(dataDir);
  const home = await accounts.addAccount('home');
  const stranger = await accounts.addAccount('stranger');
  const h = household('mosquitto-tls');
  const camera = await redeemCamera(accounts, 'home', h.camera);
  const tls = await relayTls({ dataDir, hosts: ['127.0.0.1'] });
  const mosquitto = await startMosquitto(dataDir, mosquittoBin!, { tls });
  t.true(mosquitto.url.startsWith('mqtts://'), mosquitto.url);
  // The relay's store worker pins its own key on the broker (the default for an mqtts:// broker).
  const relay = await startRelay({ dataDir, httpPort: 0, broker: mosquitto.url, tls });
  const { connect, end } = sessions(mosquitto.url, tls.fingerprint);
  try {
    t.true(relay.httpUrl.startsWith('https://'));
    await isolation(t, { relay, connect, home, stranger, camera, h, refusesAtSubscribe: false });
    // A login that pins another key gets nothing from this broker.
    const other = (await relayTls({ dataDir: join(dataDir, '..', 'other'), hosts: [] })).fingerprint;
    const e = await connectMqtt(mosquitto.url, { ...home, fingerprint: other }).catch((err: unknown) => err as Error);
    t.regex(String(e), /E_RELAY_PIN/);
  } finally {
    await end();
    await relay.close();
    await mosquitto.stop();
  }
});

test('relay --broker names the fix when the broker does not know its logins', async (t) => {
  if (!requireTool(t, 'mosquitto (Debian mosquitto)', mosquittoBin !== null)) return;
  const dir = await tempDir('dynsec-unknown');
  // A broker configured from one data directory; a relay with another one (and no admin login).
  const mosquitto = await startMosquitto(join(dir, 'a'), mosquittoBin!);
  try {
    const e = await t.throwsAsync(startRelay({ dataDir: join(dir, 'b'), httpPort: 0, broker: mosquitto.url }));
    t.regex(e!.message, /^E_BROKER: .* refused the relay's store login .*broker-admin/);
  } finally {
    await mosquitto.stop();
  }
});
