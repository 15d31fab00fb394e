/**
 * Firmware-signing keys (`sealcam firmware keygen`): an Ed25519 key of its own, never a camera,
 * owner or viewer key. File formats: protocol/firmware-image.ts ("key files").
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { SealcamError } from '../protocol/errors.js';
import { SigningKey } from '../protocol/primitives.js';
import { firmwareKeyId, formatFirmwarePublicKey, formatFirmwareSigningKey, parseFirmwarePublicKey, parseFirmwareSigningKey } from '../protocol/firmware-image.js';

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'wx', mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SealcamError('E_BAD_ARGUMENT', `${path} exists; refusing to overwrite a key`);
    throw e;
  }
  try {
    await fh.writeFile(text);
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write KEY (0600) and KEY.pub (0644); refuses if either exists. Returns the key id. */
export async function generateFirmwareKey(path: string): Promise<{ keyId: string; publicKeyPath: string }> {
  const pubPath = `${path}.pub`;
  for (const p of [path, pubPath]) {
    if (await stat(p).then(() => true, () => false)) throw new SealcamError('E_BAD_ARGUMENT', `${p} exists; refusing to overwrite a key`);
  }
  const seed = new Uint8Array(randomBytes(32));
  const key = new SigningKey(seed);
  await writeNew(path, formatFirmwareSigningKey(seed), 0o600);
  try {
    await writeNew(pubPath, formatFirmwarePublicKey(key.publicKey), 0o644);
  } catch (e) {
    await unlink(path).catch(() => undefined);
    throw e;
  }
  seed.fill(0);
  return { keyId: firmwareKeyId(key.publicKey), publicKeyPath: pubPath };
}

/** Load KEY; refuses a file that group or others can read, as ssh does. */
export async function loadFirmwareSigningKey(path: string): Promise<SigningKey> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new SealcamError('E_BAD_ARGUMENT', `firmware signing key ${path} does not exist`);
  if ((info.mode & 0o077) !== 0) throw new SealcamError('E_BAD_KEY', `firmware signing key ${path} has mode 0${(info.mode & 0o777).toString(8)}; it must be 0600 (chmod 600 ${path})`);
  return parseFirmwareSigningKey(await readFile(path, 'utf8'), `firmware signing key ${path}`);
}

export async function loadFirmwarePublicKey(path: string): Promise<Uint8Array> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new SealcamError('E_BAD_ARGUMENT', `firmware public key ${path} does not exist`);
  });
  return parseFirmwarePublicKey(text, `firmware public key ${path}`);
}
