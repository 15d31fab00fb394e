/**
 * Hostile tenants against the embedded relay (issue 12, rows 3, 4, 5 and 7; PROTOCOL.md §11.3).
 * Each test is named after the attack and asserts on the relay's accounting (bytes it read, what
 * it refused, who stayed connected), never on speed. Big attack sizes live in bench/abuse.ts.
 */
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { join } from 'node:path';
import type { Relay } from '../../src/relay/relay.js';
import { Ingest } from '../../src/relay/ingest.js';
import type { OpaqueStore } from '../../src/relay/store.js';
import { splitForTransport } from '../../src/protocol/transport-chunk.js';
import { toHex } from '../../src/protocol/bytes.js';
import { embeddedRelay, redeemCamera, tempDir } from '../helpers/relay.js';
import { household } from '../helpers/fixtures.js';
import { until } from './uploader-contract.js';
import { connectPacket, publishHeader, rawLogin, remainingLength, subscribePacket, writeUntilClosed } from './raw-mqtt.js';

const MiB = 1024 * 1024;
const h = household('abuse');
const CAMERA = toHex(h.camera.id);

async function setup(label: string): Promise<{ relay: Relay; logs: string[]; owner: { username: string; password: string; account: string }; camera: { username: string; password: string }; stranger: { username: string; password: string } }> {
  const logs: string[] = [];
  const relay = await embeddedRelay(join(await tempDir(label), 'relay'), { log: (m) => logs.push(m) });
  const owner = await relay.accounts.addAccount('home');
  const camera = await redeemCamera(relay.accounts, 'home', h.camera);
  const stranger = await relay.accounts.addAccount('stranger');
  return { relay, logs, owner, camera, stranger };
}

function connectClient(url: string, o: mqtt.IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000, ...o });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => {
      c.end(true);
      reject(e);
    });
  });
}

const port = (r: Relay) => r.broker!.port;
/** The limits PROTOCOL.md §11.3 states (read from the relay; the figures stand in for a relay without them). */
const limitsOf = (r: Relay) => r.broker!.limits ?? { preAuthBytes: 16 * 1024, maxQueuedBytes: 8 * MiB, retainedBytesPerAccount: 4 * MiB };
const guardOf = (r: Relay) => r.broker!.loginGuard ?? { stats: { failed: 0, succeeded: 0 }, limits: { perSource: { burst: 10 }, perUsername: { burst: 5 } } };
/** The relay's own count of bytes it read from a connection it cut (conn-guard's log line). */
const readBeforeCut = (logs: string[]) => logs.filter((l) => l.startsWith('E_TOO_LARGE')).map((l) => Number(/after (\d+) bytes/.exec(l)?.[1]));

test('an oversized PUBLISH from an authenticated client is cut at its header, before its body is read', async (t) => {
  const { relay, logs, camera } = await setup('abuse-publish');
  try {
    const c = await rawLogin(port(relay), { clientId: `${camera.username}:1`, username: camera.username, password: camera.password });
    t.is(c.connack, 0);
    const attack = 32 * MiB;
    const { written, closed } = await writeUntilClosed(c.socket, publishHeader(`sc/v1/home/${CAMERA}/seg`, attack), attack);
    const read = readBeforeCut(logs);
    t.log(`attack ${attack} bytes: the client pushed ${written}, the relay read ${read[0]} before cutting`);
    t.true(closed, 'the relay closed the connection');
    t.is(read.length, 1, `one connection cut for size; logs: ${logs.join(' | ')}`);
    t.true(read[0]! <= 1 * MiB, `the relay read ${read[0]} bytes of a ${attack}-byte PUBLISH before cutting it`);
    t.true(written < attack / 2, `the client could push ${written} of ${attack} bytes before the relay closed`);
    t.is(relay.broker!.stats.tooLarge, 1);
  } finally {
    await relay.close();
  }
});

test('a 200 MB CONNECT before login is cut after at most the pre-login byte limit', async (t) => {
  const { relay, logs } = await setup('abuse-connect');
  try {
    const socket = (await import('node:net')).connect({ port: port(relay), host: '127.0.0.1' });
    await new Promise((r) => socket.once('connect', r));
    const announced = 200 * 1000 * 1000;
    const attack = 32 * MiB;
    const { written, closed } = await writeUntilClosed(socket, Buffer.concat([Buffer.from([0x10]), remainingLength(announced)]), attack);
    const read = readBeforeCut(logs);
    t.log(`CONNECT announcing ${announced} bytes: the client pushed ${written} of ${attack}, the relay read ${read[0]} before cutting`);
    t.true(closed, 'the relay closed the connection');
    const limit = limitsOf(relay).preAuthBytes;
    t.is(read.length, 1, `one connection cut for size; logs: ${logs.join(' | ')}`);
    // It reads what one socket read returns (libuv reads ≤ 64 KiB at a time), sees the limit crossed, and cuts.
    t.true(read[0]! <= limit + 64 * 1024, `the relay read ${read[0]} bytes before login (limit ${limit} + one 64 KiB socket read)`);
    t.true(written < attack / 2, `the client could push ${written} of ${attack} bytes before the relay closed`);
  } finally {
    await relay.close();
  }
});

test('a stranger connecting with a camera\'s client id is refused, and the camera stays online with no will published', async (t) => {
  const { relay, owner, camera, stranger } = await setup('abuse-clientid');
  try {
    const watcher = await connectClient(relay.mqttUrl, { username: owner.username, password: owner.password });
    const statuses: string[] = [];
    watcher.on('message', (_topic, payload) => statuses.push(payload.toString()));
    await watcher.subscribeAsync(`sc/v1/home/${CAMERA}/status`, { qos: 1 });
    const status = `sc/v1/home/${CAMERA}/status`;
    const cameraId = `${camera.username}:4242`;
    const cam = await connectClient(relay.mqttUrl, { username: camera.username, password: camera.password, clientId: cameraId, will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true } });
    let camClosed = false;
    cam.on('close', () => (camClosed = true));
    // mqtt.js' own random ids are allowed, but held by the login that uses them first.
    const ownerRandom = await connectClient(relay.mqttUrl, { username: owner.username, password: owner.password });
    for (const clientId of [cameraId, camera.username, ownerRandom.options.clientId!]) {
      const e = await t.throwsAsync(connectClient(relay.mqttUrl, { username: stranger.username, password: stranger.password, clientId }));
      t.is((e as Error & { code?: number }).code, 2, `CONNACK "identifier rejected" for ${clientId}: ${e?.message}`);
    }
    // A round trip on the camera's connection: it is still the one connected.
    await cam.publishAsync(`sc/v1/home/${CAMERA}/live`, Buffer.from('ping'), { qos: 1 });
    t.false(camClosed, 'the camera was not kicked off');
    t.true(cam.connected);
    t.deepEqual(statuses, [], 'no will was published');
    t.is(relay.broker!.stats.refusedClientIds, 3);
    // The camera's own login may take its id over (a restarted camera).
    const again = await connectClient(relay.mqttUrl, { username: camera.username, password: camera.password, clientId: cameraId });
    await until(() => camClosed, 10_000, 'the older session of the same login to be replaced');
    await again.endAsync();
    for (const c of [watcher, cam, ownerRandom]) c.end(true);
  } finally {
    await relay.close();
  }
});

test('retained messages on random roster and pairing topics stop at the account\'s retained limit', async (t) => {
  const { relay, logs, owner, camera } = await setup('abuse-retained');
  try {
    const { retainedBytesPerAccount } = limitsOf(relay);
    const v = await connectClient(relay.mqttUrl, { username: owner.username, password: owner.password });
    let closed = false;
    v.on('close', () => (closed = true));
    const size = 200 * 1024;
    let acked = 0;
    for (let i = 0; i < 40 && !closed; i++) {
      const topic = i % 2 ? `sc/v1/home/junk${i}/roster` : `sc/v1/pair/${i.toString(16).padStart(32, '0')}`;
      const ok = await Promise.race([v.publishAsync(topic, Buffer.alloc(size, i), { qos: 1, retain: true }).then(() => true), until(() => closed, 30_000, 'close').then(() => false)]).catch(() => false);
      if (ok) acked++;
    }
    const expected = Math.floor(retainedBytesPerAccount / size);
    t.is(acked, expected, `retained publishes accepted: ${acked}, limit ${retainedBytesPerAccount} bytes / ${size} = ${expected}`);
    t.true(closed, 'the publish over the limit closed the connection');
    t.is(relay.broker!.stats.refusedRetained, 1);
    t.true(logs.some((l) => l.startsWith('E_RETAINED_LIMIT')), logs.join(' | '));
    // Clearing retained messages frees the account's room; another account is never charged.
    const v2 = await connectClient(relay.mqttUrl, { username: owner.username, password: owner.password });
    await v2.publishAsync('sc/v1/home/junk1/roster', Buffer.alloc(0), { qos: 1, retain: true });
    await v2.publishAsync(`sc/v1/home/${CAMERA}/roster`, Buffer.alloc(size), { qos: 1, retain: true });
    const cam = await connectClient(relay.mqttUrl, { username: camera.username, password: camera.password, clientId: `${camera.username}:1` });
    await cam.publishAsync(`sc/v1/home/${CAMERA}/status`, Buffer.from('{"state":"online"}'), { qos: 1, retain: true });
    for (const c of [v, v2, cam]) c.end(true);
  } finally {
    await relay.close();
  }
});

test('a QoS 1 subscriber that stops reading is disconnected past the queue bound, and the camera keeps publishing', async (t) => {
  const { relay, logs, owner, camera } = await setup('abuse-slow');
  try {
    const { maxQueuedBytes } = limitsOf(relay);
    const slow = await rawLogin(port(relay), { clientId: 'slow-reader', username: owner.username, password: owner.password });
    t.is(slow.connack, 0);
    slow.socket.write(subscribePacket(`sc/v1/home/${CAMERA}/seg`, 1));
    await until(() => relay.broker!.aedes.connectedClients === 1 && Object.keys((relay.broker!.aedes as unknown as { clients: Record<string, { subscriptions: object }> }).clients['slow-reader']?.subscriptions ?? {}).length === 1, 10_000, 'the subscription');
    // The subscriber never reads again (its socket stays paused).
    let slowClosed = false;
    slow.socket.once('close', () => (slowClosed = true));
    const cam = await connectClient(relay.mqttUrl, { username: camera.username, password: camera.password, clientId: `${camera.username}:1` });
    const piece = Buffer.alloc(200 * 1024, 7); // not SCC1: the store counts and drops it, the subscriber still gets it
    let sent = 0;
    const budget = 64 * MiB;
    while (!relay.broker!.stats.slowConsumers && sent < budget) {
      await cam.publishAsync(`sc/v1/home/${CAMERA}/seg`, piece, { qos: 1 });
      sent += piece.length;
    }
    t.log(`published ${sent} bytes before the slow subscriber was cut`);
    t.is(relay.broker!.stats.slowConsumers, 1, `slow consumers cut after ${sent} bytes published (bound ${maxQueuedBytes}); logs: ${logs.filter((l) => l.startsWith('E_')).join(' | ')}`);
    slow.socket.resume();
    await until(() => slowClosed, 10_000, 'the slow subscriber to be closed');
    // The camera is unaffected: it still publishes and is acknowledged.
    await cam.publishAsync(`sc/v1/home/${CAMERA}/seg`, piece, { qos: 1 });
    t.true(cam.connected);
    cam.end(true);
  } finally {
    await relay.close();
  }
});

test('40 concurrent bad-password CONNECTs from one source are refused before hashing, and the camera still logs in', async (t) => {
  const { relay, camera } = await setup('abuse-login');
  try {
    // The camera has logged in before from its address (127.0.0.1): it is trusted for its username.
    const first = await rawLogin(port(relay), { clientId: camera.username, username: camera.username, password: camera.password });
    t.is(first.connack, 0);
    first.socket.destroy();
    const guard = guardOf(relay);
    const hashedBefore = guard.stats.failed + guard.stats.succeeded;
    // The flood comes from 127.0.0.2 and aims at the camera's own username.
    const flood = Array.from({ length: 40 }, (_, i) => rawLogin(port(relay), { clientId: `flood${i}`, username: camera.username, password: `guess${i}` }, '127.0.0.2'));
    const during = rawLogin(port(relay), { clientId: `${camera.username}:2`, username: camera.username, password: camera.password });
    const codes = await Promise.all(flood.map((p) => p.then((c) => (c.socket.destroy(), c.connack), (e: Error) => e.message)));
    const legit = await during;
    legit.socket.destroy();
    t.is(legit.connack, 0, 'the camera logged in during the flood');
    const fast = codes.filter((c) => c === 3).length;
    const wrong = codes.filter((c) => c === 4).length;
    t.log(`flood of 40: ${wrong} hashed and refused (CONNACK 4), ${fast} refused before hashing (CONNACK 3)`);
    const { perSource, perUsername } = guard.limits;
    t.is(fast + wrong, 40, `every flood attempt was answered: ${JSON.stringify(codes)}`);
    t.true(wrong <= Math.min(perSource.burst, perUsername.burst), `${wrong} flood attempts were hashed (bad password), ${fast} refused before hashing; bursts ${perSource.burst}/${perUsername.burst}`);
    t.is(guard.stats.failed + guard.stats.succeeded - hashedBefore, wrong + 1, 'hashes run: the flood\'s admitted attempts and the camera');
    t.is(relay.broker!.stats.throttledLogins, fast);
  } finally {
    await relay.close();
  }
});

test('a CONNECT within the limits still works for the raw client (control)', async (t) => {
  const { relay, owner } = await setup('abuse-control');
  try {
    t.true(connectPacket({ clientId: 'x', username: owner.username, password: owner.password }).length < limitsOf(relay).preAuthBytes);
    const c = await rawLogin(port(relay), { clientId: 'x', username: owner.username, password: owner.password });
    t.is(c.connack, 0);
    c.socket.destroy();
  } finally {
    await relay.close();
  }
});

test('unfinished reassemblies are dropped once their camera completes nothing for the stall timeout', async (t) => {
  let now = 0;
  const logs: string[] = [];
  const stallMs = 60_000;
  // Nothing completes here, so the store is never reached.
  const ingest = new Ingest({} as OpaqueStore, (m) => logs.push(m), { stallMs }, () => now);
  const size = 8 * MiB;
  const [a] = splitForTransport(new Uint8Array(size).fill(1));
  const b = splitForTransport(new Uint8Array(size).fill(2));
  await ingest.take('home', 'a'.repeat(32), 'seg', a!);
  t.is(ingest.reassemblyBytes, size, 'the first piece of an 8 MiB envelope holds 8 MiB');
  now += stallMs - 1000;
  await ingest.take('home', 'b'.repeat(32), 'seg', b[0]!);
  t.is(ingest.reassemblyBytes, 2 * size, 'both held before the timeout');
  now += 2000;
  await ingest.take('home', 'b'.repeat(32), 'seg', b[1]!);
  t.is(ingest.reassemblyBytes, size, `camera a's reassembly is dropped after ${stallMs} ms, camera b's is not; logs: ${logs.join(' | ')}`);
  t.is(ingest.stats.stalled, 1);
  t.true(logs.some((l) => l.startsWith('E_REASSEMBLY_LIMIT') && l.includes(`${size} bytes`)), logs.join(' | '));
});
