/**
 * Accounts, credentials and provisioning tokens. Nothing is stored in clear:
 * - passwords: scrypt (N=2^15, r=8, p=1, 16-byte salt, 32-byte hash), and, for the Mosquitto
 *   path, Mosquitto's own `$7$` PBKDF2-SHA512 form, so `relay mosquitto-config` can write a
 *   password file without ever knowing the password again;
 * - provisioning tokens: SHA-256 only; single use; they expire.
 * Generated secrets come from the CSPRNG; there are no default credentials.
 * The file is <data>/accounts.json, mode 0600, written atomically.
 */
import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SealcamError } from '../protocol/errors.js';
import { writeFileAtomic } from '../media/atomic-file.js';
import { RESERVED_ACCOUNTS, type Principal, type Role } from './acl.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MOSQUITTO_ITERATIONS = 50_000;
const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_TOKEN_TTL_MS = 15 * 60 * 1000;

interface StoredUser {
  account: string;
  role: Role;
  cameraId?: string;
  scrypt: { salt: string; hash: string; N: number; r: number; p: number };
  /** Mosquitto password-file hash: $7$<iterations>$<salt b64>$<hash b64> */
  mosquitto: string;
}

interface StoredToken {
  account: string;
  expiresAt: number;
  used: boolean;
}

interface AccountsFile {
  v: 1;
  accounts: Record<string, { createdAt: number }>;
  users: Record<string, StoredUser>;
  tokens: Record<string, StoredToken>;
}

export interface IssuedCredentials {
  account: string;
  username: string;
  password: string;
  role: Role;
  cameraId?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class AccountStore {
  /**
   * Called with each new login (and its password, which exists only now) before it is saved, so a
   * broker that checks logins itself can be told first (dynsec.ts). If it fails, nothing is saved.
   */
  mirror: ((login: IssuedCredentials) => Promise<void>) | null = null;

  private constructor(
    private readonly path: string,
    private data: AccountsFile,
    private loadedMtimeMs: number,
  ) {}

  static async open(dataDir: string): Promise<AccountStore> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const path = join(dataDir, 'accounts.json');
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
    const data = text === null ? { v: 1 as const, accounts: {}, users: {}, tokens: {} } : parseAccounts(text, path);
    return new AccountStore(path, data, text === null ? 0 : (await stat(path)).mtimeMs);
  }

  /**
   * Re-read the file if another process (`sealcam relay account add` next to a running relay)
   * changed it, so a running relay sees new logins and never writes back a stale copy.
   */
  async refresh(): Promise<void> {
    const st = await stat(this.path).catch(() => null);
    if (!st || st.mtimeMs === this.loadedMtimeMs) return;
    this.data = parseAccounts(await readFile(this.path, 'utf8'), this.path);
    this.loadedMtimeMs = st.mtimeMs;
  }

  get accountNames(): string[] {
    return Object.keys(this.data.accounts).sort();
  }

  get users(): (StoredUser & { username: string })[] {
    return Object.entries(this.data.users).map(([username, u]) => ({ username, ...u }));
  }

  /** One login's account, role and camera, or undefined. */
  user(username: string): { account: string; role: Role; cameraId?: string } | undefined {
    return this.data.users[username];
  }

  /** Create an account with its first viewer login. */
  async addAccount(account: string): Promise<IssuedCredentials> {
    await this.refresh();
    if (!SLUG.test(account) || RESERVED_ACCOUNTS.has(account)) throw new SealcamError('E_BAD_ARGUMENT', `account name ${JSON.stringify(account)}: expected 1-64 of [a-z0-9_-], not ${[...RESERVED_ACCOUNTS].join(' or ')}`);
    if (this.data.accounts[account]) throw new SealcamError('E_BAD_ARGUMENT', `account ${account} already exists`);
    this.data.accounts[account] = { createdAt: Date.now() };
    return this.addUser(account, 'viewer', `${account}-owner`);
  }

  /** Add a login to an account. Camera logins are bound to one camera id. */
  async addUser(account: string, role: Role, username: string, cameraId?: string): Promise<IssuedCredentials> {
    await this.refresh();
    if (!this.data.accounts[account] && role !== 'store') throw new SealcamError('E_BAD_ARGUMENT', `no account ${account}`);
    if (!/^[a-z0-9][a-z0-9_.-]{0,80}$/.test(username)) throw new SealcamError('E_BAD_ARGUMENT', `username ${JSON.stringify(username)} is not allowed`);
    if (this.data.users[username]) throw new SealcamError('E_BAD_ARGUMENT', `user ${username} already exists`);
    if (role === 'camera' && !(cameraId && /^[0-9a-f]{32}$/.test(cameraId))) throw new SealcamError('E_BAD_ARGUMENT', 'a camera login needs the 32-hex camera id');
    const password = newPassword();
    const issued: IssuedCredentials = { account, username, password, role, ...(cameraId ? { cameraId } : {}) };
    const hashes = await hashPassword(password);
    await this.mirror?.(issued);
    this.data.users[username] = { account, role, ...(cameraId ? { cameraId } : {}), ...hashes };
    await this.save();
    return issued;
  }

  /** Check a login; returns who it is, or null. Constant-time compare; unknown users cost the same. */
  async authenticate(username: string, password: string): Promise<Principal | null> {
    if (!this.data.users[username]) await this.refresh();
    const user = this.data.users[username];
    const salt = user ? Buffer.from(user.scrypt.salt, 'hex') : Buffer.alloc(16);
    const derived = await scryptAsync(password, salt, 32, SCRYPT);
    if (!user) return null;
    const ok = timingSafeEqual(derived, Buffer.from(user.scrypt.hash, 'hex'));
    return ok ? { username, role: user.role, account: user.account, ...(user.cameraId ? { cameraId: user.cameraId } : {}) } : null;
  }

  /** A one-time provisioning token for a camera of `account` (goes into the pairing QR code). */
  async issueProvisioningToken(account: string, now = Date.now(), ttlMs = DEFAULT_TOKEN_TTL_MS): Promise<{ token: string; expiresAt: number }> {
    await this.refresh();
    if (!this.data.accounts[account]) throw new SealcamError('E_BAD_ARGUMENT', `no account ${account}`);
    const token = randomBytes(16).toString('base64url');
    this.data.tokens[sha256(token)] = { account, expiresAt: now + ttlMs, used: false };
    this.pruneTokens(now);
    await this.save();
    return { token, expiresAt: now + ttlMs };
  }

  /** Trade a provisioning token for the camera's own login (once). */
  async redeemProvisioningToken(token: string, cameraId: string, now = Date.now()): Promise<IssuedCredentials> {
    await this.refresh();
    const entry = this.data.tokens[sha256(token)];
    if (!entry || entry.used || entry.expiresAt <= now) throw new SealcamError('E_AUTH', 'provisioning token is unknown, used or expired');
    entry.used = true;
    await this.save();
    const username = `cam-${cameraId}`;
    const existing = this.data.users[username];
    if (existing && existing.account !== entry.account) {
      throw new SealcamError('E_AUTH', `camera ${cameraId} belongs to another account; it must be removed there first`);
    }
    // Re-pairing the same camera in its own account (after a reset): fresh credentials in place.
    if (existing) delete this.data.users[username];
    return this.addUser(entry.account, 'camera', username, cameraId);
  }

  private pruneTokens(now: number): void {
    for (const [k, t] of Object.entries(this.data.tokens)) if (t.used || t.expiresAt <= now) delete this.data.tokens[k];
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(this.data, null, 1)}\n`, 0o600);
    this.loadedMtimeMs = (await stat(this.path)).mtimeMs;
  }
}

function parseAccounts(text: string, path: string): AccountsFile {
  let data: AccountsFile;
  try {
    data = JSON.parse(text) as AccountsFile;
  } catch {
    throw new SealcamError('E_STORE', `${path} is damaged (not JSON)`);
  }
  if (data.v !== 1) throw new SealcamError('E_STORE', `${path}: unknown version`);
  return data;
}

/** Mosquitto's `$7$<iterations>$<salt b64>$<hash b64>` (PBKDF2-SHA512, 12-byte salt, 64-byte hash). */
export async function mosquittoHash(password: string): Promise<string> {
  const salt = randomBytes(12);
  const hash = await pbkdf2Async(password, salt, MOSQUITTO_ITERATIONS, 64, 'sha512');
  return `$7$${MOSQUITTO_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A new random password (24 bytes from the CSPRNG, base64url). */
export const newPassword = (): string => randomBytes(24).toString('base64url');

async function hashPassword(password: string): Promise<Pick<StoredUser, 'scrypt' | 'mosquitto'>> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32, SCRYPT);
  return {
    scrypt: { salt: salt.toString('hex'), hash: hash.toString('hex'), N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p },
    mosquitto: await mosquittoHash(password),
  };
}
