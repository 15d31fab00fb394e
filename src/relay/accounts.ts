/**
 * Accounts, credentials and provisioning tokens. Nothing is stored in clear:
 * - passwords: scrypt (N=2^15, r=8, p=1, 16-byte salt, 32-byte hash), and, for the Mosquitto
 *   path, Mosquitto's own `$7$` PBKDF2-SHA512 form, so `relay mosquitto-config` can write a
 *   password file without ever knowing the password again;
 * - provisioning tokens: SHA-256 only; single use; they expire. Redeeming one needs the camera's
 *   proof of its key (protocol/provision.ts), and a rejected attempt leaves the token usable.
 * Generated secrets come from the CSPRNG; there are no default credentials.
 * The file is <data>/accounts.json, mode 0600, written atomically. In memory every table is a Map:
 * a name such as `__proto__` or `constructor` is only ever a key, never a prototype lookup.
 */
import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SealcamError } from '../protocol/errors.js';
import { verifyProvisioning, type ProvisioningProof } from '../protocol/provision.js';
import { toHex } from '../protocol/bytes.js';
import { readFileNoFollow, writeFileAtomic } from '../media/atomic-file.js';
import { RESERVED_ACCOUNTS, type Principal, type Role } from './acl.js';
import { openDataDir } from './data-dir.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MOSQUITTO_ITERATIONS = 50_000;
const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_TOKEN_TTL_MS = 15 * 60 * 1000;
/** Camera logins one account may hold (PROTOCOL.md §15.5); `relay --max-cameras` changes it. */
export const DEFAULT_MAX_CAMERAS_PER_ACCOUNT = 64;

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

/** accounts.json in memory: the file's three objects as Maps. */
interface AccountsData {
  accounts: Map<string, { createdAt: number }>;
  users: Map<string, StoredUser>;
  tokens: Map<string, StoredToken>;
}

export interface IssuedCredentials {
  account: string;
  username: string;
  password: string;
  role: Role;
  cameraId?: string;
}

export interface AccountStoreOptions {
  /** camera logins per account (default DEFAULT_MAX_CAMERAS_PER_ACCOUNT) */
  maxCamerasPerAccount?: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** One message for every refused redemption: it says nothing about other accounts (§15.6). */
const REDEEM_REFUSED = 'provisioning refused: the token is unknown, used or expired, or it cannot register this camera';

export class AccountStore {
  /**
   * Called with each new login (and its password, which exists only now) before it is saved, so a
   * broker that checks logins itself can be told first (dynsec.ts). If it fails, nothing is saved.
   */
  mirror: ((login: IssuedCredentials) => Promise<void>) | null = null;
  /** Bumped whenever the logins may have changed (a save here, or a re-read of another process's save). */
  private generation = 0;
  /** Changes (add, redeem) run one at a time, so two redemptions of one token cannot both win. */
  private changes: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private data: AccountsData,
    private loadedMtimeMs: number,
    readonly maxCamerasPerAccount: number,
  ) {}

  static async open(dataDir: string, o: AccountStoreOptions = {}): Promise<AccountStore> {
    await openDataDir(dataDir);
    const path = join(dataDir, 'accounts.json');
    const text = await readAccountsFile(path);
    const data = text === null ? emptyData() : parseAccounts(text);
    const max = o.maxCamerasPerAccount ?? DEFAULT_MAX_CAMERAS_PER_ACCOUNT;
    if (!Number.isSafeInteger(max) || max < 1) throw new SealcamError('E_BAD_ARGUMENT', `maxCamerasPerAccount: expected a positive integer, got ${max}`);
    return new AccountStore(path, data, text === null ? 0 : (await lstat(path)).mtimeMs, max);
  }

  /**
   * Re-read the file if another process (`sealcam relay account add` next to a running relay)
   * changed it, so a running relay sees new logins and never writes back a stale copy.
   */
  async refresh(): Promise<void> {
    const st = await lstat(this.path).catch(() => null);
    if (!st || st.mtimeMs === this.loadedMtimeMs) return;
    const text = await readAccountsFile(this.path);
    if (text === null) return;
    this.data = parseAccounts(text);
    this.loadedMtimeMs = st.mtimeMs;
    this.generation++;
  }

  /**
   * A number that changes whenever any login may have changed (here or in another process). A
   * cache of successful logins (the HTTP API's) is valid only while it stays the same.
   */
  async version(): Promise<number> {
    await this.refresh();
    return this.generation;
  }

  get accountNames(): string[] {
    return [...this.data.accounts.keys()].sort();
  }

  get users(): (StoredUser & { username: string })[] {
    return [...this.data.users].map(([username, u]) => ({ username, ...u }));
  }

  /** One login's account, role and camera, or undefined. */
  user(username: string): { account: string; role: Role; cameraId?: string } | undefined {
    return this.data.users.get(username);
  }

  /** Camera logins of one account. */
  cameraCount(account: string): number {
    let n = 0;
    for (const u of this.data.users.values()) if (u.role === 'camera' && u.account === account) n++;
    return n;
  }

  /** Create an account with its first viewer login. */
  async addAccount(account: string): Promise<IssuedCredentials> {
    return this.serialize(async () => {
      await this.refresh();
      if (!SLUG.test(account) || RESERVED_ACCOUNTS.has(account)) throw new SealcamError('E_BAD_ARGUMENT', `account name ${JSON.stringify(account)}: expected 1-64 of [a-z0-9_-], not ${[...RESERVED_ACCOUNTS].join(' or ')}`);
      if (this.data.accounts.has(account)) throw new SealcamError('E_BAD_ARGUMENT', `account ${account} already exists`);
      const issued = await this.makeUser(account, 'viewer', `${account}-owner`, undefined, { createAccount: true });
      return issued;
    });
  }

  /** Add a login to an account. Camera logins are bound to one camera id. */
  async addUser(account: string, role: Role, username: string, cameraId?: string): Promise<IssuedCredentials> {
    return this.serialize(async () => {
      await this.refresh();
      return this.makeUser(account, role, username, cameraId);
    });
  }

  /** Check a login; returns who it is, or null. Constant-time compare; unknown users cost the same. */
  async authenticate(username: string, password: string): Promise<Principal | null> {
    if (!this.data.users.has(username)) await this.refresh();
    const user = this.data.users.get(username);
    const salt = user ? Buffer.from(user.scrypt.salt, 'hex') : Buffer.alloc(16);
    const derived = await scryptAsync(password, salt, 32, SCRYPT);
    if (!user) return null;
    const ok = timingSafeEqual(derived, Buffer.from(user.scrypt.hash, 'hex'));
    return ok ? { username, role: user.role, account: user.account, ...(user.cameraId ? { cameraId: user.cameraId } : {}) } : null;
  }

  /** A one-time provisioning token for a camera of `account` (goes into the pairing QR code). */
  async issueProvisioningToken(account: string, now = Date.now(), ttlMs = DEFAULT_TOKEN_TTL_MS): Promise<{ token: string; expiresAt: number }> {
    return this.serialize(async () => {
      await this.refresh();
      if (!this.data.accounts.has(account)) throw new SealcamError('E_BAD_ARGUMENT', `no account ${account}`);
      const token = randomBytes(16).toString('base64url');
      this.data.tokens.set(sha256(token), { account, expiresAt: now + ttlMs, used: false });
      this.pruneTokens(now);
      await this.save();
      return { token, expiresAt: now + ttlMs };
    });
  }

  /**
   * Trade a provisioning token for the camera's own login (once), given the camera's proof of its
   * key (PROTOCOL.md §15.6). Checked in this order, and the token is spent only when all pass:
   * the proof verifies (else E_AUTH); the token is known, unused and unexpired (E_AUTH); the
   * camera has no login in another account (E_AUTH, same message); the account is under its
   * camera cap (E_QUOTA). The same camera re-paired in its own account gets fresh credentials.
   */
  async redeemProvisioningToken(token: Uint8Array, proof: ProvisioningProof, now = Date.now()): Promise<IssuedCredentials> {
    if (!verifyProvisioning(token, proof)) throw new SealcamError('E_AUTH', REDEEM_REFUSED);
    const cameraId = toHex(proof.cameraId);
    return this.serialize(async () => {
      await this.refresh();
      const tokenKey = sha256(Buffer.from(token).toString('base64url'));
      const entry = this.data.tokens.get(tokenKey);
      if (!entry || entry.used || entry.expiresAt <= now || !this.data.accounts.has(entry.account)) throw new SealcamError('E_AUTH', REDEEM_REFUSED);
      const username = `cam-${cameraId}`;
      const existing = this.data.users.get(username);
      if (existing && (existing.role !== 'camera' || existing.account !== entry.account || existing.cameraId !== cameraId)) throw new SealcamError('E_AUTH', REDEEM_REFUSED);
      if (!existing && this.cameraCount(entry.account) >= this.maxCamerasPerAccount) {
        throw new SealcamError('E_QUOTA', `account ${entry.account} has ${this.maxCamerasPerAccount} camera logins, the most it may hold`);
      }
      // Spent in the same save that stores the new login: both happen, or neither does.
      return this.makeUser(entry.account, 'camera', username, cameraId, { replace: Boolean(existing), spendToken: tokenKey });
    });
  }

  /**
   * The operator's way to add a camera login without a token (no proof needed: the operator is
   * trusted, as for `relay account add`); the camera cap applies.
   */
  async addCameraLogin(account: string, cameraId: string): Promise<IssuedCredentials> {
    return this.serialize(async () => {
      await this.refresh();
      if (this.cameraCount(account) >= this.maxCamerasPerAccount) throw new SealcamError('E_QUOTA', `account ${account} has ${this.maxCamerasPerAccount} camera logins, the most it may hold`);
      return this.makeUser(account, 'camera', `cam-${cameraId}`, cameraId);
    });
  }

  private async makeUser(account: string, role: Role, username: string, cameraId: string | undefined, o: { createAccount?: boolean; replace?: boolean; spendToken?: string } = {}): Promise<IssuedCredentials> {
    if (!o.createAccount && !this.data.accounts.has(account) && role !== 'store') throw new SealcamError('E_BAD_ARGUMENT', `no account ${account}`);
    if (!/^[a-z0-9][a-z0-9_.-]{0,80}$/.test(username)) throw new SealcamError('E_BAD_ARGUMENT', `username ${JSON.stringify(username)} is not allowed`);
    if (this.data.users.has(username) && !o.replace) throw new SealcamError('E_BAD_ARGUMENT', `user ${username} already exists`);
    if (role === 'camera' && !(cameraId && /^[0-9a-f]{32}$/.test(cameraId))) throw new SealcamError('E_BAD_ARGUMENT', 'a camera login needs the 32-hex camera id');
    const password = newPassword();
    const issued: IssuedCredentials = { account, username, password, role, ...(cameraId ? { cameraId } : {}) };
    const hashes = await hashPassword(password);
    await this.mirror?.(issued);
    if (o.createAccount) this.data.accounts.set(account, { createdAt: Date.now() });
    this.data.users.set(username, { account, role, ...(cameraId ? { cameraId } : {}), ...hashes });
    if (o.spendToken) this.data.tokens.get(o.spendToken)!.used = true;
    await this.save();
    return issued;
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changes.then(fn, fn);
    this.changes = run.catch(() => undefined);
    return run;
  }

  private pruneTokens(now: number): void {
    for (const [k, t] of this.data.tokens) if (t.used || t.expiresAt <= now) this.data.tokens.delete(k);
  }

  private async save(): Promise<void> {
    const file = { v: 1, accounts: Object.fromEntries(this.data.accounts), users: Object.fromEntries(this.data.users), tokens: Object.fromEntries(this.data.tokens) };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 1)}\n`, 0o600);
    this.loadedMtimeMs = (await lstat(this.path)).mtimeMs;
    this.generation++;
  }
}

const emptyData = (): AccountsData => ({ accounts: new Map(), users: new Map(), tokens: new Map() });

/** accounts.json's text, or null if there is none; a symlink in its place is E_DATA_DIR. */
async function readAccountsFile(path: string): Promise<string | null> {
  try {
    return (await readFileNoFollow(path)).toString('utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new SealcamError('E_DATA_DIR', 'accounts.json is a symlink; the relay never follows one in its data directory');
    throw e;
  }
}

function parseAccounts(text: string): AccountsData {
  let file: { v?: unknown; accounts?: unknown; users?: unknown; tokens?: unknown };
  try {
    file = JSON.parse(text) as typeof file;
  } catch {
    throw new SealcamError('E_STORE', 'accounts.json is damaged (not JSON)');
  }
  if (file === null || typeof file !== 'object' || file.v !== 1) throw new SealcamError('E_STORE', 'accounts.json: unknown version');
  const table = <T>(o: unknown): Map<string, T> => new Map(o && typeof o === 'object' ? (Object.entries(o) as [string, T][]) : []);
  return { accounts: table(file.accounts), users: table(file.users), tokens: table(file.tokens) };
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
