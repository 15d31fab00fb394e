import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import {
  CameraHandshake,
  Identity,
  OwnerHandshake,
  PAIR_KIND,
  PairingLedger,
  QR_PREFIX,
  SealcamError,
  asciiBytes,
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
  openCameraReveal,
  openOwnerNonce,
  openRoster,
  pairingCommitment,
  pairingId,
  sealCameraAnswer,
  sealCameraReveal,
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

/** Deliver `bytes` to `side`; the step it led to. */
const feed = <T>(side: { receive(b: Uint8Array, now: number): T }, bytes: Uint8Array | undefined, now = T0 + 1000): T => side.receive(bytes!, now);

test('pairing end to end: answer with commitment, owner nonce, reveal, the same code on both sides, roster delivery', (t) => {
  const offer = offerFor();
  const scanned = decodeQrPayload(encodeQrPayload(offer)); // what the camera read through its lens
  assertOfferFresh(scanned, T0);
  const ownerSide = new OwnerHandshake(offer, random);
  const cameraSide = new CameraHandshake(scanned, camera, random);
  const nonceMsg = feed(ownerSide, cameraSide.answer).reply;
  t.truthy(nonceMsg, 'the owner answers a verified answer with its nonce');
  t.is(cameraSide.code, undefined, 'the camera has no code before the owner\'s nonce');
  const reveal = feed(cameraSide, nonceMsg).reply;
  t.regex(cameraSide.code!, /^\d{6}$/);
  const done = feed(ownerSide, reveal).result!;
  t.deepEqual(done.camera.id, camera.id);
  t.is(done.code, cameraSide.code!, 'both sides show the same code');
  const roster = signRoster(owner, { cameraId: done.camera.id, rosterVersion: 1, issuedAt: T0, viewers: [owner.public] });
  const delivered = feed(cameraSide, ownerSide.sealRoster(roster)).result!;
  t.is(delivered.code, done.code);
  t.is(openRoster(delivered.rosterBytes, scanned.owner.signPublicKey).viewers.length, 1);
  t.is(ownerSide.ignored + cameraSide.ignored, 0);
  // Own messages echo back on the topic: skipped, not counted.
  t.deepEqual(feed(cameraSide, cameraSide.answer), {});
  t.is(pairingId(offer.secret).length, 32);
});

test('the order is enforced: no nonce before a verified answer, no reveal before the nonce, no roster before the reveal', (t) => {
  const offer = offerFor();
  const ownerSide = new OwnerHandshake(offer, random);
  const cameraSide = new CameraHandshake(offer, camera, random);
  // The answer carries only the commitment: it opens to keys and a 32-byte commitment, no nonce.
  const { commitment } = openCameraAnswer(cameraSide.answer, offer, T0);
  t.is(commitment.length, 32);
  t.is(codeOf(() => ownerSide.sealRoster(new Uint8Array(10))), 'E_BAD_ARGUMENT');
  // A reveal (from anyone who saw the code) before any answer: ignored, nothing sent.
  const early = feed(ownerSide, sealCameraReveal(offer, random(32), random));
  t.is(early.reply, undefined);
  t.is(early.ignored?.code, 'E_UNKNOWN_KIND');
  const nonceMsg = feed(ownerSide, cameraSide.answer).reply!;
  // The roster kind before the owner's nonce is ignored by the camera; it reveals only to the nonce.
  t.is(feed(cameraSide, sealRosterDelivery(offer, new Uint8Array(10), random)).reply, undefined);
  t.truthy(feed(cameraSide, nonceMsg).reply);
  t.is(codeOf(() => ownerSide.sealRoster(new Uint8Array(10))), 'E_BAD_ARGUMENT', 'no roster before the reveal');
});

test('the code cannot be ground: it depends on the owner\'s nonce, sent after the commitment, and a reveal must open the commitment', (t) => {
  const offer = offerFor();
  const nc = random(32);
  const [na1, na2] = [random(32), random(32)];
  // Same keys and camera nonce, another owner nonce: another code. An attacker who answers in the
  // camera's place has fixed its keys and Nc (by the commitment) before it learns Na.
  t.not(confirmationCode(offer, camera.public, na1, nc), confirmationCode(offer, camera.public, na2, nc));
  t.not(confirmationCode(offer, camera.public, na1, nc), confirmationCode(offer, camera.public, na1, random(32)));

  // The attacker saw the QR code (it knows the secret) and answers first with its own keys.
  const attacker = Identity.generate(seededRandom('attacker'));
  const attackerNc = random(32);
  const ownerSide = new OwnerHandshake(offer, random);
  const nonceMsg = feed(ownerSide, sealCameraAnswer(offer, attacker, attackerNc, random)).reply!;
  const na = openOwnerNonce(nonceMsg, offer); // the attacker reads Na, as the camera would
  // The real camera (which also answered, too late: ignored) reveals to the owner's nonce.
  const realCamera = new CameraHandshake(offer, camera, random);
  t.is(feed(ownerSide, realCamera.answer).ignored?.code, 'E_UNKNOWN_KIND', 'a second answer is ignored');
  feed(realCamera, nonceMsg);
  // Now the attacker would like to reveal an Nc' that makes its code equal the camera's. Any Nc'
  // other than the committed one is refused with a stable code, and the pairing aborts.
  const ground = random(32);
  t.not(confirmationCode(offer, attacker.public, na, ground), confirmationCode(offer, attacker.public, na, attackerNc));
  t.is(codeOf(() => feed(ownerSide, sealCameraReveal(offer, ground, random))), 'E_PAIRING_COMMITMENT');
  t.is(codeOf(() => openCameraReveal(sealCameraReveal(offer, ground, random), offer, { camera: attacker.public, commitment: pairingCommitment(offer, attacker.public, attackerNc) })), 'E_PAIRING_COMMITMENT');
  // The reveal of the committed Nc opens, and the owner's code is not the code the camera shows.
  const ownerAgain = new OwnerHandshake(offer, random);
  const na2msg = feed(ownerAgain, sealCameraAnswer(offer, attacker, attackerNc, random)).reply!;
  const realAgain = new CameraHandshake(offer, camera, random);
  feed(realAgain, na2msg);
  const ownerCode = feed(ownerAgain, sealCameraReveal(offer, attackerNc, random)).result!.code;
  t.not(ownerCode, realAgain.code, 'the codes shown on the two sides differ');
  // The real camera's reveal does not open the attacker's commitment either.
  const ownerThird = new OwnerHandshake(offer, random);
  const realThird = new CameraHandshake(offer, camera, random);
  const realReveal = feed(realThird, feed(ownerThird, sealCameraAnswer(offer, attacker, attackerNc, random)).reply).reply;
  t.is(codeOf(() => feed(ownerThird, realReveal)), 'E_PAIRING_COMMITMENT');
});

test('a man in the middle who substitutes keys on both sides gets different codes on the two screens', (t) => {
  const offer = offerFor();
  const mitm = Identity.generate(seededRandom('mitm'));
  const ownerSide = new OwnerHandshake(offer, random);
  const cameraSide = new CameraHandshake(offer, camera, random);
  // Towards the owner the MITM is the camera: it must commit before it sees Na.
  const mitmAsCamera = new CameraHandshake(offer, mitm, seededRandom('mitm-nonces'));
  const na = feed(ownerSide, mitmAsCamera.answer).reply!;
  const ownerResult = feed(ownerSide, feed(mitmAsCamera, na).reply).result!;
  // Towards the camera it is the owner: it sees the camera's commitment, picks its own Na', and
  // learns Nc only after. Whatever Na' it picks, Nc was fixed before.
  const mitmAsOwner = new OwnerHandshake(offer, seededRandom('mitm-owner'));
  const naPrime = feed(mitmAsOwner, cameraSide.answer).reply!;
  feed(cameraSide, naPrime);
  t.regex(cameraSide.code!, /^\d{6}$/);
  t.not(ownerResult.code, cameraSide.code);
  t.notDeepEqual(ownerResult.camera.id, camera.id);
});

test('messages are bound to their pairing, kind and direction: reflected or re-labelled ones are ignored', (t) => {
  const offer = offerFor();
  const ownerSide = new OwnerHandshake(offer, random);
  const cameraSide = new CameraHandshake(offer, camera, random);
  const nonceMsg = feed(ownerSide, cameraSide.answer).reply!;
  // The owner's nonce relabelled as a reveal (the header is outside the box): E_PAIRING_MAC.
  const relabelled = nonceMsg.slice();
  relabelled[5] = PAIR_KIND.reveal;
  t.is(codeOf(() => openCameraReveal(relabelled, offer, openCameraAnswer(cameraSide.answer, offer, T0))), 'E_PAIRING_MAC');
  t.is(feed(ownerSide, relabelled).ignored?.code, 'E_PAIRING_MAC');
  // An owner message reflected back to the owner side (another owner instance): not a camera kind.
  t.is(feed(new OwnerHandshake(offer, random), nonceMsg).ignored?.code, 'E_UNKNOWN_KIND');
  // The camera's answer reflected to the camera: ignored.
  t.is(feed(new CameraHandshake(offer, camera, random), cameraSide.answer).ignored?.code, 'E_UNKNOWN_KIND');
  // The pairing still completes.
  t.truthy(feed(ownerSide, feed(cameraSide, nonceMsg).reply).result);
});

test('junk on the pairing topic is ignored and counted; it cannot abort a pairing', (t) => {
  const offer = offerFor();
  const other = offerFor();
  const ownerSide = new OwnerHandshake(offer, random);
  const cameraSide = new CameraHandshake(offer, camera, random);
  const wrongMagic = cameraSide.answer.slice();
  wrongMagic.set(asciiBytes('XXXX'), 0);
  const oldVersion = cameraSide.answer.slice();
  oldVersion[4] = 1;
  const junk = [
    random(100),
    new Uint8Array(0),
    wrongMagic,
    oldVersion,
    sealCameraAnswer({ ...offer, secret: random(16) }, camera, random(32), random), // MAC'd under another key
    new CameraHandshake(other, camera, random).answer, // an answer from another pairing, replayed
  ];
  const codes = junk.map((m) => feed(ownerSide, m).ignored?.code);
  t.deepEqual(codes, ['E_BAD_MAGIC', 'E_MALFORMED', 'E_BAD_MAGIC', 'E_UNSUPPORTED_VERSION', 'E_PAIRING_MAC', 'E_PAIRING_MAC']);
  const nonceMsg = feed(ownerSide, cameraSide.answer).reply!;
  for (const m of junk) t.truthy(feed(cameraSide, m).ignored);
  const reveal = feed(cameraSide, nonceMsg).reply!;
  for (const m of [...junk, cameraSide.answer.slice(0, 40)]) t.truthy(feed(ownerSide, m).ignored);
  const done = feed(ownerSide, reveal).result!;
  for (const m of junk) t.truthy(feed(cameraSide, m).ignored);
  t.is(feed(cameraSide, ownerSide.sealRoster(new Uint8Array(10))).result?.code, done.code);
  t.is(ownerSide.ignored, 13);
  t.is(cameraSide.ignored, 12);
});

test('run(): replies are published, junk reported, the result or the aborting error settles done', async (t) => {
  const offer = offerFor();
  const cameraSide = new CameraHandshake(offer, camera, random);
  const published: Uint8Array[] = [];
  const ignored: string[] = [];
  const run = new OwnerHandshake(offer, random).run({ now: () => T0, publish: (m) => published.push(m), onIgnored: (e) => ignored.push(e.code) });
  run.deliver(random(50));
  run.deliver(cameraSide.answer);
  t.is(published.length, 1);
  run.deliver(feed(cameraSide, published[0]).reply!);
  t.is((await run.done).code, cameraSide.code!);
  t.deepEqual(ignored, ['E_BAD_MAGIC']);
  // An authentic reveal that does not open the commitment aborts.
  const run2 = new OwnerHandshake(offer, random).run({ now: () => T0, publish: () => undefined });
  run2.deliver(new CameraHandshake(offer, camera, random).answer);
  run2.deliver(sealCameraReveal(offer, random(32), random));
  t.is(await run2.done.then(() => undefined, (e: SealcamError) => e.code), 'E_PAIRING_COMMITMENT');
});

test('a relay cannot read, forge or swap the answer: every change is E_PAIRING_MAC', (t) => {
  const offer = offerFor();
  const answer = sealCameraAnswer(offer, camera, random(32), random);
  // The relay answers with its own camera keys, knowing everything but the secret.
  const relayCamera = Identity.generate(seededRandom('relay-camera'));
  const guessed = { ...offer, secret: random(16) };
  t.is(codeOf(() => openCameraAnswer(sealCameraAnswer(guessed, relayCamera, random(32), random), offer, T0)), 'E_PAIRING_MAC');
  // It flips bytes of the real answer (swapping keys inside would change the ciphertext).
  for (const at of [8, 20, 40, 64, 100, answer.length - 1]) {
    const m = answer.slice();
    m[at]! ^= 1;
    t.is(codeOf(() => openCameraAnswer(m, offer, T0)), 'E_PAIRING_MAC', `byte ${at}`);
  }
  // An answer made for another pairing does not open under this one.
  t.is(codeOf(() => openCameraAnswer(sealCameraAnswer(offerFor(), camera, random(32), random), offer, T0)), 'E_PAIRING_MAC');
  // A roster delivery is not an answer.
  t.is(codeOf(() => openCameraAnswer(sealRosterDelivery(offer, new Uint8Array(10), random), offer, T0)), 'E_UNKNOWN_KIND');
});

test('expired codes, second use of a secret and low-order camera keys are refused', (t) => {
  const offer = offerFor({ expiresAt: T0 });
  t.is(codeOf(() => assertOfferFresh(offer, T0 + 1)), 'E_PAIRING_EXPIRED');
  const answer = sealCameraAnswer(offer, camera, random(32), random);
  t.is(codeOf(() => openCameraAnswer(answer, offer, T0 + 1)), 'E_PAIRING_EXPIRED');
  t.is(codeOf(() => new OwnerHandshake(offer, random).receive(answer, T0 + 1)), 'E_PAIRING_EXPIRED', 'an authentic answer after expiry aborts');
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
  t.is(codeOf(() => openCameraAnswer(sealCameraAnswer(offer, evil, random(32), random), offer, T0)), 'E_LOW_ORDER_POINT');
});
