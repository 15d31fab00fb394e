/**
 * What the protocol needs of node:crypto, for the browser viewer bundle: SHA-512 and Ed25519 from
 * tweetnacl (byte-identical to node:crypto's, RFC 8032). The viewer only verifies; signing works
 * too, slowly, for identities the page loads.
 */
import nacl from 'tweetnacl';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function createHash(algorithm: string) {
  if (algorithm !== 'sha512') throw new Error(`browser viewer: hash ${algorithm} is not available`);
  const parts: Uint8Array[] = [];
  return {
    update(data: Uint8Array) {
      parts.push(data);
      return this;
    },
    digest() {
      return nacl.hash(concat(parts));
    },
  };
}

/** `key` is the 44-byte SPKI DER of an Ed25519 key; its last 32 bytes are the raw key. */
export function createPublicKey(o: { key: Uint8Array }) {
  return { raw: o.key.subarray(o.key.length - 32) };
}

export function verify(_algorithm: null, message: Uint8Array, key: { raw: Uint8Array }, signature: Uint8Array): boolean {
  return nacl.sign.detached.verify(message, signature, key.raw);
}

/** `key` is the 48-byte PKCS#8 DER of an Ed25519 seed; its last 32 bytes are the seed. */
export function createPrivateKey(o: { key: Uint8Array }) {
  return { secretKey: nacl.sign.keyPair.fromSeed(o.key.subarray(o.key.length - 32)).secretKey };
}

export function sign(_algorithm: null, message: Uint8Array, key: { secretKey: Uint8Array }): Uint8Array {
  return nacl.sign.detached(message, key.secretKey);
}
