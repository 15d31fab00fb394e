/**
 * The household through a running camera: a second viewer shows its code, the owner adds it, the
 * camera (streaming) takes the new roster and starts a new epoch — the viewer can open what follows;
 * then the owner revokes it, and segments of the next epoch stay closed to it. A factory reset
 * makes the old pairing code useless.
 */
import test from 'ava';
import { join } from 'node:path';
import { Viewer, decodeViewerCode, encodeViewerCode, SealcamError } from '../../src/protocol/index.js';
import { DeviceHome } from '../../src/device/home.js';
import { pairAsCamera } from '../../src/device/pair.js';
import { runAgent } from '../../src/device/agent.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { loadBoard } from '../../src/device/board.js';
import { OwnerHome } from '../../src/owner/home.js';
import { addViewer, revokeViewer } from '../../src/owner/household.js';
import { pairedOverRelay } from '../helpers/device.js';

test('add a household viewer, then revoke it: epochs follow the roster on a streaming camera', async (t) => {
  const { dir, relay, owner, camera, code } = await pairedOverRelay('household', 'hall', { tls: true }); // over TLS, the relay's key pinned (§15.8)
  try {
    // A second phone: its own identity; it shows its code, the owner pastes it.
    const phone = await OwnerHome.init(join(dir, 'phone'));
    const viewerCode = encodeViewerCode(phone.identity.public);
    t.regex(viewerCode, /^SCV1:[A-Z2-7]+$/);

    const board = await loadBoard('sim');
    const up = new MqttUploader({ ...(await camera.relay())!, cameraId: camera.identity.idHex, spool: await Spool.open(join(camera.dir, 'spool'), 64 << 20) });
    await up.start();
    const changes: [number, number][] = [];
    let added = false;
    let revoked = false;
    const streaming = runAgent({
      board,
      home: camera,
      sink: up,
      seconds: 6,
      realtime: true,
      video: { width: 640, height: 360, bitrate: 600_000, segmentSeconds: 0.5 },
      onRosterChange: (version, epoch) => changes.push([version, epoch]),
      onProgress: (p) => {
        // Add the viewer after the first segments, revoke it a little later, while streaming.
        if (!added && p.segmentsSealed >= 3) {
          added = true;
          void addViewer(owner, 'hall', decodeViewerCode(viewerCode));
        }
        if (!revoked && changes.length === 1 && p.segmentsSealed >= 7) {
          revoked = true;
          void revokeViewer(owner, 'hall', phone.identity.idHex);
        }
      },
    });
    const result = await streaming;
    await up.flush(20_000);
    await up.close();
    t.deepEqual(changes.map(([v]) => v), [2, 3]);
    t.deepEqual(changes.map(([, e]) => e), [2, 3]);

    // What the phone can open, straight from the relay's store: only epoch 2.
    const cam = camera.identity.idHex;
    const phoneViewer = new Viewer(phone.identity).pin((await owner.camera('hall')).camera, { maxForwardJump: 1_000_000 });
    const opened: number[] = [];
    const refused: Record<string, number> = {};
    for (const a of await relay.store.announcements('home', cam)) {
      try {
        phoneViewer.addAnnouncement(a.bytes);
      } catch (e) {
        refused[`announcement epoch ${a.epoch}`] = 1;
        t.true(SealcamError.is(e, 'E_NOT_ON_ROSTER'));
      }
    }
    for (const s of relay.store.list('home', cam)) {
      try {
        phoneViewer.openSegment((await relay.store.readSegment('home', cam, s.seq))!);
        opened.push(s.epoch);
      } catch (e) {
        if (!SealcamError.is(e)) throw e;
        refused[`${e.code} epoch ${s.epoch}`] = (refused[`${e.code} epoch ${s.epoch}`] ?? 0) + 1;
      }
    }
    t.true(opened.length >= 1, 'the phone opened segments while on the roster');
    t.true(opened.every((e) => e === 2), `opened epochs ${[...new Set(opened)].join(',')}`);
    t.true(Object.keys(refused).some((k) => k.startsWith('E_UNKNOWN_EPOCH epoch 3')), JSON.stringify(refused));
    t.true(Object.keys(refused).some((k) => k.startsWith('E_UNKNOWN_EPOCH epoch 1')), 'and nothing from before it was added');
    t.true(result.segmentsSealed > 8);

    // Factory reset: keys and pairing gone; the old code is refused; the camera can pair anew.
    await camera.erase();
    const reborn = await DeviceHome.open(camera.dir);
    t.notDeepEqual(reborn.identity.id, camera.identity.id);
    await t.throwsAsync(reborn.pairing(), { message: /E_NOT_PAIRED/ });
    t.is(await pairAsCamera(reborn, code).then(() => undefined, (e) => e.code), 'E_PAIRING_REUSED');
  } finally {
    await relay.close();
  }
});
