/**
 * OTA on the device (src/device/ota.ts) over a real aedes broker on 127.0.0.1: a signed,
 * retained announcement names a retained image; the client verifies both with the pinned key,
 * installs into the inactive slot, health-checks, and confirms or rolls back.
 */
import test from 'ava';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { MqttUpdateTransport, OtaClient, type UpdateTransport } from '../../src/device/ota.js';
import { SlotStore, checkSlotFiles, INSTALL_STEPS } from '../../src/device/slots.js';
import { encodeUpdateAnnouncement, firmwareAnnounceTopic, firmwareImageTopic, sha256Hex } from '../../src/protocol/firmware-image.js';
import { SealcamError, type ErrorCode } from '../../src/protocol/errors.js';
import { firmwareKey, smallImage } from '../helpers/firmware.js';

const key = firmwareKey(11);
const otherKey = firmwareKey(12);
const BOARD = 'rpi-4b';

let server: Server;
let broker: Aedes;
let url: string;
const clients: MqttClient[] = [];

test.before(async () => {
  broker = await Aedes.createBroker();
  server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after.always(async () => {
  await Promise.all(clients.map((c) => c.endAsync()));
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function connect(): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

/** Publish `image` retained on its topic and return the signed announcement for it. */
async function publishRelease(o: { version: string; securityVersion: number; board?: string; image?: Uint8Array; signer?: typeof key; topicBoard?: string }) {
  const board = o.board ?? BOARD;
  const image = o.image ?? (await smallImage({ key, version: o.version, securityVersion: o.securityVersion, board }));
  const topic = firmwareImageTopic(o.topicBoard ?? board, o.version);
  const publisher = await connect();
  await publisher.publishAsync(topic, Buffer.from(image), { qos: 1, retain: true });
  return encodeUpdateAnnouncement({ board, version: o.version, securityVersion: o.securityVersion, imageSha256: sha256Hex(image), imageSize: image.length, location: { kind: 'mqtt', topic } }, o.signer ?? key);
}

async function device(transport?: UpdateTransport) {
  const root = await mkdtemp(join(tmpdir(), 'sealcam-ota-'));
  const slots = new SlotStore(root);
  const client = new OtaClient({ board: BOARD, publicKey: key.publicKey, slots, transport: transport ?? new MqttUpdateTransport(await connect(), 10_000), healthCheck: checkSlotFiles });
  return { root, slots, client };
}

async function refusal(t: import('ava').ExecutionContext, p: Promise<unknown>, code: ErrorCode) {
  const error = await t.throwsAsync(p);
  t.true(SealcamError.is(error, code), `expected ${code}, got ${String(error)}`);
}

test('a retained announcement over MQTT is verified, installed into the inactive slot and confirmed', async (t) => {
  const { root, slots, client } = await device();
  const v1 = await publishRelease({ version: '1.0.0', securityVersion: 1 });
  const first = await client.apply(v1);
  t.is(first.kind, 'installed');
  t.is(await slots.active(), 'a');

  // The second update arrives through the subscription, as the retained announcement.
  const announce = await publishRelease({ version: '1.1.0', securityVersion: 2 });
  const outcomes: unknown[] = [];
  const stop = await client.listen((o) => outcomes.push(o));
  const publisher = await connect();
  await publisher.publishAsync(firmwareAnnounceTopic(BOARD), Buffer.from(announce), { qos: 1, retain: true });
  await waitFor(() => outcomes.length > 0);
  await stop();
  const outcome = outcomes[0] as { kind: string };
  t.is(outcome.kind, 'installed', String(outcome));
  t.is(await slots.active(), 'b');
  t.is((await slots.manifest('a'))?.version, '1.0.0');
  t.is((await slots.state()).minSecurityVersion, 2);
  t.is((await client.apply(announce)).kind, 'current');
  await rm(root, { recursive: true });
});

/** Polls a condition driven by network events (no fixed sleep). */
async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('refusals: unsigned, wrong key, wrong board, downgrade, image not the announced one', async (t) => {
  const { root, slots, client } = await device();
  await client.apply(await publishRelease({ version: '2.0.0', securityVersion: 5 }));

  const signed = await publishRelease({ version: '2.1.0', securityVersion: 6 });
  const unsigned = signed.slice();
  unsigned.fill(0, unsigned.length - 64);
  await refusal(t, client.apply(unsigned), 'E_FIRMWARE_UNSIGNED');
  await refusal(t, client.apply(await publishRelease({ version: '2.1.1', securityVersion: 6, signer: otherKey })), 'E_FIRMWARE_SIGNATURE');
  await refusal(t, client.apply(await publishRelease({ version: '2.1.2', securityVersion: 6, board: 'rpi-5' })), 'E_FIRMWARE_BOARD');
  await refusal(t, client.apply(await publishRelease({ version: '1.9.0', securityVersion: 4 })), 'E_FIRMWARE_DOWNGRADE');
  // A correctly signed announcement whose image was signed by another key.
  const foreign = await smallImage({ key: otherKey, version: '2.2.0', securityVersion: 6 });
  await refusal(t, client.apply(await publishRelease({ version: '2.2.0', securityVersion: 6, image: foreign })), 'E_FIRMWARE_SIGNATURE');
  // An image on the announced topic that is not the announced one (replaced on the broker).
  const announced = await publishRelease({ version: '2.3.0', securityVersion: 6 });
  const publisher = await connect();
  await publisher.publishAsync(firmwareImageTopic(BOARD, '2.3.0'), Buffer.from(await smallImage({ key, version: '2.3.0', securityVersion: 7 })), { qos: 1, retain: true });
  await refusal(t, client.apply(announced), 'E_FIRMWARE_HASH');
  // A downgrade image behind an honest-looking announcement of a higher version is caught by the image check too.
  const old = await smallImage({ key, version: '2.4.0', securityVersion: 1 });
  const lying = encodeUpdateAnnouncement({ board: BOARD, version: '2.4.0', securityVersion: 9, imageSha256: sha256Hex(old), imageSize: old.length, location: { kind: 'mqtt', topic: firmwareImageTopic(BOARD, '2.4.0') } }, key);
  await publisher.publishAsync(firmwareImageTopic(BOARD, '2.4.0'), Buffer.from(old), { qos: 1, retain: true });
  await refusal(t, client.apply(lying), 'E_FIRMWARE_DOWNGRADE');

  t.is(await slots.active(), 'a', 'nothing was installed');
  t.is((await slots.manifest('a'))?.version, '2.0.0');
  t.is(await slots.manifest('b'), undefined);
  await rm(root, { recursive: true });
});

test('a failed health check after an OTA switch rolls back to the previous slot', async (t) => {
  const { root, slots } = await device();
  const transport = new MqttUpdateTransport(await connect(), 10_000);
  const good = new OtaClient({ board: BOARD, publicKey: key.publicKey, slots, transport, healthCheck: checkSlotFiles });
  await good.apply(await publishRelease({ version: '3.0.0', securityVersion: 1 }));
  const failing = new OtaClient({ board: BOARD, publicKey: key.publicKey, slots, transport, healthCheck: async () => false });
  await refusal(t, failing.apply(await publishRelease({ version: '3.1.0', securityVersion: 2 })), 'E_HEALTH_CHECK');
  t.is(await slots.active(), 'a');
  t.is((await slots.state()).minSecurityVersion, 1, 'the floor rises only on confirm');
  await rm(root, { recursive: true });
});

test('a power cut at every OTA install step leaves the previous slot booting after recovery', async (t) => {
  const v1 = await publishRelease({ version: '4.0.0', securityVersion: 1 });
  const v2 = await publishRelease({ version: '4.1.0', securityVersion: 2 });
  const transport = new MqttUpdateTransport(await connect(), 10_000);
  for (const cut of INSTALL_STEPS.filter((s) => s !== 'install-hook')) {
    const root = await mkdtemp(join(tmpdir(), 'sealcam-ota-cut-'));
    const slots = new SlotStore(root);
    await new OtaClient({ board: BOARD, publicKey: key.publicKey, slots, transport, healthCheck: checkSlotFiles }).apply(v1);
    const crashing = new OtaClient({
      board: BOARD,
      publicKey: key.publicKey,
      slots,
      transport,
      healthCheck: checkSlotFiles,
      beforeStep: (step) => {
        if (step === cut) throw new Error(`power cut before ${step}`);
      },
    });
    await t.throwsAsync(crashing.apply(v2), { message: `power cut before ${cut}` });
    const rebooted = new SlotStore(root);
    t.is(await rebooted.recover(), 'a', `cut before ${cut}`);
    t.true(await checkSlotFiles(rebooted.slotDir('a'), (await rebooted.manifest('a'))!));
    await rm(root, { recursive: true });
  }
});
