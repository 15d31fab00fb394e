/**
 * Epoch keys and their announcement (PROTOCOL.md §5).
 *
 * The camera makes a fresh random 32-byte epoch key at boot, on a timer and on every roster
 * change, wraps it to every roster viewer with nacl.box from a one-time ephemeral X25519 key,
 * and signs the announcement. The ephemeral secret and the previous epoch key are wiped at
 * once, so a later compromise of the camera reveals no earlier epoch.
 *
 * Byte layout ("SCK1", all integers big-endian):
 *
 *   off  size   field
 *   0    4      magic            "SCK1" (0x53 0x43 0x4b 0x31)
 *   4    1      version          1
 *   5    1      flags            0
 *   6    2      count            number of wrapped keys, 1..MAX_ROSTER_ENTRIES
 *   8    16     cameraId
 *   24   4      epoch            strictly increasing per camera, starts at 1
 *   28   4      rosterVersion    the roster this epoch was wrapped for
 *   32   8      createdAt        milliseconds since the Unix epoch
 *   40   32     ephemeralPublic  X25519 public key, fresh per announcement
 *   72   108×n  entries          viewerId(16) || nonce(24) || box(68)
 *   ..   64     signature        Ed25519 by the camera over "sealcam/epoch/v1\0" || bytes[0 .. 72+108n]
 *
 * box = nacl.box(cameraId(16) || epoch(4) || epochKey(32), nonce, viewer.boxPublicKey, ephemeralSecret)
 */
import nacl from 'tweetnacl';
import { ByteReader, ByteWriter, asciiBytes, concatBytes, equalBytes, toHex, wipe } from './bytes.js';
import { SealcamError, ensure } from './errors.js';
import { ID_BYTES, type Identity, type PublicIdentity } from './identity.js';
import { KEY_BYTES, MAC_BYTES, NONCE_BYTES, SIGNATURE_BYTES, boxSharedKey, draw, verifySignature, type RandomSource } from './primitives.js';
import { MAX_ROSTER_ENTRIES, type Roster } from './roster.js';

export const EPOCH_MAGIC = asciiBytes('SCK1');
export const EPOCH_VERSION = 1;
const EPOCH_FIXED_BYTES = 72;
const WRAPPED_PLAINTEXT_BYTES = ID_BYTES + 4 + KEY_BYTES;
const WRAPPED_BOX_BYTES = WRAPPED_PLAINTEXT_BYTES + MAC_BYTES;
const EPOCH_ENTRY_BYTES = ID_BYTES + NONCE_BYTES + WRAPPED_BOX_BYTES;
const EPOCH_CONTEXT = asciiBytes('sealcam/epoch/v1\0');

/** A live epoch key. `wipe()` erases it; a wiped key can no longer seal or open. */
export class EpochKey {
  private wiped = false;
  constructor(
    readonly epoch: number,
    private readonly keyBytes: Uint8Array,
  ) {
    ensure(keyBytes.length === KEY_BYTES, 'E_BAD_ARGUMENT', 'epoch key must be 32 bytes');
  }
  get key(): Uint8Array {
    ensure(!this.wiped, 'E_BAD_ARGUMENT', `epoch ${this.epoch}: key has been erased`);
    return this.keyBytes;
  }
  wipe(): void {
    wipe(this.keyBytes);
    this.wiped = true;
  }
}

function wrappedPlaintext(cameraId: Uint8Array, epoch: number, key: Uint8Array): Uint8Array {
  return new ByteWriter(WRAPPED_PLAINTEXT_BYTES).raw(cameraId, ID_BYTES).u32(epoch).raw(key, KEY_BYTES).done();
}

/**
 * The camera's side: holds the current epoch and makes the next one. The epoch counter is the
 * only state the device must persist across boots (`nextEpoch`); keys are never persisted.
 */
export class CameraEpochs {
  private current: EpochKey | null = null;
  private lastAnnouncement: Uint8Array | null = null;

  constructor(
    private readonly camera: Identity,
    private readonly random: RandomSource,
    /** the highest epoch number already used, from persisted state (0 on a new camera). */
    private lastEpoch: number,
  ) {
    ensure(Number.isInteger(lastEpoch) && lastEpoch >= 0, 'E_BAD_ARGUMENT', 'lastEpoch must be a non-negative integer');
  }

  get epoch(): EpochKey {
    ensure(this.current !== null, 'E_BAD_ARGUMENT', 'no epoch yet: call rotate() at boot');
    return this.current;
  }

  /** The signed announcement of the current epoch (retained on the keys topic). */
  get announcement(): Uint8Array {
    ensure(this.lastAnnouncement !== null, 'E_BAD_ARGUMENT', 'no epoch yet: call rotate() at boot');
    return this.lastAnnouncement;
  }

  /** Start a new epoch for `roster`, wipe the old key, return the signed announcement. */
  rotate(roster: Roster, now: number): Uint8Array {
    const next = this.prepare(roster, now);
    this.activate(next);
    return next.announcement;
  }

  /**
   * Make the next epoch and its signed announcement without using it yet. The caller publishes
   * the announcement and then calls `activate`, so no live chunk of the new epoch can reach a
   * viewer before the key that opens it (§5.1). Until then the current epoch keeps sealing.
   */
  prepare(roster: Roster, now: number): PreparedEpoch {
    ensure(equalBytes(roster.cameraId, this.camera.id), 'E_BAD_ARGUMENT', 'rotate: roster is for another camera');
    ensure(roster.viewers.length <= MAX_ROSTER_ENTRIES, 'E_BAD_ARGUMENT', 'rotate: roster too large');
    ensure(this.lastEpoch < 0xffff_ffff, 'E_BAD_ARGUMENT', 'rotate: epoch counter exhausted');
    ensure(Number.isInteger(roster.rosterVersion) && roster.rosterVersion >= 1 && roster.rosterVersion <= 0xffff_ffff, 'E_BAD_ARGUMENT', 'rotate: rosterVersion must be in 1..2^32-1');
    const epoch = this.lastEpoch + 1;
    const key = draw(this.random, KEY_BYTES);
    const ephemeral = nacl.box.keyPair.fromSecretKey(draw(this.random, KEY_BYTES));
    const w = new ByteWriter(EPOCH_FIXED_BYTES + EPOCH_ENTRY_BYTES * roster.viewers.length)
      .raw(EPOCH_MAGIC)
      .u8(EPOCH_VERSION)
      .u8(0)
      .u16(roster.viewers.length)
      .raw(this.camera.id, ID_BYTES)
      .u32(epoch)
      .u32(roster.rosterVersion)
      .u64(now)
      .raw(ephemeral.publicKey, KEY_BYTES);
    const plaintext = wrappedPlaintext(this.camera.id, epoch, key);
    try {
      for (const viewer of roster.viewers) {
        const nonce = draw(this.random, NONCE_BYTES);
        const shared = boxSharedKey(viewer.boxPublicKey, ephemeral.secretKey);
        w.raw(viewer.id, ID_BYTES).raw(nonce, NONCE_BYTES).raw(nacl.box.after(plaintext, nonce, shared), WRAPPED_BOX_BYTES);
        wipe(shared);
      }
    } catch (e) {
      wipe(key);
      throw e;
    } finally {
      wipe(plaintext);
      wipe(ephemeral.secretKey);
    }
    const body = w.done();
    // The number is used from here on, whether or not the epoch is activated: never twice.
    this.lastEpoch = epoch;
    return { epoch, key: new EpochKey(epoch, key), announcement: concatBytes(body, this.camera.signer.sign(concatBytes(EPOCH_CONTEXT, body))) };
  }

  /** Switch sealing to a prepared epoch (its announcement is out) and erase the old key. */
  activate(next: PreparedEpoch): void {
    ensure(this.current === null || next.epoch > this.current.epoch, 'E_BAD_ARGUMENT', `activate: epoch ${next.epoch} is not newer than the current epoch`);
    this.current?.wipe();
    this.current = next.key;
    this.lastAnnouncement = next.announcement;
  }
}

/** An epoch made by `CameraEpochs.prepare`, not sealing yet. */
export interface PreparedEpoch {
  readonly epoch: number;
  readonly key: EpochKey;
  readonly announcement: Uint8Array;
}

export interface AnnouncementInfo {
  cameraId: Uint8Array;
  epoch: number;
  rosterVersion: number;
  createdAt: number;
  viewerIds: Uint8Array[];
}

/**
 * Open an announcement as `viewer`, given the pinned camera. Order: layout, camera pinned
 * (E_FOREIGN_CAMERA), signature (E_BAD_SIGNATURE), our entry present (E_NOT_ON_ROSTER),
 * shared secret (E_LOW_ORDER_POINT), unwrap (E_DECRYPT), inner binding (E_INNER_HEADER).
 */
export function openAnnouncement(bytes: Uint8Array, camera: PublicIdentity, viewer: Identity): { info: AnnouncementInfo; key: EpochKey } {
  const r = new ByteReader(bytes, 'epoch announcement');
  if (!equalBytes(r.raw(4), EPOCH_MAGIC)) throw new SealcamError('E_BAD_MAGIC', 'epoch announcement: magic is not "SCK1"');
  const version = r.u8();
  if (version !== EPOCH_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `epoch announcement: version ${version} is not supported`);
  const flags = r.u8();
  if (flags !== 0) throw new SealcamError('E_UNKNOWN_FLAGS', `epoch announcement: unknown flags 0x${flags.toString(16)}`);
  const count = r.u16();
  if (count < 1 || count > MAX_ROSTER_ENTRIES) throw new SealcamError('E_MALFORMED', `epoch announcement: count ${count} outside 1..${MAX_ROSTER_ENTRIES}`);
  const cameraId = r.raw(ID_BYTES);
  const epoch = r.u32();
  const rosterVersion = r.u32();
  const createdAt = r.u64();
  const ephemeralPublic = r.raw(KEY_BYTES);
  const entries: { viewerId: Uint8Array; nonce: Uint8Array; box: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) entries.push({ viewerId: r.raw(ID_BYTES), nonce: r.raw(NONCE_BYTES), box: r.raw(WRAPPED_BOX_BYTES) });
  const signedLength = r.offset;
  const signature = r.raw(SIGNATURE_BYTES);
  r.end();
  if (epoch === 0) throw new SealcamError('E_MALFORMED', 'epoch announcement: epoch 0 is reserved');

  if (!equalBytes(cameraId, camera.id)) {
    throw new SealcamError('E_FOREIGN_CAMERA', `epoch announcement from camera ${toHex(cameraId)}, which is not the pinned camera ${toHex(camera.id)}`);
  }
  if (!verifySignature(camera.signPublicKey, concatBytes(EPOCH_CONTEXT, bytes.subarray(0, signedLength)), signature)) {
    throw new SealcamError('E_BAD_SIGNATURE', 'epoch announcement: signature does not verify under the pinned camera key');
  }
  const mine = entries.find((e) => equalBytes(e.viewerId, viewer.id));
  if (!mine) throw new SealcamError('E_NOT_ON_ROSTER', `epoch ${epoch}: this viewer (${viewer.idHex}) is not on the roster`);
  const shared = boxSharedKey(ephemeralPublic, viewer.box.secretKey);
  const plaintext = nacl.box.open.after(mine.box, mine.nonce, shared);
  wipe(shared);
  if (plaintext === null) throw new SealcamError('E_DECRYPT', `epoch ${epoch}: wrapped key does not open`);
  const inner = new ByteReader(plaintext, 'wrapped epoch key');
  const innerCamera = inner.raw(ID_BYTES);
  const innerEpoch = inner.u32();
  const key = inner.raw(KEY_BYTES);
  wipe(plaintext);
  if (!equalBytes(innerCamera, cameraId) || innerEpoch !== epoch) {
    wipe(key);
    throw new SealcamError('E_INNER_HEADER', `epoch ${epoch}: wrapped key is bound to another camera or epoch`);
  }
  return { info: { cameraId, epoch, rosterVersion, createdAt, viewerIds: entries.map((e) => e.viewerId) }, key: new EpochKey(epoch, key) };
}

/**
 * The viewer's keys for one camera. It keeps at most `capacity` epochs and wipes the oldest
 * beyond that, so old epoch keys do not outlive their usefulness (forward secrecy, §5.4).
 */
export class EpochKeyring {
  private readonly keys = new Map<number, EpochKey>();
  constructor(readonly capacity = 8) {
    ensure(Number.isInteger(capacity) && capacity >= 1, 'E_BAD_ARGUMENT', 'keyring capacity must be >= 1');
  }

  add(key: EpochKey): void {
    const existing = this.keys.get(key.epoch);
    if (existing) {
      // The relay may re-deliver a retained announcement; a different key for a known epoch is refused.
      if (!equalBytes(existing.key, key.key)) throw new SealcamError('E_STALE_EPOCH', `epoch ${key.epoch}: a different key is already held`);
      key.wipe();
      return;
    }
    const newest = this.newest;
    if (newest !== undefined && key.epoch + this.capacity <= newest) {
      key.wipe();
      throw new SealcamError('E_STALE_EPOCH', `epoch ${key.epoch} is older than the ${this.capacity} epochs kept (newest ${newest})`);
    }
    this.keys.set(key.epoch, key);
    const floor = Math.max(...this.keys.keys()) - this.capacity;
    for (const [epoch, k] of this.keys) {
      if (epoch <= floor) {
        k.wipe();
        this.keys.delete(epoch);
      }
    }
  }

  get(epoch: number): EpochKey | undefined {
    return this.keys.get(epoch);
  }

  get newest(): number | undefined {
    return this.keys.size ? Math.max(...this.keys.keys()) : undefined;
  }

  /** Erase every key of an epoch below `epoch`. */
  forgetBefore(epoch: number): void {
    for (const [e, k] of this.keys) {
      if (e < epoch) {
        k.wipe();
        this.keys.delete(e);
      }
    }
  }
}
