import test from 'ava';
import { CameraEpochs, EpochKey, acceptRosterUpdate, EpochKeyring, Identity, SegmentSealer, Viewer, fromHex, openRoster, signRoster, publicIdentity } from '../../src/protocol/index.js';
import { codeOf } from '../helpers/codes.js';
import { T0, bytesOf, household, pinned, seededRandom } from '../helpers/fixtures.js';
import { readFileSync } from 'node:fs';

test('every roster viewer unwraps the same epoch key; the camera signs the announcement', (t) => {
  const h = household('epoch-all', 3);
  const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('for the household') });
  for (const member of h.others) {
    const v = new Viewer(member);
    const info = v.pin(pinned(h.camera)).addAnnouncement(h.announcement);
    t.is(info.epoch, 1);
    t.is(info.viewerIds.length, 4);
    t.deepEqual(v.openSegment(env).payload, bytesOf('for the household'));
  }
});

test('revocation: a viewer removed from the roster cannot open segments of the next epoch', (t) => {
  const h = household('revoke', 1);
  const bob = h.others[0]!;
  const bobView = new Viewer(bob).pin(pinned(h.camera));
  bobView.addAnnouncement(h.announcement);
  const before = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('before revocation') });
  t.deepEqual(bobView.openSegment(before).payload, bytesOf('before revocation'));

  // The owner signs roster v2 without Bob; the camera accepts it and starts epoch 2.
  const v2 = signRoster(h.owner, { cameraId: h.camera.id, rosterVersion: 2, issuedAt: T0 + 1, viewers: [h.owner.public] });
  const announcement2 = h.epochs.rotate(openRoster(v2, h.owner.signPublicKey), T0 + 1);
  t.is(codeOf(() => bobView.addAnnouncement(announcement2)), 'E_NOT_ON_ROSTER');
  h.ownerViewer.cameras[0]!.addAnnouncement(announcement2);
  h.ownerViewer.openSegment(before);

  const after = h.sealer.seal({ kind: 'media', captureTime: T0 + 2, durationMs: 1, payload: bytesOf('after revocation') });
  t.is(codeOf(() => bobView.openSegment(after)), 'E_UNKNOWN_EPOCH');
  // Even if Bob pretends his epoch-1 key is the epoch-2 key, the ciphertext does not open.
  const stolen = new EpochKey(2, bobView.keyring.get(1)!.key.slice());
  bobView.keyring.add(stolen);
  t.is(codeOf(() => bobView.openSegment(after)), 'E_DECRYPT');
  t.deepEqual(h.ownerViewer.openSegment(after).payload, bytesOf('after revocation'));
});

test('the camera wipes the previous epoch key when it rotates', (t) => {
  const h = household('wipe-camera');
  const first = h.epochs.epoch;
  const roster = openRoster(h.rosterBytes, h.owner.signPublicKey);
  h.epochs.rotate(roster, T0 + 1);
  t.is(codeOf(() => first.key), 'E_BAD_ARGUMENT');
  t.is(h.epochs.epoch.epoch, 2);
});

test('the viewer keyring keeps a bounded number of epochs and erases older keys', (t) => {
  const ring = new EpochKeyring(3);
  const keys = [1, 2, 3, 4, 5].map((e) => new EpochKey(e, new Uint8Array(32).fill(e)));
  for (const k of keys) ring.add(k);
  t.is(ring.get(1), undefined);
  t.is(ring.get(2), undefined);
  t.is(codeOf(() => keys[0]!.key), 'E_BAD_ARGUMENT');
  t.deepEqual(ring.get(5)!.key, new Uint8Array(32).fill(5));
  t.is(codeOf(() => ring.add(new EpochKey(1, new Uint8Array(32)))), 'E_STALE_EPOCH');
  t.is(codeOf(() => ring.add(new EpochKey(5, new Uint8Array(32)))), 'E_STALE_EPOCH');
  t.notThrows(() => ring.add(new EpochKey(5, new Uint8Array(32).fill(5))));
  ring.forgetBefore(5);
  t.is(ring.get(4), undefined);
});

test('a relay that swaps the camera key cannot get its announcement or segments accepted', (t) => {
  const h = household('swap-key');
  const relayCamera = Identity.generate(seededRandom('relay-camera'));
  // The relay re-signs the genuine announcement body with its own key: the pinned key refuses it.
  const body = h.announcement.subarray(0, h.announcement.length - 64);
  const resigned = new Uint8Array([...body, ...relayCamera.signer.sign(new Uint8Array([...new TextEncoder().encode('sealcam/epoch/v1\0'), ...body]))]);
  const fresh = new Viewer(h.owner).pin(pinned(h.camera));
  t.is(codeOf(() => fresh.addAnnouncement(resigned)), 'E_BAD_SIGNATURE');
  // An announcement from the relay's own camera identity is foreign.
  const roster = openRoster(signRoster(h.owner, { cameraId: relayCamera.id, rosterVersion: 1, issuedAt: T0, viewers: [h.owner.public] }), h.owner.signPublicKey);
  const relayEpochs = new CameraEpochs(relayCamera, seededRandom('relay-epochs'), 0);
  t.is(codeOf(() => fresh.addAnnouncement(relayEpochs.rotate(roster, T0))), 'E_FOREIGN_CAMERA');
  const relaySealer = new SegmentSealer(relayCamera, relayEpochs, seededRandom('relay-sealer'), 0);
  t.is(codeOf(() => fresh.openSegment(relaySealer.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('x') }))), 'E_FOREIGN_CAMERA');
});

test('tampered announcements are refused with stable codes', (t) => {
  const h = household('ann-tamper');
  const view = new Viewer(h.owner).pin(pinned(h.camera));
  for (let i = 0; i < h.announcement.length; i++) {
    const m = h.announcement.slice();
    m[i]! ^= 0x10;
    t.truthy(codeOf(() => view.addAnnouncement(m)), `byte ${i}`);
  }
  t.is(codeOf(() => view.addAnnouncement(h.announcement.subarray(0, 100))), 'E_MALFORMED');
  t.is(view.addAnnouncement(h.announcement).epoch, 1);
});

test('an announcement whose ephemeral key is low-order is refused with E_LOW_ORDER_POINT', (t) => {
  // A camera build with a broken RNG could emit a low-order ephemeral key; the viewer must refuse it.
  const low = JSON.parse(readFileSync(new URL('../vectors/x25519-wycheproof-low-order.json', import.meta.url), 'utf8')) as { vectors: { public: string }[] };
  const h = household('ann-low-order');
  const m = h.announcement.slice();
  m.set(fromHex(low.vectors[0]!.public), 40);
  // Re-sign as the genuine camera so the signature passes and the low-order check is what trips.
  const body = m.subarray(0, m.length - 64);
  m.set(h.camera.signer.sign(new Uint8Array([...new TextEncoder().encode('sealcam/epoch/v1\0'), ...body])), m.length - 64);
  t.is(codeOf(() => new Viewer(h.owner).pin(pinned(h.camera)).addAnnouncement(m)), 'E_LOW_ORDER_POINT');
});

test('rosters: owner signature required, entry 0 is the owner, codes for every misuse', (t) => {
  const h = household('roster', 1);
  const r = openRoster(h.rosterBytes, h.owner.signPublicKey);
  t.is(r.rosterVersion, 1);
  t.is(r.viewers.length, 2);
  t.is(codeOf(() => openRoster(h.rosterBytes, h.others[0]!.signPublicKey)), 'E_ROSTER_SIGNATURE');
  const m = h.rosterBytes.slice();
  m[40]! ^= 1;
  t.is(codeOf(() => openRoster(m, h.owner.signPublicKey)), 'E_ROSTER_SIGNATURE');
  t.is(codeOf(() => openRoster(h.rosterBytes.subarray(1), h.owner.signPublicKey)), 'E_BAD_MAGIC');
  t.is(codeOf(() => signRoster(h.owner, { cameraId: h.camera.id, rosterVersion: 1, issuedAt: T0, viewers: [h.others[0]!.public] })), 'E_BAD_ARGUMENT');
  t.is(codeOf(() => publicIdentity(new Uint8Array(31), h.owner.boxPublicKey)), 'E_BAD_KEY');
});

test('identities survive export and import and their ids are fingerprints of both keys', (t) => {
  const id = Identity.generate(seededRandom('export'));
  const again = Identity.fromSecret(id.exportSecret());
  t.deepEqual(again.id, id.id);
  t.deepEqual(again.signer.sign(bytesOf('m')), id.signer.sign(bytesOf('m')));
  t.is(id.idHex.length, 32);
  t.notDeepEqual(Identity.generate(seededRandom('other')).id, id.id);
  t.is(codeOf(() => Identity.fromSecret(new Uint8Array(63))), 'E_BAD_ARGUMENT');
});

test('roster updates: a replayed old roster is E_STALE_ROSTER, one for another camera is E_FOREIGN_CAMERA', (t) => {
  const h = household('roster-update', 1);
  const expect = { ownerSignPublicKey: h.owner.signPublicKey, cameraId: h.camera.id, currentVersion: 1 };
  t.is(codeOf(() => acceptRosterUpdate(h.rosterBytes, expect)), 'E_STALE_ROSTER');
  const v2 = signRoster(h.owner, { cameraId: h.camera.id, rosterVersion: 2, issuedAt: T0, viewers: [h.owner.public] });
  t.is(acceptRosterUpdate(v2, expect).viewers.length, 1);
  const other = signRoster(h.owner, { cameraId: new Uint8Array(16).fill(1), rosterVersion: 3, issuedAt: T0, viewers: [h.owner.public] });
  t.is(codeOf(() => acceptRosterUpdate(other, expect)), 'E_FOREIGN_CAMERA');
});

test('misuse of the camera side is refused without side effects', (t) => {
  const h = household('camera-misuse', 1);
  // Versions beyond u32 and duplicate viewers never reach the wire.
  t.is(codeOf(() => signRoster(h.owner, { cameraId: h.camera.id, rosterVersion: 2 ** 32 + 1, issuedAt: T0, viewers: [h.owner.public] })), 'E_BAD_ARGUMENT');
  t.is(codeOf(() => signRoster(h.owner, { cameraId: h.camera.id, rosterVersion: 2, issuedAt: T0, viewers: [h.owner.public, h.others[0]!.public, h.others[0]!.public] })), 'E_BAD_ARGUMENT');
  // A sealer used before the first rotate() does not burn a seq.
  const fresh = new CameraEpochs(h.camera, seededRandom('fresh'), 0);
  const sealer = new SegmentSealer(h.camera, fresh, seededRandom('fresh-sealer'), 7);
  t.is(codeOf(() => sealer.begin({ kind: 'media', captureTime: T0 })), 'E_BAD_ARGUMENT');
  t.is(sealer.nextSeq, 7);
  // A roster with a low-order viewer key aborts the rotation and keeps the current epoch.
  const low = JSON.parse(readFileSync(new URL('../vectors/x25519-wycheproof-low-order.json', import.meta.url), 'utf8')) as { vectors: { public: string }[] };
  const badViewer = { id: new Uint8Array(16).fill(3), signPublicKey: new Uint8Array(32).fill(4), boxPublicKey: fromHex(low.vectors[1]!.public) };
  const before = h.epochs.epoch;
  t.is(codeOf(() => h.epochs.rotate({ cameraId: h.camera.id, rosterVersion: 2, issuedAt: T0, viewers: [h.owner.public, badViewer] }, T0)), 'E_LOW_ORDER_POINT');
  t.is(h.epochs.epoch, before);
  t.is(h.epochs.epoch.epoch, 1);
});
