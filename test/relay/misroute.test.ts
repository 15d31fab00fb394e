/**
 * The seed story over a real relay: a camera streams H.264 through the embedded relay while its
 * `misroute` fault delivers (and stores) everything under a stranger's account too. The owner
 * opens and plays every segment; the stranger, over MQTT and over the history API, gets
 * E_FOREIGN_CAMERA for every segment and live chunk, and zero plaintext. Then everything the relay
 * stored is scanned: no H.264 start codes, no MP4 boxes, no plaintext of the frames.
 */
import test from 'ava';
import mqtt from 'mqtt';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Identity, LiveSession, Reassembler, SealcamError, Viewer, concatBytes, publicIdentity, systemRandom, type ErrorCode } from '../../src/protocol/index.js';
import { loadBoard } from '../../src/device/board.js';
import { runAgent } from '../../src/device/agent.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { embeddedRelay, provisionCamera, tempDir } from '../helpers/relay.js';
import { pairedDevice } from '../helpers/device.js';
import { assertCiphertextOnly, decodeFrameCodes } from '../helpers/media.js';
import { until } from './uploader-contract.js';

const auth = (u: { username: string; password: string }) => ({ authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}` });

test('misrouted to a stranger: the owner plays every frame, the stranger opens nothing, the store holds no plaintext', async (t) => {
  const dir = await tempDir('misroute');
  const relay = await embeddedRelay(join(dir, 'relay'), { fault: { misroute: { toAccount: 'stranger' } } });
  try {
    const ownerLogin = await relay.accounts.addAccount('home');
    const strangerLogin = await relay.accounts.addAccount('stranger');
    const { home, viewer: ownerViewer } = await pairedDevice('misroute-cam');
    await provisionCamera(relay, ownerLogin, home);
    // The stranger has a viewer identity and a camera of their own, properly paired.
    const stranger = new Viewer(Identity.generate(systemRandom));
    const strangersCamera = Identity.generate(systemRandom);
    stranger.pin(publicIdentity(strangersCamera.signPublicKey, strangersCamera.boxPublicKey));
    const strangerLive = new LiveSession(publicIdentity(strangersCamera.signPublicKey, strangersCamera.boxPublicKey), stranger.identity, { now: Date.now });

    // The stranger listens to their own account, live.
    const strangerCodes: ErrorCode[] = [];
    let strangerPlaintext = 0;
    const live = mqtt.connect(relay.mqttUrl, { protocolVersion: 4, ...strangerLogin, reconnectPeriod: 0 });
    const reassembler = new Reassembler();
    live.on('message', (topic, payload) => {
      try {
        if (topic.endsWith('/live')) {
          // The live topic carries init envelopes, chunks and seals: a live viewer's session (PROTOCOL.md §7.5).
          for (const e of strangerLive.handle('live', new Uint8Array(payload))) {
            if (e.type === 'rejected') strangerCodes.push(e.code);
            if (e.type === 'chunk' || e.type === 'init') strangerPlaintext += e.type === 'chunk' ? e.chunk.payload.length : e.payload.length;
          }
        }
        if (topic.endsWith('/seg')) {
          const env = reassembler.push(new Uint8Array(payload));
          if (env) strangerPlaintext += stranger.openSegment(env).payload.length;
        }
      } catch (e) {
        if (!SealcamError.is(e)) throw e;
        strangerCodes.push(e.code);
      }
    });
    await new Promise<void>((resolve) => live.once('connect', () => live.subscribe('sc/v1/stranger/#', { qos: 1 }, () => resolve())));

    // 4 s of the sim camera at 640x360, uploaded through the spool.
    const board = await loadBoard('sim');
    const login = (await home.relay())!;
    const up = new MqttUploader({ ...login, cameraId: home.identity.idHex, spool: await Spool.open(join(dir, 'spool'), 64 << 20) });
    await up.start();
    const result = await runAgent({ board, home, sink: up, seconds: 4, video: { width: 640, height: 360, bitrate: 1_000_000 } });
    await up.flush(30_000);
    await up.close();
    t.is(result.segmentsSealed, 3);

    // The owner: history API, then open and play.
    const cam = home.identity.idHex;
    const list = (await (await fetch(`${relay.httpUrl}/v1/accounts/home/cameras/${cam}/segments`, { headers: auth(ownerLogin) })).json() as { items: { seq: number }[] }).items;
    t.is(list.length, 3);
    const keys = (await (await fetch(`${relay.httpUrl}/v1/accounts/home/cameras/${cam}/keys`, { headers: auth(ownerLogin) })).json() as { items: { epoch: number }[] }).items;
    const view = ownerViewer.cameras[0]!;
    for (const k of keys) view.addAnnouncement(new Uint8Array(await (await fetch(`${relay.httpUrl}/v1/accounts/home/cameras/${cam}/keys/${k.epoch}`, { headers: auth(ownerLogin) })).arrayBuffer()));
    const payloads: Uint8Array[] = [];
    for (const s of list) payloads.push(view.openSegment(new Uint8Array(await (await fetch(`${relay.httpUrl}/v1/accounts/home/cameras/${cam}/segments/${s.seq}`, { headers: auth(ownerLogin) })).arrayBuffer())).payload);
    const mp4 = concatBytes(...payloads);
    t.deepEqual(await decodeFrameCodes(mp4), [...Array(120).keys()]);

    // The stranger: the misrouted copies sit in their history too — and open to nothing.
    await until(() => strangerCodes.length >= 3, 10_000, 'the stranger to receive the misrouted feed');
    const theirs = (await (await fetch(`${relay.httpUrl}/v1/accounts/stranger/cameras`, { headers: auth(strangerLogin) })).json()) as { camera: string; segments: number }[];
    t.deepEqual(theirs.map((c) => c.camera), [cam]);
    for (const s of list) {
      const env = new Uint8Array(await (await fetch(`${relay.httpUrl}/v1/accounts/stranger/cameras/${cam}/segments/${s.seq}`, { headers: auth(strangerLogin) })).arrayBuffer());
      try {
        strangerPlaintext += stranger.openSegment(env).payload.length;
      } catch (e) {
        strangerCodes.push((e as SealcamError).code);
      }
    }
    t.is(strangerPlaintext, 0);
    t.true(strangerCodes.length >= 3 + 3 + 120);
    t.deepEqual([...new Set(strangerCodes)], ['E_FOREIGN_CAMERA']);
    // The owner's login cannot read the stranger's history, nor the other way round.
    t.is((await fetch(`${relay.httpUrl}/v1/accounts/stranger/cameras`, { headers: auth(ownerLogin) })).status, 403);
    t.is((await fetch(`${relay.httpUrl}/v1/accounts/home/cameras`)).status, 401);
    await live.endAsync();

    // Plaintext at rest: scan every byte the relay stored.
    const files = await relay.store.allFiles();
    t.true(files.length >= 6 + 2);
    await assertCiphertextOnly(t, [...files, join(dir, 'relay', 'accounts.json')], mp4);
    await writeFile(join(dir, 'owner.mp4'), mp4);
  } finally {
    await relay.close();
  }
});
