/** Shared test fixtures: a deterministic random source and a paired camera/owner set-up. */
import { createHash } from 'node:crypto';
import { CameraEpochs, Identity, SegmentSealer, Viewer, publicIdentity, signRoster, openRoster, type RandomSource, type PublicIdentity } from '../../src/protocol/index.js';

/** SHA-512 counter-mode stream from a label: reproducible, distinct per label. */
export function seededRandom(label: string): RandomSource {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (length) => {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (pool.length === 0) pool = new Uint8Array(createHash('sha512').update(`${label}/${counter++}`).digest());
      const take = Math.min(pool.length, length - filled);
      out.set(pool.subarray(0, take), filled);
      pool = pool.subarray(take);
      filled += take;
    }
    return out;
  };
}

export const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);

export interface Household {
  camera: Identity;
  owner: Identity;
  others: Identity[];
  epochs: CameraEpochs;
  sealer: SegmentSealer;
  /** owner's viewer with the camera pinned and the first epoch announced. */
  ownerViewer: Viewer;
  announcement: Uint8Array;
  rosterBytes: Uint8Array;
}

/** A camera whose roster is the owner plus `extra` viewers, with epoch 1 announced. */
export function household(label: string, extra = 0): Household {
  const random = seededRandom(label);
  const camera = Identity.generate(random);
  const owner = Identity.generate(random);
  const others = Array.from({ length: extra }, () => Identity.generate(random));
  const rosterBytes = signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: T0, viewers: [owner.public, ...others.map((o) => o.public)] });
  const roster = openRoster(rosterBytes, owner.signPublicKey);
  const epochs = new CameraEpochs(camera, random, 0);
  const announcement = epochs.rotate(roster, T0);
  const sealer = new SegmentSealer(camera, epochs, random, 0);
  const ownerViewer = new Viewer(owner);
  ownerViewer.pin(pinned(camera)).addAnnouncement(announcement);
  return { camera, owner, others, epochs, sealer, ownerViewer, announcement, rosterBytes };
}

/** What a viewer pins at pairing: the camera's public keys only. */
export function pinned(id: Identity): PublicIdentity {
  return publicIdentity(id.signPublicKey, id.boxPublicKey);
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
