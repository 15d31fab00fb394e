/**
 * Identities (PROTOCOL.md §2). Cameras and viewers alike hold an Ed25519 signing key and an
 * X25519 box key. The id is a fingerprint of both public keys:
 *
 *   id = SHA-512("sealcam/id/v1" || 0x00 || signPublicKey(32) || boxPublicKey(32))[0..16]
 *
 * 16 bytes (128 bits) keeps envelope headers small while a second-preimage stays out of reach;
 * the full public keys are what a viewer pins, the id only selects which pinned key to use.
 */
import { asciiBytes, toHex } from './bytes.js';
import { ensure } from './errors.js';
import { KEY_BYTES, SigningKey, assertUsableBoxPublicKey, boxKeyPairFromSecret, draw, sha512, type BoxKeyPair, type RandomSource } from './primitives.js';

export { ID_BYTES } from './sizes.js';
import { ID_BYTES } from './sizes.js';
const ID_CONTEXT = asciiBytes('sealcam/id/v1\0');

export interface PublicIdentity {
  /** 16-byte fingerprint of the two public keys. */
  readonly id: Uint8Array;
  /** Ed25519 public key. */
  readonly signPublicKey: Uint8Array;
  /** X25519 public key. */
  readonly boxPublicKey: Uint8Array;
}

export function identityId(signPublicKey: Uint8Array, boxPublicKey: Uint8Array): Uint8Array {
  return sha512(ID_CONTEXT, signPublicKey, boxPublicKey).slice(0, ID_BYTES);
}

/** Build (and validate) a public identity from its two keys, as received at pairing. */
export function publicIdentity(signPublicKey: Uint8Array, boxPublicKey: Uint8Array): PublicIdentity {
  ensure(signPublicKey.length === KEY_BYTES, 'E_BAD_KEY', `Ed25519 public key: expected 32 bytes, got ${signPublicKey.length}`);
  assertUsableBoxPublicKey(boxPublicKey);
  return { id: identityId(signPublicKey, boxPublicKey), signPublicKey, boxPublicKey };
}

export function idHex(id: Uint8Array): string {
  return toHex(id);
}

/** A private identity: the camera's or a viewer's. Secrets never leave the object except via `exportSecret`. */
export class Identity implements PublicIdentity {
  readonly id: Uint8Array;
  readonly signPublicKey: Uint8Array;
  readonly boxPublicKey: Uint8Array;
  readonly signer: SigningKey;
  readonly box: BoxKeyPair;
  private readonly seed: Uint8Array;

  private constructor(secret: Uint8Array) {
    ensure(secret.length === 2 * KEY_BYTES, 'E_BAD_ARGUMENT', `identity secret: expected 64 bytes, got ${secret.length}`);
    this.seed = secret.slice(0, KEY_BYTES);
    this.signer = new SigningKey(this.seed);
    this.box = boxKeyPairFromSecret(secret.slice(KEY_BYTES));
    this.signPublicKey = this.signer.publicKey;
    this.boxPublicKey = this.box.publicKey;
    this.id = identityId(this.signPublicKey, this.boxPublicKey);
  }

  /** A fresh identity: 32 bytes of Ed25519 seed and 32 bytes of X25519 secret from `random`. */
  static generate(random: RandomSource): Identity {
    return new Identity(draw(random, 2 * KEY_BYTES));
  }

  /** Restore from the 64 bytes that `exportSecret` returned: seed(32) || x25519 secret(32). */
  static fromSecret(secret: Uint8Array): Identity {
    return new Identity(secret);
  }

  exportSecret(): Uint8Array {
    const out = new Uint8Array(2 * KEY_BYTES);
    out.set(this.seed, 0);
    out.set(this.box.secretKey, KEY_BYTES);
    return out;
  }

  get public(): PublicIdentity {
    return { id: this.id, signPublicKey: this.signPublicKey, boxPublicKey: this.boxPublicKey };
  }

  get idHex(): string {
    return toHex(this.id);
  }
}
