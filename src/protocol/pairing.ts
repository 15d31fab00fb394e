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
 * Messages on sc/v1/pair/<pairingId> ("SCP1"):
 *
 *   0    4     magic     "SCP1"
 *   4    1     version   1
 *   5    1     kind      1 = camera answer, 2 = roster delivery
 *   6    2     reserved  0
 *   8    24    nonce     random
 *   32   ..    box       secretbox(body, nonce, pairingKey)
 *
 *   answer body:  cameraSignPublic(32) ‖ cameraBoxPublic(32) ‖ ownerSignPublic(32) ‖ signature(64)
 *                 signature = Ed25519 by the camera over
 *                 "sealcam/pair/answer/v1\0" ‖ pairingId(16) ‖ cameraSignPublic ‖ cameraBoxPublic ‖ ownerSignPublic
 *   roster body:  the owner-signed roster (§4)
 *
 *   pairingId  = SHA-512("sealcam/pair/id/v1\0"  ‖ secret)[0..16]
 *   pairingKey = SHA-512("sealcam/pair/key/v1\0" ‖ secret ‖ ownerSignPublic ‖ ownerBoxPublic)[0..32]
 *   confirmation code = 6 decimal digits of u32(SHA-512("sealcam/pair/confirm/v1\0" ‖ secret ‖
 *                       ownerSignPublic ‖ cameraSignPublic ‖ cameraBoxPublic)[0..4]) mod 10^6
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
const FLAG_WIFI = 0x01;
const PAIR_MAGIC = asciiBytes('SCP1');
const ID_CONTEXT = asciiBytes('sealcam/pair/id/v1\0');
const KEY_CONTEXT = asciiBytes('sealcam/pair/key/v1\0');
const ANSWER_CONTEXT = asciiBytes('sealcam/pair/answer/v1\0');
const CONFIRM_CONTEXT = asciiBytes('sealcam/pair/confirm/v1\0');
const ACCOUNT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const URL_RE = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;

export interface PairingOffer {
  owner: PublicIdentity;
  secret: Uint8Array;
  expiresAt: number;
  provisionToken: Uint8Array;
  account: string;
  relayUrl: string;
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

export function createPairingOffer(o: { owner: Identity; relayUrl: string; account: string; provisionToken: Uint8Array; expiresAt: number; wifi?: { ssid: string; passphrase: string } }, random: RandomSource): PairingOffer {
  return { owner: o.owner.public, secret: draw(random, SECRET_BYTES), expiresAt: o.expiresAt, provisionToken: o.provisionToken, account: o.account, relayUrl: o.relayUrl, ...(o.wifi ? { wifi: o.wifi } : {}) };
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
  const w = new ByteWriter(106 + 1 + account.length + 1 + url.length + (offer.wifi ? 2 + ssid.length + psk.length : 0))
    .u8(PAIRING_VERSION)
    .u8(offer.wifi ? FLAG_WIFI : 0)
    .raw(offer.owner.signPublicKey, KEY_BYTES)
    .raw(offer.owner.boxPublicKey, KEY_BYTES)
    .raw(offer.secret, SECRET_BYTES)
    .u64(offer.expiresAt)
    .raw(offer.provisionToken, TOKEN_BYTES)
    .u8(account.length)
    .raw(account)
    .u8(url.length)
    .raw(url);
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
  if (flags & ~FLAG_WIFI) throw new SealcamError('E_UNKNOWN_FLAGS', `pairing code: unknown flags 0x${flags.toString(16)}`);
  const signPublic = r.raw(KEY_BYTES);
  const boxPublic = r.raw(KEY_BYTES);
  const secret = r.raw(SECRET_BYTES);
  const expiresAt = r.u64();
  const provisionToken = r.raw(TOKEN_BYTES);
  const account = new TextDecoder().decode(r.raw(r.u8()));
  const relayUrl = new TextDecoder().decode(r.raw(r.u8()));
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
  return { owner: publicIdentity(signPublic, boxPublic), secret, expiresAt, provisionToken, account, relayUrl, ...(wifi ? { wifi } : {}) };
}

/** The camera's check before it acts on a scanned code: not expired. */
export function assertOfferFresh(offer: PairingOffer, now: number): void {
  if (now > offer.expiresAt) throw new SealcamError('E_PAIRING_EXPIRED', `this pairing code expired at ${new Date(offer.expiresAt).toISOString()}`);
}

// ---- derived values ---------------------------------------------------------------------------

/** 16-byte id of a pairing secret; hex of it names the MQTT topic sc/v1/pair/<id>. */
export function pairingId(secret: Uint8Array): string {
  return toHex(sha512(ID_CONTEXT, secret).subarray(0, 16));
}

function pairingKey(offer: PairingOffer): Uint8Array {
  return sha512(KEY_CONTEXT, offer.secret, offer.owner.signPublicKey, offer.owner.boxPublicKey).slice(0, KEY_BYTES);
}

/** The 6-digit code both sides show, so a person can see they paired with each other. */
export function confirmationCode(offer: PairingOffer, camera: PublicIdentity): string {
  const h = sha512(CONFIRM_CONTEXT, offer.secret, offer.owner.signPublicKey, camera.signPublicKey, camera.boxPublicKey);
  return String(new DataView(h.buffer, h.byteOffset).getUint32(0) % 1_000_000).padStart(6, '0');
}

// ---- messages on the pairing topic --------------------------------------------------------------

const KIND_ANSWER = 1;
const KIND_ROSTER = 2;

function sealPairMessage(offer: PairingOffer, kind: number, body: Uint8Array, random: RandomSource): Uint8Array {
  const nonce = draw(random, NONCE_BYTES);
  const header = new ByteWriter(8 + NONCE_BYTES).raw(PAIR_MAGIC).u8(PAIRING_VERSION).u8(kind).u16(0).raw(nonce, NONCE_BYTES).done();
  return concatBytes(header, secretboxSeal(body, nonce, pairingKey(offer)));
}

function openPairMessage(bytes: Uint8Array, offer: PairingOffer, kind: number): Uint8Array {
  const r = new ByteReader(bytes, 'pairing message');
  if (!equalBytes(r.raw(4), PAIR_MAGIC)) throw new SealcamError('E_BAD_MAGIC', 'pairing message: magic is not "SCP1"');
  const version = r.u8();
  if (version !== PAIRING_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `pairing message version ${version}`);
  const k = r.u8();
  if (k !== KIND_ANSWER && k !== KIND_ROSTER) throw new SealcamError('E_UNKNOWN_KIND', `pairing message kind ${k}`);
  if (r.u16() !== 0) throw new SealcamError('E_MALFORMED', 'pairing message: reserved field is not 0');
  const nonce = r.raw(NONCE_BYTES);
  const box = r.rest();
  if (k !== kind) throw new SealcamError('E_UNKNOWN_KIND', `pairing message: expected kind ${kind}, got ${k}`);
  const body = box.length >= 16 ? nacl.secretbox.open(box, nonce, pairingKey(offer)) : null;
  if (body === null) throw new SealcamError('E_PAIRING_MAC', 'pairing message does not authenticate under this pairing secret (forged, altered, or for another pairing)');
  return body;
}

/** The camera's answer after it read the owner's code. */
export function sealCameraAnswer(offer: PairingOffer, camera: Identity, random: RandomSource): Uint8Array {
  const id = sha512(ID_CONTEXT, offer.secret).subarray(0, 16);
  const signature = camera.signer.sign(concatBytes(ANSWER_CONTEXT, id, camera.signPublicKey, camera.boxPublicKey, offer.owner.signPublicKey));
  return sealPairMessage(offer, KIND_ANSWER, concatBytes(camera.signPublicKey, camera.boxPublicKey, offer.owner.signPublicKey, signature), random);
}

/**
 * The owner's check of the camera's answer: authentic under the pairing key (E_PAIRING_MAC), for
 * this owner, not past expiry (E_PAIRING_EXPIRED), a usable X25519 key (E_LOW_ORDER_POINT), signed
 * by the camera key it carries (E_BAD_SIGNATURE). Second answers are refused by the caller's ledger
 * (E_PAIRING_REUSED, see PairingLedger).
 */
export function openCameraAnswer(bytes: Uint8Array, offer: PairingOffer, now: number): { camera: PublicIdentity; code: string } {
  assertOfferFresh(offer, now);
  const body = openPairMessage(bytes, offer, KIND_ANSWER);
  const r = new ByteReader(body, 'camera answer');
  const signPublic = r.raw(KEY_BYTES);
  const boxPublic = r.raw(KEY_BYTES);
  const ownerEcho = r.raw(KEY_BYTES);
  const signature = r.raw(SIGNATURE_BYTES);
  r.end();
  if (!equalBytes(ownerEcho, offer.owner.signPublicKey)) throw new SealcamError('E_PAIRING_MAC', 'camera answer names another owner');
  const camera = publicIdentity(signPublic, boxPublic);
  const id = sha512(ID_CONTEXT, offer.secret).subarray(0, 16);
  if (!verifySignature(signPublic, concatBytes(ANSWER_CONTEXT, id, signPublic, boxPublic, ownerEcho), signature)) {
    throw new SealcamError('E_BAD_SIGNATURE', 'camera answer is not signed by the camera key it carries');
  }
  return { camera, code: confirmationCode(offer, camera) };
}

/** The owner sends the first roster to the camera over the pairing topic. */
export function sealRosterDelivery(offer: PairingOffer, rosterBytes: Uint8Array, random: RandomSource): Uint8Array {
  return sealPairMessage(offer, KIND_ROSTER, rosterBytes, random);
}

/** The camera opens it; the roster itself is then checked against the owner key from the code (§4). */
export function openRosterDelivery(bytes: Uint8Array, offer: PairingOffer): Uint8Array {
  return openPairMessage(bytes, offer, KIND_ROSTER);
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
