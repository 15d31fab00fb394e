/** Sizes of the primitives' inputs and outputs (PROTOCOL.md §1.4). No code, so any layer may import it. */
export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const MAC_BYTES = 16;
export const SIGNATURE_BYTES = 64;
export const HASH_BYTES = 64;
/** Identity fingerprints (§2). */
export const ID_BYTES = 16;
