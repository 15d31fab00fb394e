/**
 * The roster (PROTOCOL.md §4): the owner-signed list of viewers who may see one camera.
 * Entry 0 is always the owner. The camera accepts a roster only if the pinned owner signed it
 * and its version is higher than the one it holds; every accepted roster starts a new epoch.
 *
 * Byte layout ("SCR1", all integers big-endian):
 *
 *   off  size  field
 *   0    4     magic            "SCR1" (0x53 0x43 0x52 0x31)
 *   4    1     version          1
 *   5    1     flags            0 (any other bit: E_UNKNOWN_FLAGS)
 *   6    2     count            number of entries, 1..MAX_ROSTER_ENTRIES
 *   8    16    cameraId         the camera this roster is for
 *   24   4     rosterVersion    strictly increasing per camera, starts at 1
 *   28   8     issuedAt         milliseconds since the Unix epoch
 *   36   64×n  entries          signPublicKey(32) || boxPublicKey(32); entry 0 is the owner
 *   ..   64    signature        Ed25519 by the owner over "sealcam/roster/v1\0" || bytes[0 .. 36+64n]
 */
import { ByteReader, ByteWriter, MAX_U32, asciiBytes, concatBytes, equalBytes, toHex } from './bytes.js';
import { SealcamError, ensure } from './errors.js';
import { ID_BYTES, publicIdentity, type Identity, type PublicIdentity } from './identity.js';
import { KEY_BYTES, SIGNATURE_BYTES, verifySignature } from './primitives.js';

export const ROSTER_MAGIC = asciiBytes('SCR1');
export const ROSTER_VERSION = 1;
export const MAX_ROSTER_ENTRIES = 64;
const ROSTER_FIXED_BYTES = 36;
const ROSTER_ENTRY_BYTES = 2 * KEY_BYTES;
const ROSTER_CONTEXT = asciiBytes('sealcam/roster/v1\0');

export interface Roster {
  readonly cameraId: Uint8Array;
  readonly rosterVersion: number;
  readonly issuedAt: number;
  /** viewers[0] is the owner. */
  readonly viewers: readonly PublicIdentity[];
}

export function signRoster(owner: Identity, roster: Omit<Roster, 'viewers'> & { viewers: readonly PublicIdentity[] }): Uint8Array {
  const { viewers } = roster;
  ensure(viewers.length >= 1 && viewers.length <= MAX_ROSTER_ENTRIES, 'E_BAD_ARGUMENT', `roster: expected 1..${MAX_ROSTER_ENTRIES} viewers, got ${viewers.length}`);
  ensure(equalBytes(viewers[0]!.id, owner.id), 'E_BAD_ARGUMENT', 'roster: viewers[0] must be the signing owner');
  ensure(roster.cameraId.length === ID_BYTES, 'E_BAD_ARGUMENT', 'roster: cameraId must be 16 bytes');
  ensure(Number.isInteger(roster.rosterVersion) && roster.rosterVersion >= 1 && roster.rosterVersion <= MAX_U32, 'E_BAD_ARGUMENT', 'roster: rosterVersion must be an integer in 1..2^32-1');
  ensure(new Set(viewers.map((v) => toHex(v.id))).size === viewers.length, 'E_BAD_ARGUMENT', 'roster: a viewer is listed twice');
  const w = new ByteWriter(ROSTER_FIXED_BYTES + ROSTER_ENTRY_BYTES * viewers.length)
    .raw(ROSTER_MAGIC)
    .u8(ROSTER_VERSION)
    .u8(0)
    .u16(viewers.length)
    .raw(roster.cameraId, ID_BYTES)
    .u32(roster.rosterVersion)
    .u64(roster.issuedAt);
  for (const v of viewers) w.raw(v.signPublicKey, KEY_BYTES).raw(v.boxPublicKey, KEY_BYTES);
  const body = w.done();
  return concatBytes(body, owner.signer.sign(concatBytes(ROSTER_CONTEXT, body)));
}

/**
 * Parse and verify a roster against the pinned owner signing key (§4.3). Checks in order: layout
 * (rosterVersion 0 is E_MALFORMED), signature (E_ROSTER_SIGNATURE), that entry 0 is the owner,
 * that every box key is usable, that no viewer is listed twice (E_MALFORMED).
 */
export function openRoster(bytes: Uint8Array, ownerSignPublicKey: Uint8Array): Roster {
  const r = new ByteReader(bytes, 'roster');
  const magic = r.raw(4);
  if (!equalBytes(magic, ROSTER_MAGIC)) throw new SealcamError('E_BAD_MAGIC', 'roster: magic is not "SCR1"');
  const version = r.u8();
  if (version !== ROSTER_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `roster: version ${version} is not supported (expected 1)`);
  const flags = r.u8();
  if (flags !== 0) throw new SealcamError('E_UNKNOWN_FLAGS', `roster: unknown flags 0x${flags.toString(16)}`);
  const count = r.u16();
  if (count < 1 || count > MAX_ROSTER_ENTRIES) throw new SealcamError('E_MALFORMED', `roster: count ${count} outside 1..${MAX_ROSTER_ENTRIES}`);
  const cameraId = r.raw(ID_BYTES);
  const rosterVersion = r.u32();
  if (rosterVersion === 0) throw new SealcamError('E_MALFORMED', 'roster: rosterVersion 0 is reserved');
  const issuedAt = r.u64();
  const keys: [Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < count; i++) keys.push([r.raw(KEY_BYTES), r.raw(KEY_BYTES)]);
  const signedLength = r.offset;
  const signature = r.raw(SIGNATURE_BYTES);
  r.end();
  if (!verifySignature(ownerSignPublicKey, concatBytes(ROSTER_CONTEXT, bytes.subarray(0, signedLength)), signature)) {
    throw new SealcamError('E_ROSTER_SIGNATURE', 'roster: not signed by the pinned owner');
  }
  if (!equalBytes(keys[0]![0], ownerSignPublicKey)) throw new SealcamError('E_MALFORMED', 'roster: entry 0 is not the signing owner');
  const viewers = keys.map(([s, b]) => publicIdentity(s, b));
  const ids = new Set(viewers.map((v) => toHex(v.id)));
  if (ids.size !== viewers.length) throw new SealcamError('E_MALFORMED', 'roster: a viewer is listed twice');
  return { cameraId, rosterVersion, issuedAt, viewers };
}

/**
 * The camera's check of a roster update (§4.4): owner-signed, for this camera, and newer than
 * the roster it holds (E_STALE_ROSTER), so a relay cannot replay an old roster to re-admit a
 * revoked viewer.
 */
export function acceptRosterUpdate(bytes: Uint8Array, expect: { ownerSignPublicKey: Uint8Array; cameraId: Uint8Array; currentVersion: number }): Roster {
  const roster = openRoster(bytes, expect.ownerSignPublicKey);
  if (!equalBytes(roster.cameraId, expect.cameraId)) throw new SealcamError('E_FOREIGN_CAMERA', 'roster: signed for another camera');
  if (roster.rosterVersion <= expect.currentVersion) {
    throw new SealcamError('E_STALE_ROSTER', `roster: version ${roster.rosterVersion} is not newer than the held version ${expect.currentVersion}`);
  }
  return roster;
}
