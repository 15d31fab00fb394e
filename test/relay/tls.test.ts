/**
 * TLS with a pinned relay (issue 12, PROTOCOL.md §15.8): the relay makes and keeps its own
 * certificate; the pairing code carries its key's fingerprint, so the camera provisions, uploads and
 * the owner fetches history over TLS with that key only; a server with any other key (a relay in
 * the middle, or DNS pointing elsewhere) gets nothing, not even the provisioning token.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Identity, decodeQrPayload, encodeQrPayload, systemRandom } from '../../src/protocol/index.js';
import { relayTls, selfSignedCertificate, spkiFingerprint } from '../../src/relay/tls.js';
import { fingerprintBytes, fingerprintText } from '../../src/media/pinned-tls.js';
import { connectMqtt } from '../../src/media/mqtt.js';
import { relayFetch } from '../../src/media/relay-http.js';
import { DeviceHome } from '../../src/device/home.js';
import { pairAsCamera } from '../../src/device/pair.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { Spool } from '../../src/device/spool.js';
import { fetchHistory } from '../../src/owner/history.js';
import { pairedOverRelay } from '../helpers/device.js';
import { tempDir } from '../helpers/relay.js';
import { codeOf } from '../helpers/codes.js';

const codeOfAsync = async (p: Promise<unknown>) => {
  try {
    await p;
    return undefined;
  } catch (e) {
    return codeOf(() => {
      throw e;
    });
  }
};

test('the relay makes a self-signed certificate once, keeps it (0600) and reports the same key fingerprint', async (t) => {
  const dir = await tempDir('tls-cert');
  const first = await relayTls({ dataDir: join(dir, 'data'), hosts: ['127.0.0.1', 'relay.example', '10.1.2.3'] });
  const again = await relayTls({ dataDir: join(dir, 'data'), hosts: ['127.0.0.1'] });
  t.is(again.fingerprint, first.fingerprint);
  t.is(again.origin, 'self-signed');
  t.regex(first.fingerprint, /^sha256\/[A-Za-z0-9_-]{43}$/);
  t.is(spkiFingerprint(first.cert), first.fingerprint);
  const x = new X509Certificate(first.cert);
  t.is(x.subject, 'CN=sealcam relay');
  t.regex(x.subjectAltName ?? '', /DNS:relay\.example/);
  t.regex(x.subjectAltName ?? '', /IP Address:10\.1\.2\.3/);
  t.false(x.ca);
  t.is((await stat(join(dir, 'data', 'tls', 'relay.key'))).mode & 0o777, 0o600);
  t.deepEqual(fingerprintBytes(fingerprintText(fingerprintBytes(first.fingerprint))), fingerprintBytes(first.fingerprint));
});

test('every self-signed certificate is valid DER: 800 in a row parse and match their keys (a serial with a leading 00 byte did not, about 1 in 250)', (t) => {
  const fingerprints = new Set<string>();
  for (let i = 0; i < 800; i++) fingerprints.add(selfSignedCertificate(['127.0.0.1']).fingerprint); // each one is parsed and checked against its key
  t.is(fingerprints.size, 800);
});

test('a CA-style certificate and key from files are used as given; a key that does not match is E_CONFIG', async (t) => {
  const dir = await tempDir('tls-files');
  const a = selfSignedCertificate(['relay.example']);
  const b = selfSignedCertificate(['relay.example']);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'a.crt'), a.cert);
  await writeFile(join(dir, 'a.key'), a.key);
  await writeFile(join(dir, 'b.key'), b.key);
  const got = await relayTls({ dataDir: join(dir, 'data'), certFile: join(dir, 'a.crt'), keyFile: join(dir, 'a.key'), hosts: [] });
  t.is(got.fingerprint, a.fingerprint);
  t.is(got.origin, 'files');
  t.is(await codeOfAsync(relayTls({ dataDir: join(dir, 'data'), certFile: join(dir, 'a.crt'), keyFile: join(dir, 'b.key'), hosts: [] })), 'E_CONFIG');
  t.is(await codeOfAsync(relayTls({ dataDir: join(dir, 'data'), certFile: join(dir, 'a.crt'), hosts: [] })), 'E_CONFIG');
});

test('pairing over TLS: the code carries the relay key; the camera provisions, uploads over mqtts and the owner reads history over https, all pinned', async (t) => {
  const p = await pairedOverRelay('tls-pair', 'porch', { tls: true });
  try {
    t.true(p.relay.httpUrl.startsWith('https://') && p.relay.mqttUrl.startsWith('mqtts://') && p.relay.wsUrl!.startsWith('wss://'), `${p.relay.httpUrl} ${p.relay.mqttUrl} ${p.relay.wsUrl}`);
    const offer = decodeQrPayload(p.code);
    t.is(fingerprintText(offer.relayFingerprint!), p.relay.fingerprint!);
    const login = (await p.camera.relay())!;
    t.is(login.fingerprint, p.relay.fingerprint!);
    t.true(login.url.startsWith('mqtts://'));

    // The camera uploads one sealed segment through the pinned connection.
    const { CameraEpochs, SegmentSealer } = await import('../../src/protocol/index.js');
    const { roster } = await p.camera.pairing();
    const epochs = new CameraEpochs(p.camera.identity, systemRandom, 0);
    const up = new MqttUploader({ ...login, cameraId: p.camera.identity.idHex, spool: await Spool.open(join(p.dir, 'spool'), 1 << 20) });
    await up.start();
    await up.announce(epochs.rotate(roster, Date.now()), 1);
    const sealer = new SegmentSealer(p.camera.identity, epochs, systemRandom, 0);
    await up.segment(sealer.seal({ kind: 'media', captureTime: Date.now(), durationMs: 1000, payload: new Uint8Array(100), final: true }), { seq: 0, kind: 'media', final: true, bytes: 0 });
    await up.flush(10_000);
    await up.close();

    const ownerLogin = await p.owner.relay();
    const { Viewer } = await import('../../src/protocol/index.js');
    const viewer = new Viewer(p.owner.identity);
    viewer.pin((await p.owner.camera('porch')).camera);
    const h = await fetchHistory(ownerLogin, viewer, p.camera.identity.idHex);
    t.is(h.opened.length, 1, `segments opened over https: ${h.opened.length}`);
  } finally {
    await p.relay.close();
  }
});

test('a server with another key at the relay address gets nothing from the camera: E_RELAY_PIN before the token is sent', async (t) => {
  const p = await pairedOverRelay('tls-mitm', 'porch', { tls: true });
  // The impostor: its own certificate, records whether any application byte reached it.
  const fake = selfSignedCertificate(['127.0.0.1']);
  let bytesReceived = 0;
  const impostor = createServer({ cert: fake.cert, key: fake.key }, (s: TLSSocket) => s.on('data', (d: Buffer) => (bytesReceived += d.length)));
  await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
  try {
    const owner = Identity.fromSecret(p.owner.identity.exportSecret());
    const real = decodeQrPayload(p.code);
    const port = (impostor.address() as AddressInfo).port;
    // The owner's code, with the relay URL pointing at the impostor (as a hijacked DNS name would).
    const text = encodeQrPayload({ ...real, owner: owner.public, secret: systemRandom(16), relayUrl: `https://127.0.0.1:${port}`, expiresAt: Date.now() + 60_000 });
    const camera = await DeviceHome.open(join(p.dir, 'camera2'));
    const code = await codeOfAsync(pairAsCamera(camera, text, { timeoutMs: 10_000 }));
    t.is(code, 'E_RELAY_PIN');
    t.is(bytesReceived, 0, `bytes the impostor received: ${bytesReceived}`);
    t.is(await camera.relay(), null, 'no relay login stored');

    // Owner side and MQTT alike: the real relay's pin refuses the impostor.
    t.is(await codeOfAsync(relayFetch(`https://127.0.0.1:${port}/v1/info`, { pin: p.relay.fingerprint })), 'E_RELAY_PIN');
    t.is(await codeOfAsync(connectMqtt(`mqtts://127.0.0.1:${port}`, { username: 'x', password: 'y', fingerprint: p.relay.fingerprint })), 'E_RELAY_PIN');
    t.is(bytesReceived, 0, `bytes the impostor received: ${bytesReceived}`);
    // Without a pin a self-signed relay is not trusted at all (the system CAs do not know it).
    t.is(await codeOfAsync(relayFetch(`${p.relay.httpUrl}/v1/info`)), 'E_RELAY_UNREACHABLE');
  } finally {
    impostor.close();
    await p.relay.close();
  }
});

test('a pin on a plaintext URL is refused (E_CONFIG): a pinned relay is never reached in clear', async (t) => {
  const fp = selfSignedCertificate([]).fingerprint;
  t.is(await codeOfAsync(relayFetch('http://127.0.0.1:9/v1/info', { pin: fp })), 'E_CONFIG');
  t.is(await codeOfAsync(connectMqtt('mqtt://127.0.0.1:9', { username: 'x', password: 'y', fingerprint: fp })), 'E_CONFIG');
});
