/** `sealcam relay …`: the cloud relay (an MQTT broker plus an opaque store it cannot read). */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { port } from './options.js';
import { AccountStore } from '../relay/accounts.js';
import { writeMosquittoConfig } from '../relay/mosquitto.js';
import { STORE_CREDENTIALS_FILE, startRelay } from '../relay/relay.js';
import { writeFileAtomic } from '../media/atomic-file.js';
import { SealcamError } from '../protocol/errors.js';


function fault(value: string): { misroute: { toAccount?: string } } {
  const m = /^misroute(?::([a-z0-9][a-z0-9_-]{0,63}))?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected misroute or misroute:ACCOUNT');
  return { misroute: m[1] ? { toAccount: m[1] } : {} };
}

export function registerRelay(program: Command): void {
  const relay = program
    .command('relay')
    .description('run the cloud relay: MQTT 3.1.1 broker (TCP and WebSocket), opaque segment store and history API. It never holds a key')
    .option('--data <dir>', 'data directory: accounts (hashed credentials) and the opaque store (required)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'MQTT over TCP', port, 1883)
    .option('--ws-port <n>', 'MQTT over plain WebSocket (for browser viewers; put TLS in front in production)', port, 9001)
    .option('--http-port <n>', 'history and provisioning HTTP API', port, 8080)
    .option('--broker <url>', 'attach the store to this external broker (e.g. mqtt://127.0.0.1:1884) instead of embedding aedes; needs relay mosquitto-config first')
    .option('--fault <fault>', 'TEST ONLY: misroute (deliver every camera topic to the other accounts too) or misroute:ACCOUNT', fault)
    .option('--retention-days <n>', 'drop segments older than this', Number, 30)
    .option('--retention-bytes <n>', 'keep the store under this many bytes', Number, 10 * 1024 ** 3)
    .action(async (opts: { data?: string; host: string; port: number; wsPort: number; httpPort: number; broker?: string; fault?: { misroute: { toAccount?: string } }; retentionDays: number; retentionBytes: number }) => {
      if (!opts.data) throw new SealcamError('E_CONFIG', 'sealcam relay: --data <dir> is required');
      if (opts.fault) process.stderr.write(`WARNING: --fault misroute is on: camera traffic is deliberately delivered to ${opts.fault.misroute.toAccount ?? 'every other account'}\n`);
      const r = await startRelay({
        dataDir: resolve(opts.data!),
        host: opts.host,
        port: opts.port,
        wsPort: opts.wsPort,
        httpPort: opts.httpPort,
        retention: { maxAgeMs: opts.retentionDays * 86_400_000, maxBytes: opts.retentionBytes },
        ...(opts.broker ? { broker: opts.broker } : {}),
        ...(opts.fault ? { fault: opts.fault } : {}),
        log: (m) => process.stderr.write(`relay: ${m}\n`),
      });
      process.stdout.write(`relay up: mqtt ${r.mqttUrl}${r.wsUrl ? `, websocket ${r.wsUrl}` : ''}, http ${r.httpUrl}, data ${resolve(opts.data!)}\n`);
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
      const store = await AccountStore.open(resolve(opts.data));
      const creds = await store.addAccount(name);
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
    .description('write passwd, acl and mosquitto.conf for Mosquitto 2 with the same logins and topic rules, plus the store login the relay uses with --broker')
    .requiredOption('--data <dir>', 'relay data directory')
    .requiredOption('--out <dir>', 'where to write passwd, acl and mosquitto.conf')
    .option('--host <addr>', 'listener address for mosquitto.conf', '127.0.0.1')
    .option('--port <n>', 'listener port for mosquitto.conf', port, 1884)
    .option('--run-as <user>', "user for mosquitto.conf's `user` line (Mosquitto started as root otherwise drops to `mosquitto`, which cannot read the 0600 files unless you chown them)")
    .action(async (opts: { data: string; out: string; host: string; port: number; runAs?: string }) => {
      const dataDir = resolve(opts.data);
      const store = await AccountStore.open(dataDir);
      let storeUser = store.users.find((u) => u.role === 'store');
      if (!storeUser) {
        const creds = await store.addUser('', 'store', 'sealcam-store');
        await writeFileAtomic(resolve(dataDir, STORE_CREDENTIALS_FILE), `${JSON.stringify({ username: creds.username, password: creds.password })}\n`, 0o600);
        storeUser = store.users.find((u) => u.role === 'store');
      }
      if (!storeUser) throw new SealcamError('E_STORE', 'could not create the store login');
      const files = await writeMosquittoConfig(store, resolve(opts.out), { host: opts.host, port: opts.port, ...(opts.runAs ? { runAs: opts.runAs } : {}) });
      process.stdout.write(`wrote ${files.confPath}\n      ${files.passwdPath}\n      ${files.aclPath}\nrun: mosquitto -c ${files.confPath}\nthen: sealcam relay --data ${opts.data} --broker mqtt://${opts.host}:${opts.port}\n`);
    });
}
