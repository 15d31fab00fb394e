/**
 * Proof of the camera's key when it redeems a provisioning token (PROTOCOL.md §15.6,
 * `POST /v1/provision`). The camera signs the token and its own id with its identity's Ed25519
 * key; the relay recomputes the id from the two public keys (§2) and checks the signature, so a
 * token can only ever make a login for the camera that holds the key behind the id.
 *
 *   message   = "sealcam/provision/v1\0" (21) || token (16, raw) || cameraId (16)   → 53 bytes
 *   signature = Ed25519(camera signing key, message)                                    64 bytes
 *
 * The relay imports this file, so it reaches neither identity.ts nor primitives.ts (the relay
 * never imports a decryption path, nor tweetnacl, test/layout.test.ts): the id is computed here
 * from hash.ts, and the signature checked with node:crypto (RFC 8032 Ed25519).
 */
import { createPublicKey, verify } from 'node:crypto';
import { asciiBytes, concatBytes, equalBytes } from './bytes.js';
import { ensure } from './errors.js';
import { sha512 } from './hash.js';
import { ID_BYTES, KEY_BYTES, SIGNATURE_BYTES } from './sizes.js';

/** DER prefix that wraps a raw 32-byte Ed25519 public key (RFC 8410). */
const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PROVISION_CONTEXT = asciiBytes('sealcam/provision/v1\0');
/** §2: id = SHA-512("sealcam/id/v1\0" || signPublicKey || boxPublicKey)[0..16]; identity.ts computes the same. */
const ID_CONTEXT = asciiBytes('sealcam/id/v1\0');
/** A provisioning token is 16 random bytes (§3.1 `provisionToken`). */
export const PROVISION_TOKEN_BYTES = 16;

export interface ProvisioningProof {
  cameraId: Uint8Array;
  signPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
  signature: Uint8Array;
}

/** The bytes the camera signs (its identity's signer signs them: `identity.signer.sign(…)`). */
export function provisionMessage(token: Uint8Array, cameraId: Uint8Array): Uint8Array {
  ensure(token.length === PROVISION_TOKEN_BYTES, 'E_BAD_ARGUMENT', `provisioning token: expected ${PROVISION_TOKEN_BYTES} bytes, got ${token.length}`);
  ensure(cameraId.length === ID_BYTES, 'E_BAD_ARGUMENT', `camera id: expected ${ID_BYTES} bytes, got ${cameraId.length}`);
  return concatBytes(PROVISION_CONTEXT, token, cameraId);
}

/**
 * The relay's side: true iff the two public keys hash to `cameraId` (§2) and `signature` is their
 * signing key's signature over the token and that id. Wrong lengths are false, never a throw.
 */
export function verifyProvisioning(token: Uint8Array, p: ProvisioningProof): boolean {
  if (token.length !== PROVISION_TOKEN_BYTES || p.cameraId.length !== ID_BYTES || p.signPublicKey.length !== KEY_BYTES || p.boxPublicKey.length !== KEY_BYTES || p.signature.length !== SIGNATURE_BYTES) return false;
  if (!equalBytes(sha512(ID_CONTEXT, p.signPublicKey, p.boxPublicKey).slice(0, ID_BYTES), p.cameraId)) return false;
  try {
    const key = createPublicKey({ key: Buffer.from(concatBytes(SPKI_ED25519_PREFIX, p.signPublicKey)), format: 'der', type: 'spki' });
    return verify(null, provisionMessage(token, p.cameraId), key, p.signature);
  } catch {
    return false;
  }
}
