/** `sealcam relay …`: the cloud relay (an MQTT broker plus an opaque store it cannot read). */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { port } from './options.js';
import { AccountStore, DEFAULT_MAX_CAMERAS_PER_ACCOUNT } from '../relay/accounts.js';
import { DEFAULT_ACCOUNT_QUOTA_BYTES, DEFAULT_MAX_STORE_BYTES } from '../relay/store.js';
import { writeMosquittoConfig } from '../relay/mosquitto.js';
import { ensureStoreLogin, startRelay } from '../relay/relay.js';
import { buildApp } from './app.js';
import { parseFingerprint, relayTls } from '../relay/tls.js';
import { appOrigin } from '../relay/http-api.js';
import { urlsOf } from './options.js';
import { BROKER_ADMIN_FILE, BrokerAdmin, brokerAdminFor, findDynsecPlugin, readBrokerAdmin } from '../relay/dynsec.js';
import { SealcamError } from '../protocol/errors.js';
import { natsNodePorts, writeNatsConfig } from '../relay/nats-config.js';
import { mirrorNatsLogins, natsLogins, recordNatsLogin } from '../relay/nats-logins.js';
import { refreshNatsAuth, startNatsRelay } from '../relay/nats-relay.js';

/** A comma-separated list of URLs with one of `schemes`, as a command-line option. */
function urlList(schemes: string[]) {
  return (value: string): string[] => {
    try {
      return urlsOf(value, schemes, 'URL list');
    } catch {
      throw new InvalidArgumentError(`expected ${schemes.join('|')}://host:port[,…]`);
    }
  };
}

/** --app-origin, repeatable: each one checked (scheme://host[:port]) and collected. */
function appOrigins(value: string, previous: string[] = []): string[] {
  try {
    return [...previous, appOrigin(value)];
  } catch (e) {
    throw new InvalidArgumentError(SealcamError.is(e) ? `${e.message.replace(/^E_[A-Z_]+: /, '')} (E_CONFIG)` : String(e));
  }
}

function positiveInteger(value: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('expected a positive whole number');
  return Number(value);
}

function fault(value: string): { misroute: { toAccount?: string } } {
  const m = /^misroute(?::([a-z0-9][a-z0-9_-]{0,63}))?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected misroute or misroute:ACCOUNT');
  return { misroute: m[1] ? { toAccount: m[1] } : {} };
}

interface RelayCliOptions {
  /** --app-origin: origins of a self-hosted owner app allowed to call the HTTP API (CORS) */
  appOrigin?: string[];
  data?: string;
  host: string;
  port: number;
  wsPort: number;
  httpPort: number;
  tlsCert?: string;
  tlsKey?: string;
  plaintext?: boolean;
  broker?: string;
  brokerFingerprint?: string;
  fault?: { misroute: { toAccount?: string } };
  retentionDays: number;
  retentionBytes: number;
  accountQuota: number;
  maxCameras: number;
  nats?: string[];
  mqttUrls?: string[];
  natsConfig?: string;
  store: 'fs' | 'jetstream';
}

function storeKind(v: string): 'fs' | 'jetstream' {
  if (v !== 'fs' && v !== 'jetstream') throw new SealcamError('E_CONFIG', `--store: expected fs or jetstream, got ${JSON.stringify(v)}`);
  return v;
}

const isLoopback = (host: string) => host === '127.0.0.1' || host === '::1' || host === 'localhost';

export function registerRelay(program: Command): void {
  const relay = program
    .command('relay')
    .description('run the cloud relay: MQTT 3.1.1 broker (TCP and WebSocket), opaque segment store and history API. It never holds a key')
    .option('--data <dir>', 'data directory: accounts (hashed credentials) and the opaque store (required)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'MQTT over TCP', port, 1883)
    .option('--ws-port <n>', 'MQTT over WebSocket (for browser viewers)', port, 9001)
    .option('--http-port <n>', 'history and provisioning HTTP API', port, 8080)
    .option('--tls-cert <file>', 'PEM certificate (e.g. CA-issued, for browsers) for MQTT, WebSocket and HTTPS; without it the relay makes a self-signed one in <data>/tls/ on first start and keeps it')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--plaintext', 'no TLS: logins and the relay identity cross the network in clear (only for the loopback address or a network you trust)')
    .option('--broker-fingerprint <sha256/…>', "with --broker mqtts://…: the key the broker must present (default: this relay's own, which relay mosquitto-config gives Mosquitto)")
    .option(
      '--broker <url>',
      'attach the store to this external broker (e.g. mqtt://127.0.0.1:1884) instead of embedding aedes; it must know the logins (relay mosquitto-config), and with --dynamic-security there the relay adds new ones (cameras provisioned later) itself',
    )
    .option('--nats <urls>', 'run as a stateless store worker of a NATS cluster (relay nats-config): nats://h1:p1,nats://h2:p2; files uploads from its JetStream stream into --data (shared by every worker) and serves the history API', urlList(['nats', 'tls']))
    .option('--mqtt-urls <urls>', "with --nats: the cluster's MQTT listeners, which the HTTP API names to owners", urlList(['mqtt', 'mqtts']))
    .option('--nats-config <dir>', 'with --nats: the folder relay nats-config wrote; logins made here (cameras provisioned) are written to its auth.conf and the nodes of this machine reload it')
    .option('--store <where>', "with --nats: where the store's files live: fs (<data>/store, which every worker must share) or jetstream (the cluster's object store sealcam-store, replicas 3: survives a node, no shared filesystem)", storeKind, 'fs')
    .option('--fault <fault>', 'TEST ONLY: misroute (deliver every camera topic to the other accounts too) or misroute:ACCOUNT; with --broker the relay republishes the traffic itself', fault)
    .option('--retention-days <n>', 'drop segments and announcements stored longer ago than this', positiveInteger, 30)
    .option('--account-quota <bytes>', "each account's quota in bytes (1 GiB by default), its segments and announcements together; an account over it evicts only its own oldest files, and what still does not fit is refused with E_QUOTA and shown in GET …/usage", positiveInteger, DEFAULT_ACCOUNT_QUOTA_BYTES)
    .option('--retention-bytes <n>', "ceiling of the whole store in bytes (10 GiB by default); reaching it makes the uploading account evict its own oldest files, never another account's", positiveInteger, DEFAULT_MAX_STORE_BYTES)
    .option('--max-cameras <n>', 'camera logins per account', positiveInteger, DEFAULT_MAX_CAMERAS_PER_ACCOUNT)
    .option('--app-origin <origin>', 'the owner app self-hosted at this origin (https://host[:port], from `sealcam app build`) may call the HTTP API (CORS); repeat for more; default: only the app this relay serves at /app/', appOrigins)
    .action(async (opts: RelayCliOptions) => {
      if (!opts.data) throw new SealcamError('E_CONFIG', 'sealcam relay: --data <dir> is required');
      if (opts.plaintext && (opts.tlsCert || opts.tlsKey)) throw new SealcamError('E_CONFIG', '--plaintext and --tls-cert/--tls-key exclude each other');
      const dataDir = resolve(opts.data);
      if (opts.plaintext && !isLoopback(opts.host)) process.stderr.write(`WARNING: --plaintext on ${opts.host}: logins and the relay's identity cross the network in clear\n`);
      const tls = opts.plaintext
        ? null
        : await relayTls({ dataDir, hosts: [opts.host], ...(opts.tlsCert ? { certFile: resolve(opts.tlsCert) } : {}), ...(opts.tlsKey ? { keyFile: resolve(opts.tlsKey) } : {}) });
      if (opts.fault) process.stderr.write(`WARNING: --fault misroute is on: camera traffic is deliberately delivered to ${opts.fault.misroute.toAccount ?? 'every other account'}\n`);
      if (opts.store !== 'fs' && !opts.nats) throw new SealcamError('E_CONFIG', '--store jetstream needs --nats (the object store is the NATS cluster\'s)');
      if (opts.nats) {
        const n = await startNatsRelay({
          dataDir,
          servers: opts.nats,
          mqttUrls: opts.mqttUrls ?? [],
          host: opts.host,
          httpPort: opts.httpPort,
          retention: { maxAgeMs: opts.retentionDays * 86_400_000, maxBytes: opts.retentionBytes, accountQuotaBytes: opts.accountQuota },
          tls,
          ...(opts.natsConfig ? { natsConfigDir: resolve(opts.natsConfig) } : {}),
          store: opts.store,
          log: (m) => process.stderr.write(`relay: ${m}\n`),
        });
        if (opts.appOrigin) n.http.allowAppOrigins(opts.appOrigin);
        process.stdout.write(`relay store worker up: nats ${opts.nats.join(',')}, http ${n.httpUrl}, data ${dataDir}, store ${n.store.backend.where}\n`);
        const stopWorker = async () => {
          await n.close();
          process.exit(0);
        };
        process.once('SIGINT', stopWorker);
        process.once('SIGTERM', stopWorker);
        return;
      }
      // The owner's app at /app/, built from src/app when it is installed here (not in every image).
      const app = await buildApp().catch((e: unknown) => {
        process.stderr.write(`relay: not serving the owner app at /app/ (${e instanceof Error ? e.message : String(e)})\n`);
        return null;
      });
      const r = await startRelay({
        dataDir,
        ...(app ? { app: app.files } : {}),
        host: opts.host,
        port: opts.port,
        wsPort: opts.wsPort,
        httpPort: opts.httpPort,
        retention: { maxAgeMs: opts.retentionDays * 86_400_000, maxBytes: opts.retentionBytes, accountQuotaBytes: opts.accountQuota },
        maxCamerasPerAccount: opts.maxCameras,
        ...(opts.broker ? { broker: opts.broker } : {}),
        ...(opts.brokerFingerprint ? { brokerFingerprint: parseFingerprint(opts.brokerFingerprint, '--broker-fingerprint') } : {}),
        ...(opts.fault ? { fault: opts.fault } : {}),
        tls,
        log: (m) => process.stderr.write(`relay: ${m}\n`),
      });
      if (opts.appOrigin) r.http.allowAppOrigins(opts.appOrigin);
      process.stdout.write(`relay up: mqtt ${r.mqttUrl}${r.wsUrl ? `, websocket ${r.wsUrl}` : ''}, http ${r.httpUrl}, data ${dataDir}\n`);
      if (opts.appOrigin) process.stdout.write(`owner app also allowed from: ${opts.appOrigin.join(', ')} (CORS)\n`);
      if (app) process.stdout.write(`owner app: ${r.httpUrl}/app/ (app.js SHA-256 ${app.hash})\n`);
      if (tls) {
        process.stdout.write(
          `relay key fingerprint: ${tls.fingerprint} (${tls.origin === 'files' ? `from ${opts.tlsCert}` : `self-signed, kept in ${resolve(dataDir, 'tls')}`})\n` +
            `  pairing codes carry it, so cameras trust this relay only; owners compare it at \`sealcam owner login\`\n`,
        );
      }
      const stop = async () => {
        await r.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  const account = relay.command('account').description('accounts and logins');
  account
    .command('add')
    .description("create an account and print its owner's viewer login (shown once; only its hash is stored)")
    .argument('<name>', 'account name: 1-64 of [a-z0-9_-]; "pair" and "fw" are reserved')
    .requiredOption('--data <dir>', 'relay data directory')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { data: string; json?: boolean }) => {
      const dataDir = resolve(opts.data);
      const store = await AccountStore.open(dataDir);
      // A relay on a dynamic-security broker: the broker must learn the login too.
      const login = await readBrokerAdmin(resolve(dataDir, BROKER_ADMIN_FILE));
      const admin = login ? await BrokerAdmin.connect(login.url, login) : null;
      admin?.mirror(store);
      mirrorNatsLogins(store, dataDir); // a bcrypt hash for a NATS cluster (nats-logins.ts)
      const creds = await store.addAccount(name).finally(() => admin?.close());
      process.stdout.write(opts.json ? `${JSON.stringify(creds)}\n` : `account ${creds.account}\n  username ${creds.username}\n  password ${creds.password}\n(the password is not stored and cannot be shown again)\n`);
    });
  account
    .command('list')
    .description('list accounts and logins (never passwords)')
    .requiredOption('--data <dir>', 'relay data directory')
    .action(async (opts: { data: string }) => {
      const store = await AccountStore.open(resolve(opts.data));
      for (const name of store.accountNames) {
        process.stdout.write(`${name}\n`);
        for (const u of store.users.filter((x) => x.account === name)) process.stdout.write(`  ${u.role.padEnd(6)} ${u.username}${u.cameraId ? ` camera ${u.cameraId}` : ''}\n`);
      }
    });

  relay
    .command('mosquitto-config')
    .description(
      'write mosquitto.conf for Mosquitto 2 with the same logins and topic rules (a static passwd + acl, or with --dynamic-security the plugin that lets the relay add logins while the broker runs), plus the store login the relay uses with --broker',
    )
    .requiredOption('--data <dir>', 'relay data directory')
    .requiredOption('--out <dir>', 'where to write mosquitto.conf and its files')
    .option('--host <addr>', 'listener address for mosquitto.conf', '127.0.0.1')
    .option('--port <n>', 'listener port for mosquitto.conf', port, 1884)
    .option('--run-as <user>', "user for mosquitto.conf's `user` line (Mosquitto started as root otherwise drops to `mosquitto`, which cannot read the 0600 files unless you chown them)")
    .option('--dynamic-security', "use Mosquitto's dynamic-security plugin: the relay (--broker) adds each new login, e.g. a camera's at provisioning, without a restart; its admin login is kept in <data>/broker-admin.json")
    .option('--plugin <path>', 'mosquitto_dynamic_security.so (default: looked for in the usual library directories)')
    .option('--plaintext', "a plain MQTT listener (by default it uses the relay's TLS certificate, made in <data>/tls/ if there is none yet, so cameras that pinned the relay trust the broker)")
    .action(async (opts: { data: string; out: string; host: string; port: number; runAs?: string; dynamicSecurity?: boolean; plugin?: string; plaintext?: boolean }) => {
      const dataDir = resolve(opts.data);
      const store = await AccountStore.open(dataDir);
      await ensureStoreLogin(store, dataDir);
      const tls = opts.plaintext ? null : await relayTls({ dataDir, hosts: [opts.host] });
      const url = `${tls ? 'mqtts' : 'mqtt'}://${opts.host}:${opts.port}`;
      let dynamicSecurity;
      if (opts.dynamicSecurity) {
        const plugin = opts.plugin ?? (await findDynsecPlugin());
        if (!plugin) throw new SealcamError('E_CONFIG', 'mosquitto_dynamic_security.so not found; give its path with --plugin');
        dynamicSecurity = { plugin, admin: await brokerAdminFor(dataDir, url) };
      }
      const files = await writeMosquittoConfig(store, resolve(opts.out), { host: opts.host, port: opts.port, ...(opts.runAs ? { runAs: opts.runAs } : {}), ...(dynamicSecurity ? { dynamicSecurity } : {}), ...(tls ? { tls } : {}) });
      process.stdout.write(
        `wrote ${files.confPath}\n${files.files.map((f) => `      ${f}\n`).join('')}run: mosquitto -c ${files.confPath}\nthen: sealcam relay --data ${opts.data} --broker ${url}\n` +
          (dynamicSecurity ? `(the broker's admin login is in ${resolve(dataDir, BROKER_ADMIN_FILE)}; sealcam demo --broker ${url} --broker-admin ${resolve(dataDir, BROKER_ADMIN_FILE)} runs the demo through it)\n` : ''),
      );
    });

  relay
    .command('nats-config')
    .description('write one nats-server config per node of a NATS cluster (routes, JetStream, MQTT listener, TLS with the relay certificate) with the same logins and topic rules, plus the store login the workers use with --nats')
    .requiredOption('--data <dir>', 'relay data directory')
    .requiredOption('--out <dir>', 'where to write node-<i>.conf and auth.conf')
    .option('--nodes <n>', 'cluster nodes', positiveInteger, 3)
    .option('--host <addr>', 'address every node listens on and routes to', '127.0.0.1')
    .option('--base-port <n>', 'node i listens on base+i (NATS clients), base+100+i (cluster routes), base+200+i (MQTT)', port, 4222)
    .option('--jetstream <dir>', "where the nodes keep JetStream (node-<i>/jetstream); default: <out>")
    .option('--plaintext', "plain MQTT listeners (by default they use the relay's TLS certificate, made in <data>/tls/ if there is none yet)")
    .option('--reload', 'only rewrite auth.conf (logins made since) and signal the nodes of this machine to reload it')
    .action(async (opts: { data: string; out: string; nodes: number; host: string; basePort: number; jetstream?: string; plaintext?: boolean; reload?: boolean }) => {
      const dataDir = resolve(opts.data);
      const out = resolve(opts.out);
      const store = await AccountStore.open(dataDir);
      const storeLogin = await ensureStoreLogin(store, dataDir);
      await recordNatsLogin(dataDir, storeLogin);
      const { logins, missing } = await natsLogins(store, dataDir);
      for (const u of missing) process.stderr.write(`relay nats-config: login ${u} was made before the relay recorded NATS hashes; it cannot log in to NATS until it is issued again\n`);
      if (opts.reload) {
        const n = await refreshNatsAuth(store, dataDir, out);
        process.stdout.write(`wrote ${resolve(out, 'auth.conf')} (${logins.length} logins); ${n} running node(s) signalled to reload\n`);
        return;
      }
      const tls = opts.plaintext ? null : await relayTls({ dataDir, hosts: [opts.host] });
      const c = await writeNatsConfig(logins, out, { host: opts.host, nodes: natsNodePorts(opts.nodes, opts.basePort), dataDir: resolve(opts.jetstream ?? out), tls });
      process.stdout.write(
        `wrote ${c.confPaths.join('\n      ')}\n      ${c.authPath} (${logins.length} logins)\n` +
          `run:  ${c.confPaths.map((p) => `nats-server -c ${p}`).join(' & ')}\n` +
          `then: sealcam relay --data ${opts.data} --nats ${c.natsUrls.join(',')} --mqtt-urls ${c.mqttUrls.join(',')} --nats-config ${opts.out}\n` +
          `cameras and viewers: ${c.mqttUrls.join(',')}\n`,
      );
    });
}
