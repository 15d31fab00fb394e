import test from 'ava';
import {
  CameraEpochs,
  HEADER_BYTES,
  Identity,
  SEAL_BYTES,
  SegmentSealer,
  Viewer,
  concatBytes,
  openRoster,
  sha512,
} from '../../src/protocol/index.js';
import { codeOf } from '../helpers/codes.js';
import { T0, bytesOf, household, pinned, seededRandom } from '../helpers/fixtures.js';


test('round trip: init segment, multi-chunk media segment and a final segment', (t) => {
  const h = household('rt');
  const init = h.sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: bytesOf('ftyp+moov') });
  const w = h.sealer.begin({ kind: 'media', captureTime: T0 + 1 });
  const parts = [bytesOf('moof+mdat 0'), new Uint8Array(200_000).fill(7), bytesOf('moof+mdat 2')];
  parts.forEach((p, i) => w.addChunk(p, { last: i === parts.length - 1 }));
  const media = w.finish({ durationMs: 2000 });
  const fin = h.sealer.seal({ kind: 'media', captureTime: T0 + 2001, durationMs: 1500, payload: new Uint8Array(0), final: true });

  const a = h.ownerViewer.openSegment(init);
  t.is(a.header.kind, 'init');
  t.deepEqual(a.payload, bytesOf('ftyp+moov'));
  t.deepEqual(a.verdict, { kind: 'first' });
  const b = h.ownerViewer.openSegment(media);
  t.is(b.header.chunkCount, 3);
  t.deepEqual(b.chunks, parts);
  t.deepEqual(b.payload, concatBytes(...parts));
  t.is(b.header.durationMs, 2000);
  t.deepEqual(b.verdict, { kind: 'next' });
  const c = h.ownerViewer.openSegment(fin);
  t.true(c.header.final);
  t.is(c.payload.length, 0);
  t.notThrows(() => h.ownerViewer.cameras[0]!.stream.assertComplete());
});

test('misrouting: camera A segments at a viewer paired only with camera B give E_FOREIGN_CAMERA and zero plaintext', (t) => {
  const a = household('camera-a');
  const b = household('camera-b');
  let plaintextBytes = 0;
  for (let i = 0; i < 20; i++) {
    const env = a.sealer.seal({ kind: 'media', captureTime: T0 + i, durationMs: 2000, payload: bytesOf(`baby monitor frame ${i}`) });
    const code = codeOf(() => {
      plaintextBytes += b.ownerViewer.openSegment(env).payload.length;
    });
    t.is(code, 'E_FOREIGN_CAMERA');
    // The single-camera view refuses it too, before touching a key.
    t.is(codeOf(() => b.ownerViewer.cameras[0]!.openSegment(env)), 'E_FOREIGN_CAMERA');
  }
  t.is(plaintextBytes, 0);
});

test('the foreign-camera check comes before the signature and the key: a foreign segment with a broken signature is still E_FOREIGN_CAMERA', (t) => {
  const a = household('order-a');
  const b = household('order-b');
  const env = a.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('x') });
  env[HEADER_BYTES + 3]! ^= 0xff; // signature
  env[env.length - 1]! ^= 0xff; // ciphertext
  t.is(codeOf(() => b.ownerViewer.cameras[0]!.openSegment(env)), 'E_FOREIGN_CAMERA');
});

test('co-owner forgery: a second viewer who holds the epoch key cannot make a segment the owner accepts', (t) => {
  const h = household('coowner', 1);
  const mallory = h.others[0]!;
  const malloryViewer = new Viewer(mallory);
  const malloryView = malloryViewer.pin(pinned(h.camera));
  malloryView.addAnnouncement(h.announcement);
  const epochKey = malloryView.keyring.get(1)!;
  t.truthy(epochKey, 'the co-owner really holds the epoch key');

  // Mallory seals with the real epoch key and the camera id, but can only sign with her own key.
  const forgedCamera = Object.assign(Object.create(Object.getPrototypeOf(h.camera)) as Identity, h.camera, { signer: mallory.signer });
  const forgingSealer = new SegmentSealer(forgedCamera, { epoch: epochKey }, seededRandom('mallory'), 0);
  const forged = forgingSealer.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: bytesOf('fake: nobody home!') });
  t.is(codeOf(() => h.ownerViewer.openSegment(forged)), 'E_BAD_SIGNATURE');

  // Re-using a genuine signature with a swapped body fails too.
  const genuine = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: bytesOf('real: someone home') });
  const spliced = concatBytes(genuine.subarray(0, SEAL_BYTES), forged.subarray(SEAL_BYTES));
  t.is(codeOf(() => h.ownerViewer.openSegment(spliced)), 'E_BAD_SIGNATURE');
  t.is(h.ownerViewer.openSegment(genuine).verdict.kind, 'first');
});

test('a viewer without the epoch key gets E_UNKNOWN_EPOCH, after the signature check', (t) => {
  const h = household('unknown-epoch');
  const late = new Viewer(h.owner);
  late.pin(pinned(h.camera));
  const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('x') });
  t.is(codeOf(() => late.openSegment(env)), 'E_UNKNOWN_EPOCH');
  const tampered = env.slice();
  tampered[HEADER_BYTES]! ^= 1;
  t.is(codeOf(() => late.openSegment(tampered)), 'E_BAD_SIGNATURE');
});

test('rejected segments do not advance the stream state', (t) => {
  const h = household('no-advance');
  const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('x') });
  const bad = env.slice();
  bad[bad.length - 1]! ^= 1;
  t.is(codeOf(() => h.ownerViewer.openSegment(bad)), 'E_BAD_SIGNATURE');
  t.is(h.ownerViewer.cameras[0]!.stream.highest, null);
  t.is(h.ownerViewer.openSegment(env).header.seq, 0);
});

test('a body that verifies but decrypts under another key is E_DECRYPT (signature from the real camera, wrong epoch key)', (t) => {
  // The camera itself seals under a key the viewer was never given for that epoch number.
  const h = household('decrypt');
  const random = seededRandom('decrypt-other');
  const roster = openRoster(h.rosterBytes, h.owner.signPublicKey);
  const rogueEpochs = new CameraEpochs(h.camera, random, 0);
  rogueEpochs.rotate(roster, T0); // also epoch 1, different key
  const rogue = new SegmentSealer(h.camera, rogueEpochs, random, 0);
  const env = rogue.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('x') });
  t.is(codeOf(() => h.ownerViewer.openSegment(env)), 'E_DECRYPT');
});

test('header fields: unknown magic, version, kind, flags and bad lengths have their own codes', (t) => {
  const h = household('header-codes');
  const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('x') });
  const at = (offset: number, value: number) => {
    const m = env.slice();
    m[offset] = value;
    return codeOf(() => h.ownerViewer.openSegment(m));
  };
  t.is(at(0, 0x58), 'E_BAD_MAGIC');
  t.is(at(4, 2), 'E_UNSUPPORTED_VERSION');
  t.is(at(5, 4), 'E_UNKNOWN_KIND'); // 3 is a motion event (§16)
  t.is(at(6, 0x80), 'E_UNKNOWN_FLAGS');
  t.is(at(7, 1), 'E_MALFORMED');
  t.is(at(27, 0), 'E_MALFORMED'); // epoch 1 -> 0
  t.is(at(68 + 7, 9), 'E_MALFORMED'); // nonce seq field no longer equals seq
  t.is(codeOf(() => h.ownerViewer.openSegment(env.subarray(0, env.length - 1))), 'E_MALFORMED');
  t.is(codeOf(() => h.ownerViewer.openSegment(concatBytes(env, new Uint8Array(1)))), 'E_MALFORMED');
  t.is(codeOf(() => h.ownerViewer.openSegment(env.subarray(0, 10))), 'E_MALFORMED');
  t.is(codeOf(() => h.ownerViewer.openSegment(new Uint8Array(0))), 'E_BAD_MAGIC');
});

test('flipping any single byte of an envelope is rejected', (t) => {
  const h = household('every-byte');
  const w = h.sealer.begin({ kind: 'media', captureTime: T0 });
  w.addChunk(bytesOf('first chunk'));
  w.addChunk(bytesOf('second chunk'), { last: true });
  const env = w.finish({ durationMs: 40 });
  const view = h.ownerViewer.cameras[0]!;
  for (let i = 0; i < env.length; i++) {
    const m = env.slice();
    m[i]! ^= 0x01;
    t.truthy(codeOf(() => view.openSegment(m)), `byte ${i} flipped was accepted`);
  }
  t.is(view.stream.highest, null);
  t.is(view.openSegment(env).chunks.length, 2);
});

test('the signature covers SHA-512 of the whole body including chunk framing', (t) => {
  const h = household('sig-input');
  const env = h.sealer.seal({ kind: 'media', captureTime: T0, durationMs: 1, payload: bytesOf('x') });
  const header = env.subarray(0, HEADER_BYTES);
  const body = env.subarray(SEAL_BYTES);
  const message = concatBytes(new TextEncoder().encode('sealcam/segment/v1\0'), header, sha512(body));
  t.deepEqual(h.camera.signer.sign(message), env.subarray(HEADER_BYTES, SEAL_BYTES));
});

test('sealer misuse is refused: a second open segment, a finish without the last chunk, chunks after the last', (t) => {
  const h = household('misuse');
  const w = h.sealer.begin({ kind: 'media', captureTime: T0 });
  t.is(codeOf(() => h.sealer.begin({ kind: 'media', captureTime: T0 })), 'E_BAD_ARGUMENT');
  w.addChunk(bytesOf('a'));
  t.is(codeOf(() => w.finish({ durationMs: 1 })), 'E_BAD_ARGUMENT');
  w.addChunk(bytesOf('b'), { last: true });
  t.is(codeOf(() => w.addChunk(bytesOf('c'))), 'E_BAD_ARGUMENT');
  w.finish({ durationMs: 1 });
  t.is(codeOf(() => w.finish({ durationMs: 1 })), 'E_BAD_ARGUMENT');
  const aborted = h.sealer.begin({ kind: 'media', captureTime: T0 });
  aborted.abort();
  t.notThrows(() => h.sealer.begin({ kind: 'media', captureTime: T0 }).abort());
  t.is(codeOf(() => new SegmentSealer(h.camera, h.epochs, seededRandom('x'), -1)), 'E_BAD_ARGUMENT');
});
