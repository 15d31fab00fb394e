/**
 * (Shared by the phone app and the CLI, so a backup made by one restores in the other; it runs in a
 * browser and in Node.) The owner's backup file: everything needed to restore the owner on another
 * phone or computer (the owner's secret keys, the relay login, the paired cameras and their rosters), sealed under a key derived
 * from a passphrase with scrypt (RFC 7914), a memory-hard KDF, so guessing passphrases costs
 * 128 MiB and about a second each on the attacker's side too.
 *
 *   {"sealcam-backup":1,
 *    "kdf":{"name":"scrypt","N":131072,"r":8,"p":1,"salt":base64(16)},
 *    "nonce":base64(24),
 *    "box":base64(secretbox(JSON(BackupContent), nonce, scrypt(passphrase, salt)[0..32]))}
 *
 * N = 2^17, r = 8, p = 1 is OWASP's scrypt baseline (128 MiB). PBKDF2, the only KDF in WebCrypto,
 * is not memory-hard, so a GPU tries passphrases thousands of times faster; Argon2id (also in
 * @noble/hashes) is the other choice, but its pure-JS form is several times slower than scrypt
 * at the same memory on a phone. A wrong passphrase or an altered file is E_DECRYPT; a file that
 * is not a backup is E_MALFORMED; another format version is E_UNSUPPORTED_VERSION.
 */
import { SealcamError } from './errors.js';
import { NONCE_BYTES, draw, secretboxOpen, secretboxSeal, systemRandom, type RandomSource } from './primitives.js';

/**
 * scrypt (RFC 7914) as the caller has it: the page passes @noble/hashes, Node its built-in
 * crypto.scrypt. Both give the same bytes; this module stays free of either.
 */
export type Scrypt = (passphrase: Uint8Array, salt: Uint8Array, params: { N: number; r: number; p: number; dkLen: number }) => Promise<Uint8Array>;

/** The relay login as the backup holds it. */
export interface BackupLogin {
  /** http(s)://host:port of the relay's HTTP API */
  httpUrl: string;
  account: string;
  username: string;
  password: string;
  /** the relay's key fingerprint (`sha256/…`, PROTOCOL.md §15.8) when it runs TLS */
  fingerprint: string | null;
}

interface BackupKeys {
  signPublicKey: string;
  boxPublicKey: string;
}

/** A paired camera as the backup holds it. */
export interface BackupCamera extends BackupKeys {
  name: string;
  /** the camera id (hex), derived from its keys */
  id: string;
  rosterVersion: number;
  /** household viewers besides the owner */
  viewers: (BackupKeys & { id: string; name: string })[];
  pairedAt: number;
}

export const BACKUP_VERSION = 1;
export const SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const MIN_PASSPHRASE = 10;

export interface BackupContent {
  identitySecret: string;
  login: BackupLogin | null;
  cameras: BackupCamera[];
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: unknown, what: string): Uint8Array => {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new SealcamError('E_MALFORMED', `backup: ${what} is not base64`);
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
};

function deriveKey(scrypt: Scrypt, passphrase: string, salt: Uint8Array): Promise<Uint8Array> {
  return scrypt(new TextEncoder().encode(passphrase.normalize('NFKC')), salt, { ...SCRYPT, dkLen: 32 });
}

export async function sealBackup(scrypt: Scrypt, content: BackupContent, passphrase: string, random: RandomSource = systemRandom): Promise<string> {
  if (passphrase.length < MIN_PASSPHRASE) throw new SealcamError('E_BAD_ARGUMENT', `the passphrase needs at least ${MIN_PASSPHRASE} characters`);
  const salt = draw(random, SALT_BYTES);
  const nonce = draw(random, NONCE_BYTES);
  const key = await deriveKey(scrypt, passphrase, salt);
  const box = secretboxSeal(new TextEncoder().encode(JSON.stringify(content)), nonce, key);
  return `${JSON.stringify({ 'sealcam-backup': BACKUP_VERSION, kdf: { name: 'scrypt', ...SCRYPT, salt: b64(salt) }, nonce: b64(nonce), box: b64(box) }, null, 1)}\n`;
}

export async function openBackup(scrypt: Scrypt, text: string, passphrase: string): Promise<BackupContent> {
  let file: { 'sealcam-backup'?: unknown; kdf?: { name?: unknown; N?: unknown; r?: unknown; p?: unknown; salt?: unknown }; nonce?: unknown; box?: unknown };
  try {
    file = JSON.parse(text) as typeof file;
  } catch {
    throw new SealcamError('E_MALFORMED', 'this file is not a sealcam backup');
  }
  if (typeof file !== 'object' || file === null || file['sealcam-backup'] === undefined) throw new SealcamError('E_MALFORMED', 'this file is not a sealcam backup');
  if (file['sealcam-backup'] !== BACKUP_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `backup version ${String(file['sealcam-backup'])} is not supported`);
  const k = file.kdf ?? {};
  // Only the parameters this version writes: a doctored file cannot make the phone do N = 2^30.
  if (k.name !== 'scrypt' || k.N !== SCRYPT.N || k.r !== SCRYPT.r || k.p !== SCRYPT.p) throw new SealcamError('E_MALFORMED', 'backup: unexpected key derivation parameters');
  const salt = unb64(k.salt, 'salt');
  const nonce = unb64(file.nonce, 'nonce');
  if (salt.length !== SALT_BYTES || nonce.length !== NONCE_BYTES) throw new SealcamError('E_MALFORMED', 'backup: salt or nonce has the wrong length');
  const key = await deriveKey(scrypt, passphrase, salt);
  const plain = secretboxOpen(unb64(file.box, 'box'), nonce, key, 'backup (wrong passphrase, or the file was altered)');
  const content = JSON.parse(new TextDecoder().decode(plain)) as BackupContent;
  if (typeof content.identitySecret !== 'string' || !/^[0-9a-f]{128}$/.test(content.identitySecret) || !Array.isArray(content.cameras)) throw new SealcamError('E_MALFORMED', 'backup: content is incomplete');
  return content;
}
