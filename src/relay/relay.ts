/**
 * The cloud relay, wired from its parts:
 *   account store (accounts.ts) → opaque store (store.ts) → ingest (ingest.ts)
 *   → embedded broker (broker.ts, aedes on TCP + WebSocket) or a store worker on an external
 *     broker (store-worker.ts) → history and provisioning HTTP API (http-api.ts).
 * It holds no key and imports no decryption path (test/layout.test.ts checks the import closure).
 */
import { createHash, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { SealcamError } from '../protocol/errors.js';
import { readJson, writeFileAtomic } from '../media/atomic-file.js';
import { AccountStore } from './accounts.js';
import { startBroker, type RunningBroker } from './broker.js';
import { BROKER_ADMIN_FILE, BrokerAdmin, readBrokerAdmin } from './dynsec.js';
import { MISROUTE_ROLE, misrouteAcls, startMisrouter, type MisrouteFault, type Misrouter } from './misroute.js';
import { startHttpApi, type HttpApi, type HttpApiOptions } from './http-api.js';
import { Ingest } from './ingest.js';
import { OpaqueStore, type RetentionPolicy } from './store.js';
import { startStoreWorker, type StoreWorker } from './store-worker.js';
import type { RelayTls } from './tls.js';
import { LoginGuard } from './login-guard.js';

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
  /**
   * the external broker's dynamic-security admin login, through which every login the relay makes
   * is added to the broker (default: <data>/broker-admin.json if present; null: none, the broker
   * must already know the logins or accept any)
   */
  brokerAdmin?: { username: string; password: string } | null;
  /** with an external broker: keep the store worker's session while the relay is down (default true) */
  persistentSession?: boolean;
  /** with a dynamic-security broker: take the relay's logins out of it on close (the demo's, on a user's broker) */
  removeLoginsOnClose?: boolean;
  /** camera logins per account (default DEFAULT_MAX_CAMERAS_PER_ACCOUNT, 64) */
  maxCamerasPerAccount?: number;
  /**
   * serve MQTT, WebSocket and the HTTP API over TLS with this certificate (§15.8; tls.ts makes or
   * loads it). Absent or null: plaintext (the embedded demo on the loopback address, tests).
   */
  tls?: RelayTls | null;
  /**
   * with an external mqtts:// broker: the key it must present (default: this relay's own, which
   * `relay mosquitto-config` gives Mosquitto's TLS listener); null: the system CAs decide
   */
  brokerFingerprint?: string | null;
  /** the owner's phone app to serve at /app/ (static files; see src/cli/app.ts) */
  app?: HttpApiOptions['app'];
  /** every log line goes through escapeLogLine first, so input such as a topic cannot forge a line */
  log?: (msg: string) => void;
}

export interface Relay {
  accounts: AccountStore;
  store: OpaqueStore;
  ingest: Ingest;
  broker: RunningBroker | null;
  worker: StoreWorker | null;
  /** with an external dynamic-security broker: the relay's admin session on it */
  admin: BrokerAdmin | null;
  /** with an external broker and the misroute fault */
  misrouter: Misrouter | null;
  http: HttpApi;
  /** mqtt://host:port of the embedded broker, or the external one */
  mqttUrl: string;
  wsUrl: string | null;
  httpUrl: string;
  /** the relay's key fingerprint (`sha256/…`), which pairing codes carry; null when plaintext */
  fingerprint: string | null;
  close(): Promise<void>;
}

export const STORE_CREDENTIALS_FILE = 'store-credentials.json';

export async function startRelay(o: RelayOptions): Promise<Relay> {
  const host = o.host ?? '127.0.0.1';
  const sink = o.log;
  const log = sink ? (m: string) => sink(escapeLogLine(m)) : () => undefined;
  const accounts = await AccountStore.open(o.dataDir, o.maxCamerasPerAccount !== undefined ? { maxCamerasPerAccount: o.maxCamerasPerAccount } : {});
  const store = await OpaqueStore.open(o.dataDir, o.retention);
  const ingest = new Ingest(store, log);
  let broker: RunningBroker | null = null;
  let worker: StoreWorker | null = null;
  let admin: BrokerAdmin | null = null;
  let misrouter: Misrouter | null = null;
  let mqttUrl: string;
  const tls = o.tls ?? null;
  // One set of login limits for MQTT and HTTP: a flood on either cannot starve the other's logins.
  const loginGuard = new LoginGuard();
  if (o.broker) {
    const url = o.broker;
    // The relay's own logins on a TLS broker trust the key it must present, as cameras do.
    const brokerPin = o.brokerFingerprint !== undefined ? o.brokerFingerprint : url.startsWith('mqtts:') ? (tls?.fingerprint ?? null) : null;
    const adminLogin = o.brokerAdmin !== undefined ? o.brokerAdmin : await readBrokerAdmin(join(o.dataDir, BROKER_ADMIN_FILE));
    try {
      if (adminLogin) {
        admin = await BrokerAdmin.connect(url, { ...adminLogin, fingerprint: brokerPin });
        admin.mirror(accounts);
        log(`logins are added to ${url} through its dynamic-security plugin`);
      }
      const storeLogin = await ensureStoreLogin(accounts, o.dataDir);
      // Roles first: Mosquitto disconnects a client whose roles change.
      if (o.fault?.misroute) await admin?.grant(storeLogin.username, MISROUTE_ROLE, misrouteAcls(o.fault.misroute));
      else await admin?.revoke(MISROUTE_ROLE); // left over from a run with the fault
      worker = await startStoreWorker({ url, ...storeLogin, fingerprint: brokerPin, ...(o.persistentSession === false ? { persistent: false } : {}), ingest, log }).catch((e: unknown) => {
        if (SealcamError.is(e) && /not authori[sz]ed|bad user/i.test(e.message)) {
          throw new SealcamError(
            'E_BROKER',
            `${url} refused the relay's store login (${e.message.replace(/^E_[A-Z_]+: /, '')}). The broker must know the relay's logins: give the relay its dynamic-security admin (<data>/broker-admin.json, or demo --broker-admin FILE), or write its config again with sealcam relay mosquitto-config and reload it`,
          );
        }
        throw e;
      });
      if (o.fault?.misroute) misrouter = await startMisrouter({ url, login: { ...storeLogin, fingerprint: brokerPin }, accounts, fault: o.fault.misroute, log });
    } catch (e) {
      await misrouter?.close();
      await worker?.close();
      await admin?.close();
      throw e;
    }
    mqttUrl = url;
  } else {
    broker = await startBroker({ accounts, ingest, host, loginGuard, ...(o.port !== undefined ? { port: o.port } : {}), ...(o.wsPort !== undefined ? { wsPort: o.wsPort } : {}), ...(o.fault ? { fault: o.fault } : {}), ...(tls ? { tls } : {}), log });
    mqttUrl = `${tls ? 'mqtts' : 'mqtt'}://${urlHost(host)}:${broker.port}`;
  }
  const wsUrl = broker ? `${tls ? 'wss' : 'ws'}://${urlHost(host)}:${broker.wsPort}` : null;
  const fingerprint = tls?.fingerprint ?? null;
  const http = await startHttpApi({ accounts, store, host, log, loginGuard, info: () => ({ mqttUrl, wsUrl, fingerprint }), ...(o.app ? { app: o.app } : {}), ...(tls ? { tls } : {}), ...(o.httpPort !== undefined ? { port: o.httpPort } : {}) });
  return {
    accounts,
    store,
    ingest,
    broker,
    worker,
    admin,
    misrouter,
    http,
    mqttUrl,
    wsUrl,
    httpUrl: `${tls ? 'https' : 'http'}://${urlHost(host)}:${http.port}`,
    fingerprint,
    close: async () => {
      await misrouter?.close();
      await worker?.close();
      if (misrouter) await admin?.revoke(MISROUTE_ROLE);
      if (o.removeLoginsOnClose) for (const u of accounts.users) await admin?.removeLogin(u.username);
      await admin?.close();
      await broker?.close();
      await http.close();
    },
  };
}

/** A listen address as clients dial it: the loopback address for "every interface", IPv6 in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * One log line, safe to print: control characters (a `\n` in a topic or username would start a
 * forged line) and backslashes are escaped as \xNN / \\, so every call prints exactly one line.
 */
export function escapeLogLine(msg: string): string {
  // eslint-disable-next-line no-control-regex
  return msg.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return c === '\\' ? '\\\\' : code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/**
 * The relay's own `store` login for an external broker: made once, kept in
 * <data>/store-credentials.json (0600) with the client id of its persistent session, so a restarted
 * relay picks up what the broker queued for it.
 */
export async function ensureStoreLogin(accounts: AccountStore, dataDir: string): Promise<{ username: string; password: string; clientId: string }> {
  const path = join(dataDir, STORE_CREDENTIALS_FILE);
  const c = await readJson<{ username?: unknown; password?: unknown; clientId?: unknown }>(path);
  if (c !== null) {
    if (typeof c.username !== 'string' || typeof c.password !== 'string') throw new SealcamError('E_CONFIG', `${path} is damaged`);
    // Files from before the client id was kept: one derived from the data directory, stable too.
    const clientId = typeof c.clientId === 'string' ? c.clientId : `sealcam-store-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16)}`;
    return { username: c.username, password: c.password, clientId };
  }
  // A name of its own, so several relays (or a demo) can share a broker without replacing each other's.
  const id = randomBytes(6).toString('hex');
  const creds = await accounts.addUser('', 'store', `sealcam-store-${id}`);
  const login = { username: creds.username, password: creds.password, clientId: `sealcam-store-${id}` };
  await writeFileAtomic(path, `${JSON.stringify(login)}\n`, 0o600);
  return login;
}
