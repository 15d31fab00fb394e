/**
 * What the app keeps on the phone, in IndexedDB (database "sealcam", one key-value store). The
 * owner's secret keys are made in the page and never leave it except in a passphrase-protected
 * backup (backup.ts); nothing here is sent to the relay.
 *
 *   key                value
 *   identity           {v:1, secret: hex(64)}              the owner's Ed25519 seed ‖ X25519 secret
 *   login              AppLogin                             relay URL, account, viewer login, pin
 *   cameras            AppCamera[]                          paired cameras, their rosters
 *   pairings           string[]                             pairing ids already used (§3 one-time)
 *   stream:<cameraId>  StreamSnapshot                       live replay protection (§8.5)
 */
import type { StreamSnapshot } from '../protocol/index.js';

export interface AppLogin {
  /** http(s)://host:port of the relay's HTTP API */
  httpUrl: string;
  account: string;
  username: string;
  password: string;
  /** the relay's key fingerprint (`sha256/…`, §15.8) when it runs TLS */
  fingerprint: string | null;
}

export interface StoredKeys {
  signPublicKey: string;
  boxPublicKey: string;
}

export interface AppCamera extends StoredKeys {
  name: string;
  /** the camera id (hex), derived from its keys */
  id: string;
  rosterVersion: number;
  /** household viewers besides the owner */
  viewers: (StoredKeys & { id: string; name: string })[];
  pairedAt: number;
}

/** seen:<camera id>: the newest seq a history view opened (as the Node viewer's seen/<id>.json) */
export interface SeenRecord {
  v: 1;
  highestSeq: number;
}

export type StoredValue = { v: 1; secret: string } | AppLogin | AppCamera[] | string[] | StreamSnapshot | SeenRecord;

const DB = 'sealcam';
const STORE = 'kv';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let db: Promise<IDBDatabase> | null = null;

async function tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const d = await (db ??= open());
  return new Promise((resolve, reject) => {
    const req = f(d.transaction(STORE, mode).objectStore(STORE));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export const store = {
  get: <T extends StoredValue>(key: string) => tx<T | undefined>('readonly', (s) => s.get(key) as IDBRequest<T | undefined>),
  put: (key: string, value: StoredValue) => tx('readwrite', (s) => s.put(value, key)).then(() => undefined),
  del: (key: string) => tx('readwrite', (s) => s.delete(key)).then(() => undefined),
  keys: () => tx('readonly', (s) => s.getAllKeys()).then((k) => k.map(String)),
  cameras: async (): Promise<AppCamera[]> => (await store.get<AppCamera[]>('cameras')) ?? [],
  saveCamera: async (cam: AppCamera): Promise<void> => {
    const all = (await store.cameras()).filter((c) => c.id !== cam.id);
    await store.put('cameras', [...all, cam]);
  },
};
