/**
 * The household: the owner adds a viewer (from the code that viewer shows) to a camera's roster,
 * or revokes one. Each change is a new owner-signed roster, version + 1, published retained on
 * sc/v1/<account>/<camera>/roster; the camera accepts only owner-signed, newer rosters and starts a
 * new epoch on each, so a revoked viewer cannot open anything sealed after it (PROTOCOL.md §4, §5).
 */
import { connectMqtt } from '../media/mqtt.js';
import { relayInfo } from './relay-api.js';
import { SealcamError, cameraTopic, equalBytes, signRoster, toHex, type PublicIdentity } from '../protocol/index.js';
import type { OwnerHome, PinnedCamera } from './home.js';

async function publishRoster(home: OwnerHome, cam: PinnedCamera, viewers: PublicIdentity[]): Promise<PinnedCamera> {
  const login = await home.relay();
  const info = await relayInfo(login);
  const rosterVersion = cam.rosterVersion + 1;
  const roster = signRoster(home.identity, { cameraId: cam.camera.id, rosterVersion, issuedAt: Date.now(), viewers: [home.identity.public, ...viewers] });
  const client = await connectMqtt(info.mqttUrl, login);
  try {
    await client.publishAsync(cameraTopic(login.account, toHex(cam.camera.id), 'roster'), Buffer.from(roster), { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
  const updated = { ...cam, rosterVersion, viewers };
  await home.pinCamera(updated);
  return updated;
}

export async function addViewer(home: OwnerHome, cameraName: string, viewer: PublicIdentity): Promise<PinnedCamera> {
  const cam = await home.camera(cameraName);
  const current = cam.viewers ?? [];
  if (equalBytes(viewer.id, home.identity.id) || current.some((v) => equalBytes(v.id, viewer.id))) {
    throw new SealcamError('E_BAD_ARGUMENT', `viewer ${toHex(viewer.id)} is already on ${cameraName}'s roster`);
  }
  return publishRoster(home, cam, [...current, viewer]);
}

export async function revokeViewer(home: OwnerHome, cameraName: string, viewerIdHex: string): Promise<PinnedCamera> {
  const cam = await home.camera(cameraName);
  const current = cam.viewers ?? [];
  const remaining = current.filter((v) => toHex(v.id) !== viewerIdHex);
  if (remaining.length === current.length) throw new SealcamError('E_BAD_ARGUMENT', `viewer ${viewerIdHex} is not on ${cameraName}'s roster`);
  return publishRoster(home, cam, remaining);
}
