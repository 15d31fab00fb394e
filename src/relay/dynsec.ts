/**
 * Mosquitto's dynamic-security plugin, so an external broker learns each login the relay creates
 * while it runs (a camera's own login, made when it trades its provisioning token) — a static
 * password file is read only at start and on SIGHUP.
 *
 * - `dynsecConfig` writes the plugin's starting file from the account store: one client per login
 *   with its `$7$` hash (the password is never needed again), one role per login holding exactly the
 *   rules of acl.ts (`brokerRules`), and the relay's admin login. Everything not granted is refused:
 *   `defaultACLAccess` denies publish, receive and subscribe.
 * - `BrokerAdmin` sends commands over MQTT to `$CONTROL/dynamic-security/v1` with that admin login
 *   and waits for each answer (correlated by `correlationData`).
 * The admin login is kept in <data>/broker-admin.json (0600) with the broker's URL.
 * Mosquitto 2.0.11 (Debian 12) was used to check the commands and the file format.
 */
import { randomBytes } from 'node:crypto';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { SealcamError } from '../protocol/errors.js';
import { connectMqtt, type MqttLogin } from '../media/mqtt.js';
import { readJson, writeFileAtomic } from '../media/atomic-file.js';
import { brokerRules, type BrokerRule, type Role } from './acl.js';
import { mosquittoHash, newPassword, type AccountStore } from './accounts.js';

export const BROKER_ADMIN_FILE = 'broker-admin.json';
const CONTROL = '$CONTROL/dynamic-security/v1';
const ADMIN_ROLE = 'sealcam-admin';

export interface DynsecAdminLogin {
  username: string;
  /** `$7$` hash, for the plugin's file */
  mosquitto: string;
}

export interface BrokerAdminFile {
  url: string;
  username: string;
  password: string;
}

export type DynsecAcl = { acltype: 'publishClientSend' | 'publishClientReceive' | 'subscribePattern' | 'unsubscribePattern'; topic: string; allow: boolean; priority?: number };

export function dynsecAcls(rules: BrokerRule[]): DynsecAcl[] {
  return rules.flatMap((r) => [
    ...(r.access !== 'read' ? [{ acltype: 'publishClientSend' as const, topic: r.topic, allow: true }] : []),
    ...(r.access !== 'write'
      ? [
          { acltype: 'subscribePattern' as const, topic: r.topic, allow: true },
          { acltype: 'publishClientReceive' as const, topic: r.topic, allow: true },
        ]
      : []),
  ]);
}

/** The role that holds one login's rules. */
export const roleOf = (username: string) => `sealcam-${username}`;
const textnameOf = (u: { role: Role; account: string }) => `sealcam ${u.role}${u.account ? ` of ${u.account}` : ''}`;

function hashFields(mosquitto: string): { password: string; salt: string; iterations: number } {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(mosquitto);
  if (!m) throw new SealcamError('E_STORE', 'a stored Mosquitto hash is damaged');
  return { iterations: Number(m[1]), salt: m[2]!, password: m[3]! };
}

/** The dynamic-security plugin's starting file for these logins. */
export function dynsecConfig(users: { username: string; role: Role; account: string; cameraId?: string; mosquitto: string }[], admin: DynsecAdminLogin): unknown {
  const everything = ['#', '$CONTROL/dynamic-security/#'];
  return {
    clients: [
      { username: admin.username, textname: 'sealcam relay (dynamic-security admin)', ...hashFields(admin.mosquitto), roles: [{ rolename: ADMIN_ROLE }] },
      ...users.map((u) => ({ username: u.username, textname: textnameOf(u), ...hashFields(u.mosquitto), roles: [{ rolename: roleOf(u.username) }] })),
    ],
    roles: [
      {
        rolename: ADMIN_ROLE,
        acls: [
          { acltype: 'publishClientSend', topic: '$CONTROL/dynamic-security/#', allow: true },
          ...everything.flatMap((topic) => [
            { acltype: 'publishClientReceive', topic, allow: true },
            { acltype: 'subscribePattern', topic, allow: true },
          ]),
        ],
      },
      ...users.map((u) => ({ rolename: roleOf(u.username), acls: dynsecAcls(brokerRules(u)) })),
    ],
    defaultACLAccess: { publishClientSend: false, publishClientReceive: false, subscribe: false, unsubscribe: true },
  };
}

/**
 * The relay's admin login for a dynamic-security file: the one kept in <data>/broker-admin.json
 * (its URL updated), or a new one made and kept there (0600).
 */
export async function brokerAdminFor(dataDir: string, url: string): Promise<DynsecAdminLogin> {
  const path = join(dataDir, BROKER_ADMIN_FILE);
  const existing = await readBrokerAdmin(path);
  const login: BrokerAdminFile = { url, username: existing?.username ?? `sealcam-admin-${randomBytes(4).toString('hex')}`, password: existing?.password ?? newPassword() };
  await writeFileAtomic(path, `${JSON.stringify(login)}\n`, 0o600);
  return { username: login.username, mosquitto: await mosquittoHash(login.password) };
}

/** Where Debian, Fedora, Alpine, Homebrew and source builds put the plugin. */
export async function findDynsecPlugin(): Promise<string | null> {
  const name = 'mosquitto_dynamic_security.so';
  const dirs = ['/usr/lib', '/usr/lib64', '/usr/local/lib', '/opt/homebrew/lib', '/usr/lib/mosquitto', '/usr/local/lib/mosquitto'];
  for (const d of await readdir('/usr/lib').catch(() => [] as string[])) if (/-linux-gnu/.test(d)) dirs.unshift(join('/usr/lib', d));
  for (const d of dirs) {
    const path = join(d, name);
    if (await access(path).then(() => true, () => false)) return path;
  }
  return null;
}

/** The admin login kept at `path` (a broker-admin.json), or null if there is none. */
export async function readBrokerAdmin(path: string): Promise<BrokerAdminFile | null> {
  const v = await readJson<Partial<BrokerAdminFile>>(path);
  if (v === null) return null;
  if (typeof v.username === 'string' && typeof v.password === 'string' && typeof v.url === 'string') return { url: v.url, username: v.username, password: v.password };
  throw new SealcamError('E_CONFIG', `${path} is damaged: expected {"url", "username", "password"}`);
}

type Command = Record<string, unknown> & { command: string };
interface Answer {
  command: string;
  error?: string;
  correlationData?: string;
  data?: unknown;
}

export class BrokerAdmin {
  private readonly waiting = new Map<string, (a: Answer) => void>();
  private next = 0;

  private constructor(
    private readonly client: MqttClient,
    readonly url: string,
  ) {
    client.on('message', (topic, payload) => {
      if (topic !== `${CONTROL}/response`) return;
      let answers: Answer[] = [];
      try {
        answers = (JSON.parse(payload.toString('utf8')) as { responses?: Answer[] }).responses ?? [];
      } catch {
        return;
      }
      for (const a of answers) {
        const w = a.correlationData ? this.waiting.get(a.correlationData) : undefined;
        if (w) {
          this.waiting.delete(a.correlationData!);
          w(a);
        }
      }
    });
  }

  static async connect(url: string, login: MqttLogin): Promise<BrokerAdmin> {
    const client = await connectMqtt(url, login, { reconnectPeriod: 1000 }).catch((e: Error) => {
      throw new SealcamError('E_BROKER', `broker admin login refused by ${url} (${e.message}): is it the broker whose dynamic-security file relay mosquitto-config --dynamic-security wrote?`);
    });
    const granted = await client.subscribeAsync(`${CONTROL}/response`, { qos: 1 }).catch(() => [{ qos: 128 }]);
    if (granted.some((g) => g.qos === 128)) {
      await client.endAsync();
      throw new SealcamError('E_BROKER', `${url} refused the admin's subscription to ${CONTROL}/response: is its dynamic-security plugin loaded?`);
    }
    return new BrokerAdmin(client, url);
  }

  /** Send commands; resolves with their answers in order. Errors are returned, not thrown. */
  async send(commands: Command[], timeoutMs = 10_000): Promise<Answer[]> {
    const tagged = commands.map((c) => ({ ...c, correlationData: `sc-${process.pid}-${this.next++}` }));
    const answers = tagged.map(
      (c) =>
        new Promise<Answer>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.waiting.delete(c.correlationData);
            reject(new SealcamError('E_BROKER', `${this.url}: no answer to dynamic-security ${c.command} in ${timeoutMs} ms: is the plugin loaded?`));
          }, timeoutMs);
          this.waiting.set(c.correlationData, (a) => {
            clearTimeout(timer);
            resolve(a);
          });
        }),
    );
    await this.client.publishAsync(CONTROL, JSON.stringify({ commands: tagged }), { qos: 1 });
    return Promise.all(answers);
  }

  /** Send commands that must all succeed. */
  async run(commands: Command[]): Promise<void> {
    const failed = (await this.send(commands)).filter((a) => a.error);
    if (failed.length) throw new SealcamError('E_BROKER', `${this.url}: dynamic-security refused ${failed.map((a) => `${a.command} (${a.error})`).join(', ')}`);
  }

  /**
   * Put one login into the broker with its rules, replacing a client of the same name (the relay's
   * account store is the authority: a name it just issued is stale in the broker, e.g. a camera
   * re-paired after a reset, or an earlier demo's login).
   */
  async putLogin(login: { username: string; password: string; role: Role; account: string; cameraId?: string }): Promise<void> {
    const role = roleOf(login.username);
    await this.removeLogin(login.username);
    await this.run([
      { command: 'createRole', rolename: role, acls: dynsecAcls(brokerRules(login)) },
      { command: 'createClient', username: login.username, password: login.password, textname: textnameOf(login), roles: [{ rolename: role }] },
    ]);
  }

  /** From now on, every login `accounts` makes is put into the broker before it is saved. */
  mirror(accounts: AccountStore): void {
    accounts.mirror = (login) => this.putLogin(login);
  }

  /** Take a login (and its role) out of the broker; one that is not there is fine. */
  async removeLogin(username: string): Promise<void> {
    await this.send([
      { command: 'deleteClient', username },
      { command: 'deleteRole', rolename: roleOf(username) },
    ]);
  }

  /** Give `username` an extra role with these rules (replacing a role of that name). */
  async grant(username: string, rolename: string, acls: DynsecAcl[]): Promise<void> {
    await this.send([{ command: 'deleteRole', rolename }]);
    await this.run([
      { command: 'createRole', rolename, acls },
      { command: 'addClientRole', username, rolename },
    ]);
  }

  /** Take a role away again (and delete it); a role that is not there is fine. */
  async revoke(rolename: string): Promise<void> {
    await this.send([{ command: 'deleteRole', rolename }]);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
