/**
 * The cloud relay, wired from its parts:
 *   account store (accounts.ts) → opaque store (store.ts) → ingest (ingest.ts)
 *   → embedded broker (broker.ts, aedes on TCP + WebSocket) or a store worker on an external
 *     broker (store-worker.ts) → history and provisioning HTTP API (http-api.ts).
 * It holds no key and imports no decryption path (test/layout.test.ts checks the import closure).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SealcamError } from '../protocol/errors.js';
import { AccountStore } from './accounts.js';
import { startBroker, type MisrouteFault, type RunningBroker } from './broker.js';
import { startHttpApi, type HttpApi } from './http-api.js';
import { Ingest } from './ingest.js';
import { OpaqueStore, type RetentionPolicy } from './store.js';
import { startStoreWorker, type StoreWorker } from './store-worker.js';

export interface RelayOptions {
  dataDir: string;
  host?: string;
  port?: number;
  wsPort?: number;
  httpPort?: number;
  retention?: RetentionPolicy;
  fault?: { misroute?: MisrouteFault };
  /** attach to this external broker instead of embedding one */
  broker?: string;
  log?: (msg: string) => void;
}

export interface Relay {
  accounts: AccountStore;
  store: OpaqueStore;
  ingest: Ingest;
  broker: RunningBroker | null;
  worker: StoreWorker | null;
  http: HttpApi;
  /** mqtt://host:port of the embedded broker, or the external one */
  mqttUrl: string;
  wsUrl: string | null;
  httpUrl: string;
  close(): Promise<void>;
}

export const STORE_CREDENTIALS_FILE = 'store-credentials.json';

export async function startRelay(o: RelayOptions): Promise<Relay> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => undefined);
  const accounts = await AccountStore.open(o.dataDir);
  const store = await OpaqueStore.open(o.dataDir, o.retention);
  const ingest = new Ingest(store, log);
  let broker: RunningBroker | null = null;
  let worker: StoreWorker | null = null;
  let mqttUrl: string;
  if (o.broker) {
    if (o.fault?.misroute) throw new SealcamError('E_CONFIG', '--fault misroute needs the embedded broker');
    const text = await readFile(join(o.dataDir, STORE_CREDENTIALS_FILE), 'utf8').catch(() => null);
    if (!text) throw new SealcamError('E_CONFIG', `no ${STORE_CREDENTIALS_FILE} in ${o.dataDir}: run sealcam relay mosquitto-config first`);
    const creds = JSON.parse(text) as { username: string; password: string };
    worker = await startStoreWorker({ url: o.broker, username: creds.username, password: creds.password, ingest, log });
    mqttUrl = o.broker;
  } else {
    broker = await startBroker({ accounts, ingest, host, ...(o.port !== undefined ? { port: o.port } : {}), ...(o.wsPort !== undefined ? { wsPort: o.wsPort } : {}), ...(o.fault ? { fault: o.fault } : {}), log });
    mqttUrl = `mqtt://${host}:${broker.port}`;
  }
  const wsUrl = broker ? `ws://${host}:${broker.wsPort}` : null;
  const http = await startHttpApi({ accounts, store, host, info: () => ({ mqttUrl, wsUrl }), ...(o.httpPort !== undefined ? { port: o.httpPort } : {}) });
  return {
    accounts,
    store,
    ingest,
    broker,
    worker,
    http,
    mqttUrl,
    wsUrl,
    httpUrl: `http://${host}:${http.port}`,
    close: async () => {
      await worker?.close();
      await broker?.close();
      await http.close();
    },
  };
}
