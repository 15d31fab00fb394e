/**
 * SHA-512 (FIPS 180-4) from node:crypto. Kept apart from primitives.ts so that code which only
 * hashes — the relay's reassembly, for one — pulls in no cipher at all.
 */
import { createHash } from 'node:crypto';

export function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Incremental SHA-512, for hashing a segment body chunk by chunk as it is sealed. */
export class Sha512 {
  private readonly h = createHash('sha512');
  update(data: Uint8Array): this {
    this.h.update(data);
    return this;
  }
  digest(): Uint8Array {
    return new Uint8Array(this.h.digest());
  }
}
