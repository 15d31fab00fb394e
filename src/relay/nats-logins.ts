/**
 * NATS checks passwords itself, against bcrypt hashes in its configuration (nats-config.ts), and
 * the account store keeps only scrypt and Mosquitto's PBKDF2 form. So the relay records a bcrypt
 * hash of each login at the one moment its password exists (AccountStore.mirror), one file per
 * login: <data>/nats-logins/<username> (0600), written atomically, so several store workers
 * provisioning cameras at once never overwrite each other's. A login made before the relay ran
 * with NATS has no hash here: `relay nats-config` names it, and it must be issued again.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { writeFileAtomic } from '../media/atomic-file.js';
import type { AccountStore, IssuedCredentials } from './accounts.js';
import type { NatsLogin } from './nats-config.js';

export const NATS_LOGINS_DIR = 'nats-logins';
/** bcrypt cost: NATS pays it on every connect, so a reconnect storm of 1,000 cameras costs ~1,000 × 60 ms of CPU. */
const BCRYPT_COST = 10;

export async function recordNatsLogin(dataDir: string, login: { username: string; password: string }): Promise<void> {
  const dir = join(dataDir, NATS_LOGINS_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, login.username), `${await bcrypt.hash(login.password, BCRYPT_COST)}\n`, 0o600);
}

/** Record every login `accounts` makes from now on (chains any mirror already set). */
export function mirrorNatsLogins(accounts: AccountStore, dataDir: string): void {
  const before = accounts.mirror;
  accounts.mirror = async (login: IssuedCredentials) => {
    await before?.(login);
    await recordNatsLogin(dataDir, login);
  };
}

/** The logins NATS can check (with their hashes), and the usernames it cannot (no hash recorded). */
export async function natsLogins(accounts: AccountStore, dataDir: string): Promise<{ logins: NatsLogin[]; missing: string[] }> {
  await accounts.refresh();
  const logins: NatsLogin[] = [];
  const missing: string[] = [];
  for (const u of accounts.users) {
    const hash = (await readFile(join(dataDir, NATS_LOGINS_DIR, u.username), 'utf8').catch(() => '')).trim();
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      missing.push(u.username);
      continue;
    }
    logins.push({ username: u.username, role: u.role, account: u.account, ...(u.cameraId ? { cameraId: u.cameraId } : {}), bcrypt: hash });
  }
  return { logins, missing };
}
