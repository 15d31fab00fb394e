/**
 * Pairing through the camera's lens (PROTOCOL.md §3). The owner's phone shows a QR code; the
 * camera reads it optically, so the pairing secret never passes through the relay. The camera
 * answers over the relay, sealed under a key derived from that secret: the relay can neither read
 * nor substitute the answer.
 *
 * QR payload: the text "SC1:" followed by RFC 4648 base32 (A-Z 2-7, no padding) of:
 *
 *   off  size  field
 *   0    1     version           1
 *   1    1     flags             bit 0 WIFI: Wi-Fi credentials follow the relay URL
 *   2    32    ownerSignPublic   the owner's Ed25519 key (the camera pins it)
 *   34   32    ownerBoxPublic    the owner's X25519 key
 *   66   16    secret            one-time pairing secret (CSPRNG)
 *   82   8     expiresAt         ms since the Unix epoch; the camera refuses the code after it
 *   90   16    provisionToken    one-time relay provisioning token (raw bytes; base64url on HTTP)
 *   106  1     A                 account name length, 1..64
 *   107  A     account           [a-z0-9_-]
 *   ..   1     U                 relay API URL length, 1..120
 *   ..   U     relayUrl          http(s)://host:port of the relay's HTTP API (ASCII)
 *  [WIFI: 1 S, S ssid (UTF-8, 1..32), 1 P, P passphrase (UTF-8, 0..63)]
 *   ..   4     crc32             CRC-32 (IEEE 802.3, as zlib) of every byte before it
 *
 * Base32 keeps the text in QR alphanumeric mode; with a 30-byte URL the code is version 9 or 10
 * at error-correction level M.
 *
 * Messages on sc/v1/pair/<pairingId> ("SCP1", message version 2):
 *
 *   0    4     magic     "SCP1"
 *   4    1     version   2
 *   5    1     kind      3 = camera answer, 4 = owner nonce, 5 = camera reveal, 6 = roster delivery
 *                        (1 and 2 were version 1's answer and roster delivery)
 *   6    2     reserved  0
 *   8    24    nonce     random
 *   32   ..    box       secretbox(header(8) ‖ pairingId(16) ‖ body, nonce, pairingKey)
 *
 *   The plaintext repeats bytes 0..8 and the pairing id, so a message cannot be moved to another
 *   pairing or given another kind; the kind gives the direction (3, 5 camera → owner; 4, 6
 *   owner → camera).
 *
 *   kind 3 answer (192):  cameraSignPublic(32) ‖ cameraBoxPublic(32) ‖ ownerSignPublic(32) ‖
 *                         commitment(32) ‖ signature(64)
 *                         commitment = SHA-512("sealcam/pair/commit/v2\0" ‖ pairingId(16) ‖ cameraSignPublic ‖
 *                                      cameraBoxPublic ‖ ownerSignPublic ‖ Nc)[0..32]
 *                         signature = Ed25519 by the camera over "sealcam/pair/answer/v2\0" ‖ pairingId(16) ‖
 *                                      cameraSignPublic ‖ cameraBoxPublic ‖ ownerSignPublic ‖ commitment
 *   kind 4 owner nonce (32):  Na, fresh random; sent only after the answer verified
 *   kind 5 reveal (32):       Nc, fresh random, committed to in the answer; sent only after Na arrived
 *   kind 6 roster:            the owner-signed roster (§4); sent only after the reveal matched
 *
 *   pairingId  = SHA-512("sealcam/pair/id/v1\0"  ‖ secret)[0..16]
 *   pairingKey = SHA-512("sealcam/pair/key/v1\0" ‖ secret ‖ ownerSignPublic ‖ ownerBoxPublic)[0..32]
 *   confirmation code = 6 decimal digits of u32(SHA-512("sealcam/pair/confirm/v2\0" ‖ secret ‖
 *                       ownerSignPublic ‖ ownerBoxPublic ‖ cameraSignPublic ‖ cameraBoxPublic ‖ Na ‖ Nc)[0..4]) mod 10^6
 *
 * Commit, then reveal (as in Bluetooth LE numeric comparison): whoever answers in the camera's
 * place (anyone who saw the QR code knows the secret) is bound to its keys and Nc before it learns
 * Na, so it cannot grind keys for a code that matches the real camera's; each try succeeds with
 * probability 10^-6. Messages that do not open, or are not the kind expected next, are ignored and
 * counted: a login that only knows the topic cannot abort a pairing.
 */
import nacl from 'tweetnacl';
import { ByteReader, ByteWriter, asciiBytes, concatBytes, equalBytes, toHex } from './bytes.js';
import { SealcamError, ensure } from './errors.js';
import { publicIdentity, type Identity, type PublicIdentity } from './identity.js';
import { KEY_BYTES, NONCE_BYTES, SIGNATURE_BYTES, draw, secretboxSeal, sha512, verifySignature, type RandomSource } from './primitives.js';

export const QR_PREFIX = 'SC1:';
export const PAIRING_VERSION = 1;
export const SECRET_BYTES = 16;
export const TOKEN_BYTES = 16;
/** Version of the messages on the pairing topic (the QR payload stays at PAIRING_VERSION). */
export const PAIR_MESSAGE_VERSION = 2;
/** The owner's and the camera's handshake nonces, and the commitment. */
export const PAIR_NONCE_BYTES = 32;
const FLAG_WIFI = 0x01;
/** the relay's key fingerprint (SHA-256 of its certificate's SPKI, §15.8) follows the relay URL */
const FLAG_PIN = 0x02;
export const RELAY_FINGERPRINT_BYTES = 32;
const PAIR_MAGIC = asciiBytes('SCP1');
const ID_CONTEXT = asciiBytes('sealcam/pair/id/v1\0');
const KEY_CONTEXT = asciiBytes('sealcam/pair/key/v1\0');
const ANSWER_CONTEXT = asciiBytes('sealcam/pair/answer/v2\0');
const COMMIT_CONTEXT = asciiBytes('sealcam/pair/commit/v2\0');
const CONFIRM_CONTEXT = asciiBytes('sealcam/pair/confirm/v2\0');
const ACCOUNT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const URL_RE = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;

export interface PairingOffer {
  owner: PublicIdentity;
  secret: Uint8Array;
  expiresAt: number;
  provisionToken: Uint8Array;
  account: string;
  relayUrl: string;
  /** SHA-256 of the relay certificate's SubjectPublicKeyInfo: the camera trusts that key only (needs an https URL) */
  relayFingerprint?: Uint8Array;
  wifi?: { ssid: string; passphrase: string };
}

// ---- base32 (RFC 4648 §6) and CRC-32 ---------------------------------------------------------

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new SealcamError('E_QR_FORMAT', `QR payload: ${JSON.stringify(ch)} is not a base32 character`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) throw new SealcamError('E_QR_FORMAT', 'QR payload: base32 text has trailing bits');
  return Uint8Array.from(out);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- the QR payload ---------------------------------------------------------------------------

export function createPairingOffer(
  o: { owner: Identity; relayUrl: string; account: string; provisionToken: Uint8Array; expiresAt: number; relayFingerprint?: Uint8Array; wifi?: { ssid: string; passphrase: string } },
  random: RandomSource,
): PairingOffer {
  return {
    owner: o.owner.public,
    secret: draw(random, SECRET_BYTES),
    expiresAt: o.expiresAt,
    provisionToken: o.provisionToken,
    account: o.account,
    relayUrl: o.relayUrl,
    ...(o.relayFingerprint ? { relayFingerprint: o.relayFingerprint } : {}),
    ...(o.wifi ? { wifi: o.wifi } : {}),
  };
}

export function encodeQrPayload(offer: PairingOffer): string {
  ensure(ACCOUNT_RE.test(offer.account), 'E_BAD_ARGUMENT', `account ${JSON.stringify(offer.account)}: expected 1-64 of [a-z0-9_-]`);
  ensure(URL_RE.test(offer.relayUrl) && offer.relayUrl.length <= 120, 'E_BAD_ARGUMENT', `relay URL ${JSON.stringify(offer.relayUrl)}: expected http(s)://host[:port][/path], at most 120 characters`);
  ensure(offer.secret.length === SECRET_BYTES && offer.provisionToken.length === TOKEN_BYTES, 'E_BAD_ARGUMENT', 'secret and provisioning token must be 16 bytes');
  const account = asciiBytes(offer.account);
  const url = asciiBytes(offer.relayUrl);
  const ssid = offer.wifi ? new TextEncoder().encode(offer.wifi.ssid) : new Uint8Array(0);
  const psk = offer.wifi ? new TextEncoder().encode(offer.wifi.passphrase) : new Uint8Array(0);
  if (offer.wifi) ensure(ssid.length >= 1 && ssid.length <= 32 && psk.length <= 63, 'E_BAD_ARGUMENT', 'Wi-Fi: SSID 1-32 bytes, passphrase 0-63 bytes');
  const pin = offer.relayFingerprint;
  if (pin) ensure(pin.length === RELAY_FINGERPRINT_BYTES && offer.relayUrl.startsWith('https://'), 'E_BAD_ARGUMENT', 'a relay fingerprint is 32 bytes and goes with an https:// relay URL');
  const w = new ByteWriter(106 + 1 + account.length + 1 + url.length + (pin ? RELAY_FINGERPRINT_BYTES : 0) + (offer.wifi ? 2 + ssid.length + psk.length : 0))
    .u8(PAIRING_VERSION)
    .u8((offer.wifi ? FLAG_WIFI : 0) | (pin ? FLAG_PIN : 0))
    .raw(offer.owner.signPublicKey, KEY_BYTES)
    .raw(offer.owner.boxPublicKey, KEY_BYTES)
    .raw(offer.secret, SECRET_BYTES)
    .u64(offer.expiresAt)
    .raw(offer.provisionToken, TOKEN_BYTES)
    .u8(account.length)
    .raw(account)
    .u8(url.length)
    .raw(url);
  if (pin) w.raw(pin, RELAY_FINGERPRINT_BYTES);
  if (offer.wifi) w.u8(ssid.length).raw(ssid).u8(psk.length).raw(psk);
  const body = w.done();
  const crc = new ByteWriter(4).u32(crc32(body)).done();
  return QR_PREFIX + base32Encode(concatBytes(body, crc));
}

/** Decode and check a scanned QR text (E_QR_FORMAT, E_QR_CHECKSUM, E_UNSUPPORTED_VERSION, E_UNKNOWN_FLAGS, E_MALFORMED, E_LOW_ORDER_POINT). */
export function decodeQrPayload(text: string): PairingOffer {
  if (!text.startsWith(QR_PREFIX)) throw new SealcamError('E_QR_FORMAT', 'not a sealcam pairing code (expected the prefix "SC1:")');
  if (text.length > 600) throw new SealcamError('E_QR_FORMAT', 'pairing code too long');
  const bytes = base32Decode(text.slice(QR_PREFIX.length));
  if (bytes.length < 5) throw new SealcamError('E_QR_FORMAT', 'pairing code too short');
  const body = bytes.subarray(0, bytes.length - 4);
  const crc = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0);
  if (crc32(body) !== crc) throw new SealcamError('E_QR_CHECKSUM', 'pairing code checksum does not match (misread or altered)');
  const r = new ByteReader(body, 'pairing code');
  const version = r.u8();
  if (version !== PAIRING_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `pairing code version ${version} is not supported`);
  const flags = r.u8();
  if (flags & ~(FLAG_WIFI | FLAG_PIN)) throw new SealcamError('E_UNKNOWN_FLAGS', `pairing code: unknown flags 0x${flags.toString(16)}`);
  const signPublic = r.raw(KEY_BYTES);
  const boxPublic = r.raw(KEY_BYTES);
  const secret = r.raw(SECRET_BYTES);
  const expiresAt = r.u64();
  const provisionToken = r.raw(TOKEN_BYTES);
  const account = new TextDecoder().decode(r.raw(r.u8()));
  const relayUrl = new TextDecoder().decode(r.raw(r.u8()));
  const relayFingerprint = flags & FLAG_PIN ? r.raw(RELAY_FINGERPRINT_BYTES) : undefined;
  let wifi: PairingOffer['wifi'];
  if (flags & FLAG_WIFI) {
    const dec = new TextDecoder('utf-8', { fatal: true });
    try {
      wifi = { ssid: dec.decode(r.raw(r.u8())), passphrase: dec.decode(r.raw(r.u8())) };
    } catch (e) {
      if (SealcamError.is(e)) throw e;
      throw new SealcamError('E_MALFORMED', 'pairing code: Wi-Fi credentials are not UTF-8');
    }
  }
  r.end();
  if (!ACCOUNT_RE.test(account)) throw new SealcamError('E_MALFORMED', 'pairing code: bad account name');
  if (!URL_RE.test(relayUrl)) throw new SealcamError('E_MALFORMED', 'pairing code: bad relay URL');
  if (relayFingerprint && !relayUrl.startsWith('https://')) throw new SealcamError('E_MALFORMED', 'pairing code: a relay fingerprint needs an https:// relay URL');
  return { owner: publicIdentity(signPublic, boxPublic), secret, expiresAt, provisionToken, account, relayUrl, ...(relayFingerprint ? { relayFingerprint } : {}), ...(wifi ? { wifi } : {}) };
}

/** The camera's check before it acts on a scanned code: not expired. */
export function assertOfferFresh(offer: PairingOffer, now: number): void {
  if (now > offer.expiresAt) throw new SealcamError('E_PAIRING_EXPIRED', `this pairing code expired at ${new Date(offer.expiresAt).toISOString()}`);
}

// ---- derived values ---------------------------------------------------------------------------

function pairingIdBytes(secret: Uint8Array): Uint8Array {
  return sha512(ID_CONTEXT, secret).slice(0, 16);
}

/** 16-byte id of a pairing secret; hex of it names the MQTT topic sc/v1/pair/<id>. */
export function pairingId(secret: Uint8Array): string {
  return toHex(pairingIdBytes(secret));
}

function pairingKey(offer: PairingOffer): Uint8Array {
  return sha512(KEY_CONTEXT, offer.secret, offer.owner.signPublicKey, offer.owner.boxPublicKey).slice(0, KEY_BYTES);
}

/** The camera's commitment to its nonce, sent in its answer before it sees the owner's nonce. */
export function pairingCommitment(offer: PairingOffer, camera: PublicIdentity, cameraNonce: Uint8Array): Uint8Array {
  ensure(cameraNonce.length === PAIR_NONCE_BYTES, 'E_BAD_ARGUMENT', `camera nonce: expected ${PAIR_NONCE_BYTES} bytes`);
  return sha512(COMMIT_CONTEXT, pairingIdBytes(offer.secret), camera.signPublicKey, camera.boxPublicKey, offer.owner.signPublicKey, cameraNonce).slice(0, PAIR_NONCE_BYTES);
}

/**
 * The 6-digit code both sides show, so a person can see they paired with each other. It depends
 * on both nonces: the camera committed to its nonce before it saw the owner's, so whoever answers
 * in the camera's place cannot choose keys or nonce to make it come out equal (PROTOCOL.md §3.4).
 */
export function confirmationCode(offer: PairingOffer, camera: PublicIdentity, ownerNonce: Uint8Array, cameraNonce: Uint8Array): string {
  ensure(ownerNonce.length === PAIR_NONCE_BYTES && cameraNonce.length === PAIR_NONCE_BYTES, 'E_BAD_ARGUMENT', `pairing nonces: expected ${PAIR_NONCE_BYTES} bytes each`);
  const h = sha512(CONFIRM_CONTEXT, offer.secret, offer.owner.signPublicKey, offer.owner.boxPublicKey, camera.signPublicKey, camera.boxPublicKey, ownerNonce, cameraNonce);
  return String(new DataView(h.buffer, h.byteOffset).getUint32(0) % 1_000_000).padStart(6, '0');
}

// ---- messages on the pairing topic --------------------------------------------------------------

/** Message kinds of version 2. Kinds 1 and 2 were version 1's answer and roster delivery. */
export const PAIR_KIND = { answer: 3, ownerNonce: 4, reveal: 5, roster: 6 } as const;
const KINDS: readonly number[] = Object.values(PAIR_KIND);

function pairHeader(kind: number): Uint8Array {
  return new ByteWriter(8).raw(PAIR_MAGIC).u8(PAIR_MESSAGE_VERSION).u8(kind).u16(0).done();
}

function sealPairMessage(offer: PairingOffer, kind: number, body: Uint8Array, random: RandomSource): Uint8Array {
  const nonce = draw(random, NONCE_BYTES);
  const header = pairHeader(kind);
  return concatBytes(header, nonce, secretboxSeal(concatBytes(header, pairingIdBytes(offer.secret), body), nonce, pairingKey(offer)));
}

/**
 * Open the envelope of any message on the pairing topic. Everything it refuses (E_MALFORMED,
 * E_BAD_MAGIC, E_UNSUPPORTED_VERSION, E_UNKNOWN_KIND, E_PAIRING_MAC) is what anyone who can
 * publish on the topic can send: the handshakes ignore and count it.
 */
function openPairMessage(bytes: Uint8Array, offer: PairingOffer): { kind: number; body: Uint8Array } {
  const r = new ByteReader(bytes, 'pairing message');
  if (!equalBytes(r.raw(4), PAIR_MAGIC)) throw new SealcamError('E_BAD_MAGIC', 'pairing message: magic is not "SCP1"');
  const version = r.u8();
  if (version !== PAIR_MESSAGE_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `pairing message version ${version}`);
  const kind = r.u8();
  if (!KINDS.includes(kind)) throw new SealcamError('E_UNKNOWN_KIND', `pairing message kind ${kind}`);
  if (r.u16() !== 0) throw new SealcamError('E_MALFORMED', 'pairing message: reserved field is not 0');
  const nonce = r.raw(NONCE_BYTES);
  const box = r.rest();
  const plain = box.length >= 16 ? nacl.secretbox.open(box, nonce, pairingKey(offer)) : null;
  const bound = concatBytes(pairHeader(kind), pairingIdBytes(offer.secret));
  if (plain === null || plain.length < bound.length || !equalBytes(plain.subarray(0, bound.length), bound)) {
    throw new SealcamError('E_PAIRING_MAC', 'pairing message does not authenticate under this pairing secret (forged, altered, reflected, or for another pairing)');
  }
  return { kind, body: plain.slice(bound.length) };
}

function openPairMessageOf(bytes: Uint8Array, offer: PairingOffer, kind: number): Uint8Array {
  const m = openPairMessage(bytes, offer);
  if (m.kind !== kind) throw new SealcamError('E_UNKNOWN_KIND', `pairing message: expected kind ${kind}, got ${m.kind}`);
  return m.body;
}

function nonceBody(body: Uint8Array, what: string): Uint8Array {
  const r = new ByteReader(body, what);
  const nonce = r.raw(PAIR_NONCE_BYTES);
  r.end();
  return nonce;
}

function sealCameraAnswerBody(offer: PairingOffer, camera: Identity, cameraNonce: Uint8Array): Uint8Array {
  const signed = concatBytes(camera.signPublicKey, camera.boxPublicKey, offer.owner.signPublicKey, pairingCommitment(offer, camera.public, cameraNonce));
  return concatBytes(signed, camera.signer.sign(concatBytes(ANSWER_CONTEXT, pairingIdBytes(offer.secret), signed)));
}

/** Step 1, camera → owner: its keys and a commitment to `cameraNonce`, signed by the camera. */
export function sealCameraAnswer(offer: PairingOffer, camera: Identity, cameraNonce: Uint8Array, random: RandomSource): Uint8Array {
  return sealPairMessage(offer, PAIR_KIND.answer, sealCameraAnswerBody(offer, camera, cameraNonce), random);
}

export interface CameraAnswer {
  camera: PublicIdentity;
  commitment: Uint8Array;
}

function answerBody(body: Uint8Array, offer: PairingOffer, now: number): CameraAnswer {
  assertOfferFresh(offer, now);
  const r = new ByteReader(body, 'camera answer');
  const signPublic = r.raw(KEY_BYTES);
  const boxPublic = r.raw(KEY_BYTES);
  const ownerEcho = r.raw(KEY_BYTES);
  const commitment = r.raw(PAIR_NONCE_BYTES);
  const signature = r.raw(SIGNATURE_BYTES);
  r.end();
  if (!equalBytes(ownerEcho, offer.owner.signPublicKey)) throw new SealcamError('E_PAIRING_MAC', 'camera answer names another owner');
  const camera = publicIdentity(signPublic, boxPublic);
  if (!verifySignature(signPublic, concatBytes(ANSWER_CONTEXT, pairingIdBytes(offer.secret), signPublic, boxPublic, ownerEcho, commitment), signature)) {
    throw new SealcamError('E_BAD_SIGNATURE', 'camera answer is not signed by the camera key it carries');
  }
  return { camera, commitment };
}

/**
 * The owner's check of the camera's answer: the message (E_BAD_MAGIC, E_UNSUPPORTED_VERSION,
 * E_UNKNOWN_KIND, E_MALFORMED, E_PAIRING_MAC), not past expiry (E_PAIRING_EXPIRED), for this
 * owner (E_PAIRING_MAC), usable keys (E_BAD_KEY, E_LOW_ORDER_POINT), signed by the camera key it
 * carries (E_BAD_SIGNATURE). Second answers are refused by the caller's ledger (E_PAIRING_REUSED).
 */
export function openCameraAnswer(bytes: Uint8Array, offer: PairingOffer, now: number): CameraAnswer {
  return answerBody(openPairMessageOf(bytes, offer, PAIR_KIND.answer), offer, now);
}

/** Step 2, owner → camera: the owner's nonce, sent only once the answer (and its commitment) verified. */
export function sealOwnerNonce(offer: PairingOffer, ownerNonce: Uint8Array, random: RandomSource): Uint8Array {
  ensure(ownerNonce.length === PAIR_NONCE_BYTES, 'E_BAD_ARGUMENT', `owner nonce: expected ${PAIR_NONCE_BYTES} bytes`);
  return sealPairMessage(offer, PAIR_KIND.ownerNonce, ownerNonce, random);
}

export function openOwnerNonce(bytes: Uint8Array, offer: PairingOffer): Uint8Array {
  return nonceBody(openPairMessageOf(bytes, offer, PAIR_KIND.ownerNonce), 'owner nonce');
}

/** Step 3, camera → owner: the nonce it committed to, sent only after it received the owner's. */
export function sealCameraReveal(offer: PairingOffer, cameraNonce: Uint8Array, random: RandomSource): Uint8Array {
  ensure(cameraNonce.length === PAIR_NONCE_BYTES, 'E_BAD_ARGUMENT', `camera nonce: expected ${PAIR_NONCE_BYTES} bytes`);
  return sealPairMessage(offer, PAIR_KIND.reveal, cameraNonce, random);
}

function revealBody(body: Uint8Array, offer: PairingOffer, answer: CameraAnswer): Uint8Array {
  const cameraNonce = nonceBody(body, 'camera reveal');
  if (!equalBytes(pairingCommitment(offer, answer.camera, cameraNonce), answer.commitment)) {
    throw new SealcamError('E_PAIRING_COMMITMENT', 'the camera revealed a nonce other than the one it committed to in its answer (someone else who saw the code answered)');
  }
  return cameraNonce;
}

/** The owner's check of the reveal against the answer's commitment (E_PAIRING_COMMITMENT). */
export function openCameraReveal(bytes: Uint8Array, offer: PairingOffer, answer: CameraAnswer): Uint8Array {
  return revealBody(openPairMessageOf(bytes, offer, PAIR_KIND.reveal), offer, answer);
}

/** Step 4, owner → camera: the first roster. */
export function sealRosterDelivery(offer: PairingOffer, rosterBytes: Uint8Array, random: RandomSource): Uint8Array {
  return sealPairMessage(offer, PAIR_KIND.roster, rosterBytes, random);
}

/** The camera opens it; the roster itself is then checked against the owner key from the code (§4). */
export function openRosterDelivery(bytes: Uint8Array, offer: PairingOffer): Uint8Array {
  return openPairMessageOf(bytes, offer, PAIR_KIND.roster);
}

// ---- the two sides of the handshake --------------------------------------------------------------

/** What one message on the pairing topic led to. */
export interface PairingStep<T> {
  /** publish this on the pairing topic */
  reply?: Uint8Array;
  /** the handshake is complete */
  result?: T;
  /** the message was ignored (and counted): why */
  ignored?: SealcamError;
}

export interface PairingRun<T> {
  deliver(bytes: Uint8Array): void;
  fail(e: unknown): void;
  done: Promise<T>;
}

/**
 * One side of the handshake, fed every message on the pairing topic. A message that does not
 * open under this pairing (anyone who can publish on the topic can send one), or that is not the
 * kind this side expects next, is ignored and counted: it cannot abort the pairing. A message that
 * opens and is of the expected kind but fails a check came from someone who knows the secret,
 * and aborts (the error is thrown). The side's own messages echo back and are skipped.
 */
abstract class PairingHandshake<T> {
  /** messages ignored so far */
  ignored = 0;
  private readonly sent: Uint8Array[] = [];
  private finished = false;
  protected abstract expecting: number | null;

  protected constructor(
    readonly offer: PairingOffer,
    protected readonly random: RandomSource,
  ) {}

  receive(bytes: Uint8Array, now: number): PairingStep<T> {
    if (this.sent.some((m) => equalBytes(m, bytes))) return {};
    let m: { kind: number; body: Uint8Array };
    try {
      m = openPairMessage(bytes, this.offer);
    } catch (e) {
      if (!SealcamError.is(e)) throw e;
      return this.ignore(e);
    }
    if (m.kind !== this.expecting) return this.ignore(new SealcamError('E_UNKNOWN_KIND', `pairing message of kind ${m.kind} ignored (expecting ${this.expecting ?? 'nothing'})`));
    return this.step(m.body, now);
  }

  /**
   * Drive the handshake from a message source: `deliver` each message on the topic; replies go to
   * `publish`, ignored messages to `onIgnored`; `done` settles with the result, or with the error
   * that aborted the handshake, or with the one passed to `fail` (a timeout, a broken connection).
   */
  run(o: { now: () => number; publish: (message: Uint8Array) => unknown; onIgnored?: (e: SealcamError) => void }): PairingRun<T> {
    let resolve!: (r: T) => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    done.catch(() => undefined); // settled before anyone awaits it is not an unhandled rejection
    const deliver = (bytes: Uint8Array): void => {
      if (this.finished) return;
      try {
        const s = this.receive(bytes, o.now());
        if (s.ignored) o.onIgnored?.(s.ignored);
        if (s.reply) Promise.resolve(o.publish(s.reply)).catch(fail);
        if (s.result) {
          this.finished = true;
          resolve(s.result);
        }
      } catch (e) {
        fail(e);
      }
    };
    const fail = (e: unknown): void => {
      this.finished = true;
      reject(e);
    };
    return { deliver, fail, done };
  }

  protected abstract step(body: Uint8Array, now: number): PairingStep<T>;

  protected seal(kind: number, body: Uint8Array): Uint8Array {
    const m = sealPairMessage(this.offer, kind, body, this.random);
    this.sent.push(m);
    return m;
  }

  private ignore(e: SealcamError): PairingStep<T> {
    this.ignored++;
    return { ignored: e };
  }
}

/** The owner: waits for an answer, sends its nonce, checks the reveal; then may seal the roster. */
export class OwnerHandshake extends PairingHandshake<{ camera: PublicIdentity; code: string }> {
  protected expecting: number | null = PAIR_KIND.answer;
  private answer?: CameraAnswer;
  private ownerNonce?: Uint8Array;

  constructor(offer: PairingOffer, random: RandomSource) {
    super(offer, random);
  }

  protected step(body: Uint8Array, now: number): PairingStep<{ camera: PublicIdentity; code: string }> {
    if (!this.answer || !this.ownerNonce) {
      this.answer = answerBody(body, this.offer, now);
      this.ownerNonce = draw(this.random, PAIR_NONCE_BYTES);
      this.expecting = PAIR_KIND.reveal;
      return { reply: this.seal(PAIR_KIND.ownerNonce, this.ownerNonce) };
    }
    const cameraNonce = revealBody(body, this.offer, this.answer);
    this.expecting = null;
    return { result: { camera: this.answer.camera, code: confirmationCode(this.offer, this.answer.camera, this.ownerNonce, cameraNonce) } };
  }

  /** The first roster, once the handshake is complete. */
  sealRoster(rosterBytes: Uint8Array): Uint8Array {
    ensure(this.answer && this.expecting === null, 'E_BAD_ARGUMENT', 'the roster is sent only after the camera revealed its nonce');
    return this.seal(PAIR_KIND.roster, rosterBytes);
  }
}

/** The camera: its answer is ready at once; it reveals its nonce when the owner's arrives, then waits for the roster. */
export class CameraHandshake extends PairingHandshake<{ rosterBytes: Uint8Array; code: string }> {
  protected expecting: number | null = PAIR_KIND.ownerNonce;
  /** step 1: publish this first */
  readonly answer: Uint8Array;
  /** the confirmation code, once the owner's nonce arrived */
  code?: string;
  private readonly cameraNonce: Uint8Array;
  private readonly camera: PublicIdentity;

  constructor(offer: PairingOffer, camera: Identity, random: RandomSource) {
    super(offer, random);
    this.camera = camera.public;
    this.cameraNonce = draw(random, PAIR_NONCE_BYTES);
    this.answer = this.seal(PAIR_KIND.answer, sealCameraAnswerBody(offer, camera, this.cameraNonce));
  }

  protected step(body: Uint8Array): PairingStep<{ rosterBytes: Uint8Array; code: string }> {
    if (this.code === undefined) {
      this.code = confirmationCode(this.offer, this.camera, nonceBody(body, 'owner nonce'), this.cameraNonce);
      this.expecting = PAIR_KIND.roster;
      return { reply: this.seal(PAIR_KIND.reveal, this.cameraNonce) };
    }
    this.expecting = null;
    return { result: { rosterBytes: body, code: this.code } };
  }
}

/**
 * One-time use of pairing secrets: each side records the ids it has completed and refuses them
 * again (E_PAIRING_REUSED). Persist `ids` to keep the promise across restarts.
 */
export class PairingLedger {
  readonly ids: Set<string>;
  constructor(ids: Iterable<string> = []) {
    this.ids = new Set(ids);
  }
  check(offer: PairingOffer): void {
    if (this.ids.has(pairingId(offer.secret))) throw new SealcamError('E_PAIRING_REUSED', 'this pairing code was already used');
  }
  record(offer: PairingOffer): void {
    this.ids.add(pairingId(offer.secret));
  }
}

// ---- household: a viewer's enrollment code --------------------------------------------------

/**
 * A household member's viewer shows this code; the owner scans it (or pastes it) and adds the
 * viewer to a camera's roster. Text "SCV1:" + base32 of:
 *
 *   0    1     version           1
 *   1    32    signPublicKey     the viewer's Ed25519 key
 *   33   32    boxPublicKey      the viewer's X25519 key
 *   65   4     crc32             of bytes 0..65
 */
export const VIEWER_CODE_PREFIX = 'SCV1:';

export function encodeViewerCode(viewer: PublicIdentity): string {
  const body = new ByteWriter(65).u8(PAIRING_VERSION).raw(viewer.signPublicKey, KEY_BYTES).raw(viewer.boxPublicKey, KEY_BYTES).done();
  return VIEWER_CODE_PREFIX + base32Encode(concatBytes(body, new ByteWriter(4).u32(crc32(body)).done()));
}

export function decodeViewerCode(text: string): PublicIdentity {
  if (!text.startsWith(VIEWER_CODE_PREFIX)) throw new SealcamError('E_QR_FORMAT', 'not a sealcam viewer code (expected the prefix "SCV1:")');
  const bytes = base32Decode(text.slice(VIEWER_CODE_PREFIX.length));
  if (bytes.length !== 69) throw new SealcamError('E_QR_FORMAT', `viewer code: ${bytes.length} bytes, expected 69`);
  if (crc32(bytes.subarray(0, 65)) !== new DataView(bytes.buffer, bytes.byteOffset + 65, 4).getUint32(0)) throw new SealcamError('E_QR_CHECKSUM', 'viewer code checksum does not match');
  if (bytes[0] !== PAIRING_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `viewer code version ${bytes[0]}`);
  return publicIdentity(bytes.slice(1, 33), bytes.slice(33, 65));
}
