/**
 * Proof of the camera's key when it redeems a provisioning token (PROTOCOL.md §15.6,
 * `POST /v1/provision`). The camera signs the token and its own id with its identity's Ed25519
 * key; the relay recomputes the id from the two public keys (§2) and checks the signature, so a
 * token can only ever make a login for the camera that holds the key behind the id.
 *
 *   message = "sealcam/provision/v1\0" (21) || token (16, raw) || cameraId (16)   → 53 bytes
 *   signature = Ed25519(camera signing key, message)                                  64 bytes
 */
import { asciiBytes, concatBytes, equalBytes } from './bytes.js';
import { ensure } from './errors.js';
import { identityId, type Identity } from './identity.js';
import { verifySignature } from './primitives.js';
import { ID_BYTES, KEY_BYTES, SIGNATURE_BYTES } from './sizes.js';

const PROVISION_CONTEXT = asciiBytes('sealcam/provision/v1\0');
/** A provisioning token is 16 random bytes (§3.1 `provisionToken`). */
export const PROVISION_TOKEN_BYTES = 16;

export interface ProvisioningProof {
  cameraId: Uint8Array;
  signPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
  signature: Uint8Array;
}

function provisionMessage(token: Uint8Array, cameraId: Uint8Array): Uint8Array {
  ensure(token.length === PROVISION_TOKEN_BYTES, 'E_BAD_ARGUMENT', `provisioning token: expected ${PROVISION_TOKEN_BYTES} bytes, got ${token.length}`);
  ensure(cameraId.length === ID_BYTES, 'E_BAD_ARGUMENT', `camera id: expected ${ID_BYTES} bytes, got ${cameraId.length}`);
  return concatBytes(PROVISION_CONTEXT, token, cameraId);
}

/** The camera's side: sign `token` for its own id. */
export function signProvisioning(camera: Identity, token: Uint8Array): ProvisioningProof {
  return { cameraId: camera.id, signPublicKey: camera.signPublicKey, boxPublicKey: camera.boxPublicKey, signature: camera.signer.sign(provisionMessage(token, camera.id)) };
}

/**
 * The relay's side: true iff the two public keys hash to `cameraId` (§2) and `signature` is their
 * signing key's signature over the token and that id. Wrong lengths are false, never a throw.
 */
export function verifyProvisioning(token: Uint8Array, p: ProvisioningProof): boolean {
  if (token.length !== PROVISION_TOKEN_BYTES || p.cameraId.length !== ID_BYTES || p.signPublicKey.length !== KEY_BYTES || p.boxPublicKey.length !== KEY_BYTES || p.signature.length !== SIGNATURE_BYTES) return false;
  if (!equalBytes(identityId(p.signPublicKey, p.boxPublicKey), p.cameraId)) return false;
  return verifySignature(p.signPublicKey, provisionMessage(token, p.cameraId), p.signature);
}
