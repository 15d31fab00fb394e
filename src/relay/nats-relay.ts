/**
 * The relay as one stateless member of a NATS deployment (issue 15):
 *   account store (accounts.ts) → opaque store (store.ts: on the shared filesystem, or with
 *   `store: 'jetstream'` in the cluster's replicated object store) → ingest
 *   → NATS store worker (nats-worker.ts) → history and provisioning HTTP API (http-api.ts).
 * Any number run side by side on one shared data directory. Logins they make (a camera's, at
 * provisioning) get a bcrypt hash for NATS (nats-logins.ts); with `natsConfigDir` the worker also
 * rewrites that folder's auth.conf and signals the nodes on this machine to reload it.
 * It holds no key and imports no decryption path (test/layout.test.ts).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../media/atomic-file.js';
import { AccountStore } from './accounts.js';
import { Ingest } from './ingest.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from './nats-client.js';
import { OpaqueStore, type RetentionPolicy } from './store.js';
import { JetStreamBackend } from './store-backend.js';
import { startHttpApi, type HttpApi } from './http-api.js';
import { LoginGuard } from './login-guard.js';
import { ensureStoreLogin, escapeLogLine } from './relay.js';
import { startNatsWorker, type NatsWorker } from './nats-worker.js';
import { NATS_LOGINS_DIR, mirrorNatsLogins, natsLogins, recordNatsLogin } from './nats-logins.js';
import { natsAuthText, reloadNatsNodes } from './nats-config.js';
import type { RelayTls } from './tls.js';

export interface NatsRelayOptions {
  dataDir: string;
  /** nats://host:port of the cluster's nodes */
  servers: string[];
  /** what the HTTP API tells owners to connect to (the MQTT listeners), first one first */
  mqttUrls: string[];
  host?: string;
  httpPort?: number;
  retention?: RetentionPolicy;
  replicas?: number;
  /** see NatsWorkerOptions.ackWaitMs */
  ackWaitMs?: number;
  tls?: RelayTls | null;
  /** the folder `relay nats-config` wrote: keep its auth.conf current and reload the nodes here */
  natsConfigDir?: string;
  /**
   * where the opaque store keeps its files: 'fs' (default), <dataDir>/store, shared by every
   * worker (NFS or one machine); 'jetstream', the cluster's object store `sealcam-store` with
   * `replicas`, which survives a node and needs no shared filesystem
   */
  store?: 'fs' | 'jetstream';
  log?: (msg: string) => void;
}

export interface NatsRelay {
  accounts: AccountStore;
  store: OpaqueStore;
  ingest: Ingest;
  worker: NatsWorker;
  http: HttpApi;
  httpUrl: string;
  close(): Promise<void>;
}

/** Rewrite <dir>/auth.conf with every login NATS can check, and reload the nodes whose pid files are there. */
export async function refreshNatsAuth(accounts: AccountStore, dataDir: string, dir: string, extra?: Parameters<typeof natsAuthText>[0][number]): Promise<number> {
  const { logins } = await natsLogins(accounts, dataDir);
  const all = extra ? [...logins.filter((l) => l.username !== extra.username), extra] : logins;
  await writeFileAtomic(join(dir, 'auth.conf'), natsAuthText(all), 0o600);
  const pids = (await readdir(dir)).filter((f) => /^node-\d+\.pid$/.test(f)).map((f) => join(dir, f));
  return reloadNatsNodes(pids);
}

export async function startNatsRelay(o: NatsRelayOptions): Promise<NatsRelay> {
  const sink = o.log;
  const log = sink ? (m: string) => sink(escapeLogLine(m)) : () => undefined;
  const host = o.host ?? '127.0.0.1';
  const accounts = await AccountStore.open(o.dataDir);
  mirrorNatsLogins(accounts, o.dataDir);
  if (o.natsConfigDir) {
    const dir = o.natsConfigDir;
    const record = accounts.mirror!;
    accounts.mirror = async (login) => {
      await record(login);
      const bcrypt = (await readFile(join(o.dataDir, NATS_LOGINS_DIR, login.username), 'utf8')).trim();
      const n = await refreshNatsAuth(accounts, o.dataDir, dir, { username: login.username, role: login.role, account: login.account, ...(login.cameraId ? { cameraId: login.cameraId } : {}), bcrypt });
      log(`login ${login.username}: ${dir}/auth.conf rewritten, ${n} node(s) reloaded`);
    };
  }
  const storeLogin = await ensureStoreLogin(accounts, o.dataDir);
  await recordNatsLogin(o.dataDir, storeLogin);
  const storeConnection: NatsConnection | null = o.store === 'jetstream' ? await connectNats(o.servers, storeLogin, 'sealcam-store-objects') : null;
  let store: OpaqueStore;
  let ingest: Ingest;
  let worker: NatsWorker;
  try {
    store = storeConnection ? await OpaqueStore.openOn(await JetStreamBackend.open(storeConnection, { replicas: o.replicas ?? 3 }), o.retention) : await OpaqueStore.open(o.dataDir, o.retention);
    ingest = new Ingest(store, log);
    worker = await startNatsWorker({ servers: o.servers, username: storeLogin.username, password: storeLogin.password, ingest, ...(o.replicas ? { replicas: o.replicas } : {}), ...(o.ackWaitMs ? { ackWaitMs: o.ackWaitMs } : {}), log });
  } catch (e) {
    await storeConnection?.close(); // nothing left open by a worker that could not start
    throw e;
  }
  const tls = o.tls ?? null;
  const info = () => ({ mqttUrl: o.mqttUrls[0] ?? '', wsUrl: null, fingerprint: tls?.fingerprint ?? null });
  const http = await startHttpApi({ accounts, store, host, log, loginGuard: new LoginGuard(), info, ...(tls ? { tls } : {}), ...(o.httpPort !== undefined ? { port: o.httpPort } : {}) }).catch(async (e: unknown) => {
    await worker.close();
    await storeConnection?.close();
    throw e;
  });
  return {
    accounts,
    store,
    ingest,
    worker,
    http,
    httpUrl: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${http.port}`,
    close: async () => {
      await worker.close();
      await http.close();
      await storeConnection?.drain().catch(() => storeConnection?.close());
    },
  };
}
