/**
 * Pairing vectors (test/vectors/pairing.json, docs/PROTOCOL.md §3 and §12): one complete
 * handshake with every derived value, and the owner's and camera's checks failing one by one,
 * each naming its code. Written by `npm run vectors` together with segments.json.
 */
import nacl from 'tweetnacl';
import {
  ByteWriter,
  Identity,
  PAIR_KIND,
  asciiBytes,
  base32Encode,
  concatBytes,
  crc32,
  confirmationCode,
  createPairingOffer,
  encodeQrPayload,
  fromHex,
  pairingCommitment,
  pairingId,
  sealCameraAnswer,
  sealCameraReveal,
  sealOwnerNonce,
  sealRosterDelivery,
  sha512,
  signRoster,
  toHex,
  type PairingOffer,
  type PublicIdentity,
  type RandomSource,
} from '../../src/protocol/index.js';
import { seededRandom } from '../helpers/fixtures.js';

const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const hex = toHex;
/** A low-order X25519 point (Wycheproof tcId 63). */
const LOW_ORDER_POINT = fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800');

type PairStepType = 'qr' | 'answer' | 'reveal' | 'ownerNonce' | 'roster';
interface PairStep {
  type: PairStepType;
  /** the QR text for `qr`, else the message hex */
  data: string;
}

/** A pairing message with any header and body, sealed under the offer's key (§3.3). */
function anyMessage(offer: PairingOffer, o: { version?: number; kind: number; body: Uint8Array; id?: Uint8Array }, random: RandomSource): Uint8Array {
  const header = new ByteWriter(8).raw(asciiBytes('SCP1')).u8(o.version ?? 2).u8(o.kind).u16(0).done();
  const key = sha512(asciiBytes('sealcam/pair/key/v1\0'), offer.secret, offer.owner.signPublicKey, offer.owner.boxPublicKey).slice(0, 32);
  const id = o.id ?? fromHex(pairingId(offer.secret));
  const nonce = random(24);
  return concatBytes(header, nonce, nacl.secretbox(concatBytes(header, id, o.body), nonce, key));
}

/** An answer body signed by `signer` for these keys, commitment and owner echo (§3.3 kind 3). */
function answerBody(offer: PairingOffer, o: { signer: Identity; keys: PublicIdentity; ownerEcho?: Uint8Array; commitment: Uint8Array }): Uint8Array {
  const signed = concatBytes(o.keys.signPublicKey, o.keys.boxPublicKey, o.ownerEcho ?? offer.owner.signPublicKey, o.commitment);
  return concatBytes(signed, o.signer.signer.sign(concatBytes(asciiBytes('sealcam/pair/answer/v2\0'), fromHex(pairingId(offer.secret)), signed)));
}

/** A pairing code with any flags, relay URL and bytes after it (§3.1), with a correct CRC. */
function rawQr(offer: PairingOffer, o: { flags: number; relayUrl: string; tail: Uint8Array }): string {
  const url = asciiBytes(o.relayUrl);
  const account = asciiBytes(offer.account);
  const body = new ByteWriter(108 + account.length + url.length + o.tail.length)
    .u8(1)
    .u8(o.flags)
    .raw(offer.owner.signPublicKey)
    .raw(offer.owner.boxPublicKey)
    .raw(offer.secret)
    .u64(offer.expiresAt)
    .raw(offer.provisionToken)
    .u8(account.length)
    .raw(account)
    .u8(url.length)
    .raw(url)
    .raw(o.tail)
    .done();
  return `SC1:${base32Encode(concatBytes(body, new ByteWriter(4).u32(crc32(body)).done()))}`;
}

export function buildPairingVectors() {
  const random = seededRandom('sealcam-pairing-vectors-v2');
  const owner = Identity.generate(random);
  const camera = Identity.generate(random);
  const impostor = Identity.generate(random);
  const offer = createPairingOffer({ owner, relayUrl: 'https://relay.example:8443/sc', account: 'home', provisionToken: random(16), expiresAt: T0 + 600_000, relayFingerprint: random(32) }, random);
  const qr = encodeQrPayload(offer);
  const cameraNonce = random(32);
  const ownerNonce = random(32);
  const answer = sealCameraAnswer(offer, camera, cameraNonce, random);
  const nonceMsg = sealOwnerNonce(offer, ownerNonce, random);
  const reveal = sealCameraReveal(offer, cameraNonce, random);
  const roster = signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: T0, viewers: [owner.public] });
  const delivery = sealRosterDelivery(offer, roster, random);
  const commitment = pairingCommitment(offer, camera.public, cameraNonce);
  const now = T0 + 1000;

  const flip = (b: Uint8Array, at: number, mask = 0x01) => {
    const c = b.slice();
    c[at]! ^= mask;
    return c;
  };
  const step = (type: PairStepType, b: Uint8Array | string): PairStep => ({ type, data: typeof b === 'string' ? b : hex(b) });
  const A = step('answer', answer);
  // A character of the CRC that holds no trailing bits (the last one may: changing those is E_QR_FORMAT).
  const crcChar = qr.at(-3)!;
  const otherChar = crcChar === 'A' ? 'B' : 'A';
  const impostorNonce = random(32);
  const lowOrderCamera = { signPublicKey: camera.signPublicKey, boxPublicKey: LOW_ORDER_POINT } as PublicIdentity;

  const invalid: { name: string; now: number; steps: PairStep[]; error: string }[] = [
    { name: 'qr: another prefix', now, steps: [step('qr', `SC2:${qr.slice(4)}`)], error: 'E_QR_FORMAT' },
    { name: 'qr: a lower-case base32 character', now, steps: [step('qr', `${qr.slice(0, 10)}${qr[10]!.toLowerCase()}${qr.slice(11)}`)], error: 'E_QR_FORMAT' },
    { name: 'qr: a character of the CRC changed (CRC-32 fails)', now, steps: [step('qr', `${qr.slice(0, -3)}${otherChar}${qr.slice(-2)}`)], error: 'E_QR_CHECKSUM' },
    { name: 'qr: read one millisecond after expiresAt', now: offer.expiresAt + 1, steps: [step('qr', qr)], error: 'E_PAIRING_EXPIRED' },
    { name: 'qr: a relay fingerprint (flag PIN) with an http:// relay URL', now, steps: [step('qr', rawQr(offer, { flags: 0x02, relayUrl: 'http://relay.example:8080', tail: offer.relayFingerprint! }))], error: 'E_MALFORMED' },
    { name: 'qr: flag PIN with the fingerprint cut to 31 bytes', now, steps: [step('qr', rawQr(offer, { flags: 0x02, relayUrl: offer.relayUrl, tail: offer.relayFingerprint!.subarray(0, 31) }))], error: 'E_MALFORMED' },
    { name: 'qr: unknown flag bit 2', now, steps: [step('qr', rawQr(offer, { flags: 0x06, relayUrl: offer.relayUrl, tail: offer.relayFingerprint! }))], error: 'E_UNKNOWN_FLAGS' },
    { name: 'answer: a flipped ciphertext byte', now, steps: [step('answer', flip(answer, 40))], error: 'E_PAIRING_MAC' },
    { name: 'answer: a flipped header byte (kind 3 relabelled 7)', now, steps: [step('answer', flip(answer, 5, 0x04))], error: 'E_UNKNOWN_KIND' },
    { name: 'answer: version 1', now, steps: [step('answer', anyMessage(offer, { version: 1, kind: 3, body: answerBody(offer, { signer: camera, keys: camera.public, commitment }) }, random))], error: 'E_UNSUPPORTED_VERSION' },
    { name: 'answer: bound to another pairing id', now, steps: [step('answer', anyMessage(offer, { kind: 3, id: random(16), body: answerBody(offer, { signer: camera, keys: camera.public, commitment }) }, random))], error: 'E_PAIRING_MAC' },
    { name: 'answer: opened after the code expired', now: offer.expiresAt + 1, steps: [A], error: 'E_PAIRING_EXPIRED' },
    { name: 'answer: names another owner', now, steps: [step('answer', anyMessage(offer, { kind: 3, body: answerBody(offer, { signer: camera, keys: camera.public, ownerEcho: impostor.signPublicKey, commitment }) }, random))], error: 'E_PAIRING_MAC' },
    { name: 'answer: the camera box key is a low-order point', now, steps: [step('answer', anyMessage(offer, { kind: 3, body: answerBody(offer, { signer: camera, keys: lowOrderCamera, commitment }) }, random))], error: 'E_LOW_ORDER_POINT' },
    { name: 'answer: the camera keys signed by another key', now, steps: [step('answer', anyMessage(offer, { kind: 3, body: answerBody(offer, { signer: impostor, keys: camera.public, commitment }) }, random))], error: 'E_BAD_SIGNATURE' },
    { name: 'answer: one byte short', now, steps: [step('answer', anyMessage(offer, { kind: 3, body: answerBody(offer, { signer: camera, keys: camera.public, commitment }).subarray(0, 191) }, random))], error: 'E_MALFORMED' },
    { name: 'reveal: a nonce other than the committed one', now, steps: [A, step('reveal', sealCameraReveal(offer, impostorNonce, random))], error: 'E_PAIRING_COMMITMENT' },
    { name: 'reveal: the owner nonce message where the reveal is expected', now, steps: [A, step('reveal', nonceMsg)], error: 'E_UNKNOWN_KIND' },
    { name: 'ownerNonce (camera side): a reveal where the owner nonce is expected', now, steps: [step('ownerNonce', reveal)], error: 'E_UNKNOWN_KIND' },
    { name: 'roster (camera side): delivered under another pairing secret', now, steps: [step('roster', sealRosterDelivery({ ...offer, secret: random(16) }, roster, random))], error: 'E_PAIRING_MAC' },
    { name: 'roster (camera side): signed by the impostor, not the owner in the code', now, steps: [step('roster', sealRosterDelivery(offer, signRoster(impostor, { cameraId: camera.id, rosterVersion: 1, issuedAt: T0, viewers: [impostor.public] }), random))], error: 'E_ROSTER_SIGNATURE' },
  ];

  return {
    source: 'generated by test/vectors/pairing.ts (npm run vectors) with seeded randomness "sealcam-pairing-vectors-v2"; checked by test/vectors.test.ts and by the Python reader in test/interop/',
    description: [
      'Pairing vectors for docs/PROTOCOL.md §3 (schema in §12). qr is the code the owner shows; offer is what it decodes to (relayFingerprint: flag PIN, §3.1).',
      'derived: pairingId, pairingKey, commitment (of cameraNonce) and the confirmation code both sides show.',
      'messages: the handshake in order (answer, ownerNonce, reveal, roster delivery); the owner opens answer and reveal, the camera opens ownerNonce and roster.',
      'invalid: with a fresh owner (qr, answer, reveal steps) or camera (ownerNonce, roster steps) at clock now, every step but the last succeeds and the last raises error.',
    ].join(' '),
    owner: { signPublicKey: hex(owner.signPublicKey), boxPublicKey: hex(owner.boxPublicKey), identitySecret: hex(owner.exportSecret()) },
    camera: { signPublicKey: hex(camera.signPublicKey), boxPublicKey: hex(camera.boxPublicKey), id: hex(camera.id) },
    qr,
    now,
    offer: { version: 1, ownerSignPublic: hex(owner.signPublicKey), ownerBoxPublic: hex(owner.boxPublicKey), secret: hex(offer.secret), expiresAt: offer.expiresAt, provisionToken: hex(offer.provisionToken), account: offer.account, relayUrl: offer.relayUrl, relayFingerprint: hex(offer.relayFingerprint!) },
    derived: {
      pairingId: pairingId(offer.secret),
      pairingKey: hex(sha512(asciiBytes('sealcam/pair/key/v1\0'), offer.secret, owner.signPublicKey, owner.boxPublicKey).slice(0, 32)),
      cameraNonce: hex(cameraNonce),
      ownerNonce: hex(ownerNonce),
      commitment: hex(commitment),
      confirmationCode: confirmationCode(offer, camera.public, ownerNonce, cameraNonce),
    },
    messages: { answer: hex(answer), ownerNonce: hex(nonceMsg), reveal: hex(reveal), roster: hex(delivery), rosterBody: hex(roster) },
    answerKind: PAIR_KIND.answer,
    invalid,
  };
}
