import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import {
  Identity,
  PairingLedger,
  QR_PREFIX,
  SealcamError,
  assertOfferFresh,
  base32Decode,
  base32Encode,
  confirmationCode,
  crc32,
  createPairingOffer,
  decodeQrPayload,
  encodeQrPayload,
  fromHex,
  openCameraAnswer,
  openRoster,
  openRosterDelivery,
  pairingId,
  sealCameraAnswer,
  sealRosterDelivery,
  signRoster,
} from '../../src/protocol/index.js';
import { codeOf } from '../helpers/codes.js';
import { T0, seededRandom } from '../helpers/fixtures.js';

const random = seededRandom('pairing');
const owner = Identity.generate(random);
const camera = Identity.generate(random);
const offerFor = (extra: Partial<Parameters<typeof createPairingOffer>[0]> = {}) =>
  createPairingOffer({ owner, relayUrl: 'http://relay.example.net:8080', account: 'home', provisionToken: random(16), expiresAt: T0 + 600_000, ...extra }, random);

test('base32 and CRC-32 match their references', (t) => {
  // RFC 4648 §10 test vectors (without padding).
  for (const [plain, b32] of [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']] as const) {
    t.is(base32Encode(new TextEncoder().encode(plain)), b32);
    t.deepEqual(base32Decode(b32), new TextEncoder().encode(plain));
  }
  t.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926); // the CRC-32 check value
});

test('the QR payload round-trips, with and without Wi-Fi, and stays alphanumeric', (t) => {
  const offer = offerFor();
  const text = encodeQrPayload(offer);
  t.true(text.startsWith(QR_PREFIX));
  t.regex(text.slice(4), /^[A-Z2-7]+$/);
  t.true(text.length <= 260, `${text.length} characters`);
  const back = decodeQrPayload(text);
  t.deepEqual(back.owner.id, owner.id);
  t.deepEqual(back.secret, offer.secret);
  t.like(back, { account: 'home', relayUrl: 'http://relay.example.net:8080', expiresAt: offer.expiresAt });
  const withWifi = decodeQrPayload(encodeQrPayload(offerFor({ wifi: { ssid: 'Kitchen 2.4', passphrase: 'correct horse battery' } })));
  t.deepEqual(withWifi.wifi, { ssid: 'Kitchen 2.4', passphrase: 'correct horse battery' });
});

test('bad pairing codes are refused, each with its own code', (t) => {
  const text = encodeQrPayload(offerFor());
  t.is(codeOf(() => decodeQrPayload('https://example.com/')), 'E_QR_FORMAT');
  t.is(codeOf(() => decodeQrPayload(`${QR_PREFIX}abc`)), 'E_QR_FORMAT');
  t.is(codeOf(() => decodeQrPayload(text.slice(0, -8))), 'E_QR_CHECKSUM');
  const flipped = text.slice(0, 40) + (text[40] === 'A' ? 'B' : 'A') + text.slice(41);
  t.is(codeOf(() => decodeQrPayload(flipped)), 'E_QR_CHECKSUM');
  const low = JSON.parse(readFileSync(new URL('../vectors/x25519-wycheproof-low-order.json', import.meta.url), 'utf8')) as { vectors: { public: string }[] };
  const lowOwner = { ...offerFor(), owner: { ...owner.public, boxPublicKey: fromHex(low.vectors[0]!.public) } };
  t.is(codeOf(() => decodeQrPayload(encodeQrPayload(lowOwner))), 'E_LOW_ORDER_POINT');
});

test('any change to a pairing code is caught; the parser throws only SealcamError', (t) => {
  const text = encodeQrPayload(offerFor());
  fc.assert(
    fc.property(fc.nat({ max: text.length - 1 }), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567:a0'), (at, ch) => {
      fc.pre(text[at] !== ch);
      const changed = text.slice(0, at) + ch + text.slice(at + 1);
      try {
        decodeQrPayload(changed);
        return false;
      } catch (e) {
        return e instanceof SealcamError;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('pairing end to end: answer, confirmation code on both sides, roster delivery', (t) => {
  const offer = offerFor();
  const scanned = decodeQrPayload(encodeQrPayload(offer)); // what the camera read through its lens
  assertOfferFresh(scanned, T0);
  const answer = sealCameraAnswer(scanned, camera, random);
  const { camera: pinned, code } = openCameraAnswer(answer, offer, T0 + 1000);
  t.deepEqual(pinned.id, camera.id);
  t.regex(code, /^\d{6}$/);
  t.is(code, confirmationCode(scanned, camera.public), 'the camera computes the same code');
  const roster = signRoster(owner, { cameraId: pinned.id, rosterVersion: 1, issuedAt: T0, viewers: [owner.public] });
  const delivered = openRosterDelivery(sealRosterDelivery(offer, roster, random), scanned);
  t.is(openRoster(delivered, scanned.owner.signPublicKey).viewers.length, 1);
  t.is(pairingId(offer.secret).length, 32);
});

test('a relay cannot read, forge or swap the answer: every change is E_PAIRING_MAC', (t) => {
  const offer = offerFor();
  const answer = sealCameraAnswer(offer, camera, random);
  // The relay answers with its own camera keys, knowing everything but the secret.
  const relayCamera = Identity.generate(seededRandom('relay-camera'));
  const guessed = { ...offer, secret: random(16) };
  t.is(codeOf(() => openCameraAnswer(sealCameraAnswer(guessed, relayCamera, random), offer, T0)), 'E_PAIRING_MAC');
  // It flips bytes of the real answer (swapping keys inside would change the ciphertext).
  for (const at of [8, 20, 40, 64, 100, answer.length - 1]) {
    const m = answer.slice();
    m[at]! ^= 1;
    t.is(codeOf(() => openCameraAnswer(m, offer, T0)), 'E_PAIRING_MAC', `byte ${at}`);
  }
  // An answer made for another pairing does not open under this one.
  t.is(codeOf(() => openCameraAnswer(sealCameraAnswer(offerFor(), camera, random), offer, T0)), 'E_PAIRING_MAC');
  // A roster delivery is not an answer.
  t.is(codeOf(() => openCameraAnswer(sealRosterDelivery(offer, new Uint8Array(10), random), offer, T0)), 'E_UNKNOWN_KIND');
});

test('expired codes, second use of a secret and low-order camera keys are refused', (t) => {
  const offer = offerFor({ expiresAt: T0 });
  t.is(codeOf(() => assertOfferFresh(offer, T0 + 1)), 'E_PAIRING_EXPIRED');
  const answer = sealCameraAnswer(offer, camera, random);
  t.is(codeOf(() => openCameraAnswer(answer, offer, T0 + 1)), 'E_PAIRING_EXPIRED');
  // One-time: once a pairing completed, the same code (or a replayed answer) is refused.
  const ledger = new PairingLedger();
  ledger.check(offer);
  openCameraAnswer(answer, offer, T0);
  ledger.record(offer);
  t.is(codeOf(() => ledger.check(offer)), 'E_PAIRING_REUSED');
  t.is(codeOf(() => new PairingLedger(ledger.ids).check(decodeQrPayload(encodeQrPayload(offer)))), 'E_PAIRING_REUSED', 'across a restart');
  // A "camera" (someone who saw the code) that offers a low-order X25519 key.
  const low = JSON.parse(readFileSync(new URL('../vectors/x25519-wycheproof-low-order.json', import.meta.url), 'utf8')) as { vectors: { public: string }[] };
  const evil = Object.assign(Object.create(Object.getPrototypeOf(camera)) as Identity, camera, { boxPublicKey: fromHex(low.vectors[2]!.public) });
  t.is(codeOf(() => openCameraAnswer(sealCameraAnswer(offer, evil, random), offer, T0)), 'E_LOW_ORDER_POINT');
});
