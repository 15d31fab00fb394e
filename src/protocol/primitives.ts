/**
 * The cryptographic primitives, each wrapped once. This is the one place where tweetnacl's
 * `null` ("open failed") becomes a typed SealcamError, and the one place where shared
 * secrets are checked for low-order points (RFC 7748 §6.1, Wycheproof "ZeroSharedSecret").
 *
 * - XSalsa20-Poly1305 secretbox and X25519 come from tweetnacl.
 * - SHA-512 and Ed25519 come from node:crypto: tweetnacl's JS SHA-512 makes signing 1 MB take
 *   92 ms. node:crypto's Ed25519 is RFC 8032 and byte-identical to tweetnacl's for the same seed
 *   (test/protocol/primitives.test.ts checks both against RFC 8032 vectors). A browser build
 *   substitutes a module with the same exports backed by tweetnacl and WebCrypto.
 */
import nacl from 'tweetnacl';
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { SealcamError, ensure } from './errors.js';
import { concatBytes, isAllZero, toHex } from './bytes.js';
import { KEY_BYTES, MAC_BYTES, SIGNATURE_BYTES } from './sizes.js';

export { HASH_BYTES, KEY_BYTES, MAC_BYTES, NONCE_BYTES, SIGNATURE_BYTES } from './sizes.js';
export { Sha512, sha512 } from './hash.js';

/**
 * The only source of randomness in src/protocol. It is always passed in, so tests can inject a
 * deterministic (or deliberately broken) source; production passes `systemRandom`.
 */
export type RandomSource = (length: number) => Uint8Array;

export const systemRandom: RandomSource = (length) => {
  const out = new Uint8Array(length);
  // getRandomValues fills at most 65,536 bytes per call (WebCrypto quota).
  for (let off = 0; off < length; off += 65_536) globalThis.crypto.getRandomValues(out.subarray(off, Math.min(length, off + 65_536)));
  return out;
};

/** Draw `length` bytes and check that the source returned what was asked. */
export function draw(random: RandomSource, length: number): Uint8Array {
  const out = random(length);
  ensure(out instanceof Uint8Array && out.length === length, 'E_BAD_ARGUMENT', `random source: expected ${length} bytes`);
  return out;
}

// ---- Ed25519 (RFC 8032) ----------------------------------------------------------------

/** DER prefixes that wrap a raw 32-byte Ed25519 seed / public key (RFC 8410). */
const PKCS8_ED25519_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** An Ed25519 signing key from its 32-byte seed. The KeyObject is cached for speed. */
export class SigningKey {
  readonly publicKey: Uint8Array;
  private readonly key: KeyObject;

  constructor(seed: Uint8Array) {
    ensure(seed.length === KEY_BYTES, 'E_BAD_ARGUMENT', `Ed25519 seed: expected 32 bytes, got ${seed.length}`);
    // A plain Uint8Array works here (Node's types ask for a Buffer); it keeps this file free of Buffer for browser bundles.
    this.key = createPrivateKey({ key: concatBytes(PKCS8_ED25519_PREFIX, seed) as Buffer, format: 'der', type: 'pkcs8' });
    this.publicKey = nacl.sign.keyPair.fromSeed(seed).publicKey;
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, message, this.key));
  }
}

const verifyKeyCache = new Map<string, KeyObject>();

function verifyKey(publicKey: Uint8Array): KeyObject {
  const id = toHex(publicKey);
  let key = verifyKeyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: concatBytes(SPKI_ED25519_PREFIX, publicKey) as Buffer, format: 'der', type: 'spki' });
    if (verifyKeyCache.size > 1024) verifyKeyCache.clear();
    verifyKeyCache.set(id, key);
  }
  return key;
}

/**
 * True iff `signature` is a valid RFC 8032 Ed25519 signature of `message` by `publicKey`. A key
 * that is not a valid point simply fails to verify.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return nodeVerify(null, message, verifyKey(publicKey), signature);
  } catch {
    return false;
  }
}

// ---- X25519 (RFC 7748) and secretbox -----------------------------------------------------

export interface BoxKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function boxKeyPairFromSecret(secretKey: Uint8Array): BoxKeyPair {
  ensure(secretKey.length === KEY_BYTES, 'E_BAD_ARGUMENT', `X25519 secret key: expected 32 bytes, got ${secretKey.length}`);
  const kp = nacl.box.keyPair.fromSecretKey(secretKey);
  return { publicKey: kp.publicKey, secretKey: kp.secretKey };
}

/** X25519(scalar, u) — raw RFC 7748 function, exposed for the vectors. */
export function x25519(scalar: Uint8Array, u: Uint8Array): Uint8Array {
  ensure(scalar.length === KEY_BYTES && u.length === KEY_BYTES, 'E_BAD_ARGUMENT', 'x25519: expected 32-byte scalar and u');
  return nacl.scalarMult(scalar, u);
}

/**
 * The nacl.box precomputed key between our secret and their public key, refusing low-order
 * points: if X25519 yields all zeros (RFC 7748 §6.1) the peer chose a point that pins the
 * "shared" secret to a constant the relay also knows, so we raise E_LOW_ORDER_POINT.
 */
export function boxSharedKey(theirPublic: Uint8Array, mySecret: Uint8Array): Uint8Array {
  ensure(theirPublic.length === KEY_BYTES, 'E_BAD_KEY', `X25519 public key: expected 32 bytes, got ${theirPublic.length}`);
  const shared = x25519(mySecret, theirPublic);
  if (isAllZero(shared)) throw new SealcamError('E_LOW_ORDER_POINT', 'X25519 public key is a low-order point (all-zero shared secret)');
  return nacl.box.before(theirPublic, mySecret);
}

/** Reject an X25519 public key that would give an all-zero shared secret with any scalar. */
export function assertUsableBoxPublicKey(publicKey: Uint8Array): void {
  ensure(publicKey.length === KEY_BYTES, 'E_BAD_KEY', `X25519 public key: expected 32 bytes, got ${publicKey.length}`);
  // Any clamped scalar maps every low-order point to zero, so one probe with a fixed scalar suffices.
  const probe = new Uint8Array(KEY_BYTES).fill(0x5a);
  if (isAllZero(x25519(probe, publicKey))) throw new SealcamError('E_LOW_ORDER_POINT', 'X25519 public key is a low-order point');
}

export function secretboxSeal(plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  return nacl.secretbox(plaintext, nonce, key);
}

/** Open a secretbox; failure (tweetnacl's `null`) becomes `E_DECRYPT` here and only here. */
export function secretboxOpen(ciphertext: Uint8Array, nonce: Uint8Array, key: Uint8Array, what: string): Uint8Array {
  const out = ciphertext.length >= MAC_BYTES ? nacl.secretbox.open(ciphertext, nonce, key) : null;
  if (out === null) throw new SealcamError('E_DECRYPT', `${what}: authentication failed (wrong key or tampered bytes)`);
  return out;
}
