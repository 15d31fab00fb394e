/**
 * The owner home to and from the backup file the phone app makes and restores (protocol/backup.ts,
 * scrypt-sealed): a camera paired with the CLI can be watched in the app, and one paired in the
 * app with `sealcam view`, once the owner's key has moved with its cameras and relay login.
 */
import { Identity, fromHex, publicIdentity, toHex, type PublicIdentity } from '../protocol/index.js';
import { scrypt } from 'node:crypto';
import { openBackup, sealBackup, type BackupCamera, type BackupContent, type Scrypt } from '../protocol/backup.js';
import { OwnerHome } from './home.js';

/** Node's built-in scrypt (OpenSSL): the same bytes as the page's @noble/hashes, several times faster. */
export const nodeScrypt: Scrypt = (passphrase, salt, { N, r, p, dkLen }) =>
  new Promise((resolve, reject) => scrypt(passphrase, salt, dkLen, { N, r, p, maxmem: 256 * N * r }, (e, key) => (e ? reject(e) : resolve(new Uint8Array(key)))));

const keysOf = (p: PublicIdentity) => ({ signPublicKey: toHex(p.signPublicKey), boxPublicKey: toHex(p.boxPublicKey) });

/** Everything of the home that the app needs, sealed under `passphrase`. */
export async function backupOwnerHome(home: OwnerHome, passphrase: string): Promise<{ text: string; cameras: number }> {
  const login = await home.relay().catch(() => null);
  const cameras: BackupCamera[] = (await home.cameras()).map((c) => ({
    name: c.name,
    id: toHex(c.camera.id),
    ...keysOf(c.camera),
    rosterVersion: c.rosterVersion,
    viewers: (c.viewers ?? []).map((v) => ({ ...keysOf(v), id: toHex(v.id), name: toHex(v.id).slice(0, 8) })),
    pairedAt: 0,
  }));
  const content: BackupContent = { identitySecret: toHex(home.identity.exportSecret()), login: login ? { ...login, fingerprint: login.fingerprint ?? null } : null, cameras };
  return { text: await sealBackup(nodeScrypt, content, passphrase), cameras: cameras.length };
}

/** A new owner home in `dir` from a backup (made by the app or by `owner backup`). */
export async function restoreOwnerHome(dir: string, text: string, passphrase: string): Promise<{ home: OwnerHome; cameras: number }> {
  const content = await openBackup(nodeScrypt, text, passphrase);
  const home = await OwnerHome.init(dir, Identity.fromSecret(fromHex(content.identitySecret, 64, 'backup identity')));
  if (content.login) {
    const { fingerprint, ...login } = content.login;
    await home.setRelay({ ...login, ...(fingerprint ? { fingerprint } : {}) });
  }
  for (const c of content.cameras) {
    await home.pinCamera({
      name: c.name,
      camera: publicIdentity(fromHex(c.signPublicKey, 32), fromHex(c.boxPublicKey, 32)),
      rosterVersion: c.rosterVersion,
      viewers: c.viewers.map((v) => publicIdentity(fromHex(v.signPublicKey, 32), fromHex(v.boxPublicKey, 32))),
    });
  }
  return { home, cameras: content.cameras.length };
}
