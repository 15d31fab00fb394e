/** Relays for tests: the embedded one, and a real Mosquitto with the store worker attached. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ensureStoreLogin, startRelay, type Relay, type RelayOptions } from '../../src/relay/relay.js';
import { brokerAdminFor, findDynsecPlugin } from '../../src/relay/dynsec.js';
import { AccountStore } from '../../src/relay/accounts.js';
import type { TlsIdentity } from '../../src/relay/tls.js';
import { writeMosquittoConfig } from '../../src/relay/mosquitto.js';
import type { DeviceHome } from '../../src/device/home.js';
import type { Identity } from '../../src/protocol/identity.js';
import { provisionMessage, type ProvisioningProof } from '../../src/protocol/provision.js';
import { toHex } from '../../src/protocol/bytes.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `sealcam-${label}-`));
}

export async function embeddedRelay(dataDir: string, extra: Partial<RelayOptions> = {}): Promise<Relay> {
  return startRelay({ dataDir, port: 0, wsPort: 0, httpPort: 0, ...extra });
}

/** Viewer login of a new account, via the account store the relay uses. */
export async function addAccount(relay: Relay, name: string) {
  return relay.accounts.addAccount(name);
}

/**
 * The provisioning flow over the HTTP API: the owner asks for a token, the camera redeems it with
 * its proof of key (PROTOCOL.md §15.6).
 */
export async function provisionLogin(relay: Relay, viewer: { account: string; username: string; password: string }, camera: Identity): Promise<{ account: string; username: string; password: string }> {
  const auth = `Basic ${Buffer.from(`${viewer.username}:${viewer.password}`).toString('base64')}`;
  const t = await fetch(`${relay.httpUrl}/v1/accounts/${viewer.account}/provisioning-tokens`, { method: 'POST', headers: { authorization: auth } });
  if (!t.ok) throw new Error(`token: ${t.status} ${await t.text()}`);
  const { token } = (await t.json()) as { token: string };
  const r = await fetch(`${relay.httpUrl}/v1/provision`, { method: 'POST', body: JSON.stringify(provisionRequestBody(camera, token)), headers: { 'content-type': 'application/json' } });
  if (!r.ok) throw new Error(`provision: ${r.status} ${await r.text()}`);
  const { account, username, password } = (await r.json()) as { account: string; username: string; password: string };
  return { account, username, password };
}

/** The JSON body of POST /v1/provision for `camera` and a token (base64url). */
export function provisionRequestBody(camera: Identity, token: string): Record<string, string> {
  const p = signProvisioning(camera, new Uint8Array(Buffer.from(token, 'base64url')));
  return { token, cameraId: toHex(p.cameraId), signPublicKey: toHex(p.signPublicKey), boxPublicKey: toHex(p.boxPublicKey), signature: toHex(p.signature) };
}

/** A camera login through the account store directly: a new token, redeemed with `camera`'s proof. */
export async function redeemCamera(accounts: AccountStore, account: string, camera: Identity) {
  const { token } = await accounts.issueProvisioningToken(account);
  const raw = new Uint8Array(Buffer.from(token, 'base64url'));
  return accounts.redeemProvisioningToken(raw, signProvisioning(camera, raw));
}

/** The camera's proof of its key for `token` (PROTOCOL.md §15.6), as device/pair.ts makes it. */
export function signProvisioning(camera: Identity, token: Uint8Array): ProvisioningProof {
  return { cameraId: camera.id, signPublicKey: camera.signPublicKey, boxPublicKey: camera.boxPublicKey, signature: camera.signer.sign(provisionMessage(token, camera.id)) };
}

/** provisionLogin for a camera home, which then keeps the login. */
export async function provisionCamera(relay: Relay, viewer: { account: string; username: string; password: string }, home: DeviceHome, mqttUrl = relay.mqttUrl): Promise<void> {
  const creds = await provisionLogin(relay, viewer, home.identity);
  await home.setRelay({ url: mqttUrl, ...creds });
}

export function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`port ${port} did not open`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export interface TestMosquitto {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** Our own mosquitto on a free port with a config generated from the relay's accounts. Stops only that process. */
export async function startMosquitto(dataDir: string, bin = 'mosquitto', o: { dynamicSecurity?: boolean; tls?: TlsIdentity } = {}): Promise<TestMosquitto> {
  const accounts = await AccountStore.open(dataDir);
  await ensureStoreLogin(accounts, dataDir);
  const port = await freePort();
  let dynamicSecurity;
  if (o.dynamicSecurity) {
    const plugin = await findDynsecPlugin();
    if (!plugin) throw new Error('mosquitto_dynamic_security.so not found');
    dynamicSecurity = { plugin, admin: await brokerAdminFor(dataDir, `mqtt://127.0.0.1:${port}`) };
  }
  const { confPath } = await writeMosquittoConfig(accounts, join(dataDir, 'mosquitto'), { host: '127.0.0.1', port, runAs: userInfo().username, ...(dynamicSecurity ? { dynamicSecurity } : {}), ...(o.tls ? { tls: o.tls } : {}) });
  const m: TestMosquitto = {
    url: `${o.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    process: null as unknown as ChildProcess,
    stop: async () => {
      if (m.process.exitCode !== null || m.process.signalCode !== null) return;
      const exited = new Promise((r) => m.process.once('exit', r));
      m.process.kill('SIGTERM');
      await exited;
    },
    restart: async () => {
      m.process = spawn(bin, ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitForPort(port);
    },
  };
  await m.restart();
  return m;
}
