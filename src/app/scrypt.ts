/** scrypt in the page for the backup file (protocol/backup.ts): @noble/hashes, pure JS. */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import type { Scrypt } from '../protocol/backup.js';

export const pageScrypt: Scrypt = (passphrase, salt, params) => scryptAsync(passphrase, salt, { ...params, maxmem: 2 ** 29 });
