/**
 * TEST ONLY: the seed bug on purpose — the cloud delivers one account's camera traffic to another
 * account. The embedded broker does it inside aedes (broker.ts). On an external broker
 * (`relay --broker`), the relay does it as a client: with its store login (granted, on a
 * dynamic-security broker, a role that may read every camera topic and publish under the target
 * accounts) it republishes every camera message under the target accounts' topics, where their
 * viewers receive it live and the store worker files it in their history — as the embedded fault does.
 */
import type { MqttClient } from 'mqtt';
import { connectMqtt, type MqttLogin } from '../media/mqtt.js';
import { SealcamError } from '../protocol/errors.js';
import { cameraTopicOf } from './acl.js';
import type { AccountStore } from './accounts.js';
import type { DynsecAcl } from './dynsec.js';

export interface MisrouteFault {
  /** deliver to this account only; default: every other account */
  toAccount?: string;
}

export const MISROUTE_ROLE = 'sealcam-fault-misroute';

/** The accounts a message of `from` is misrouted to. */
export function misrouteTargets(fault: MisrouteFault, accounts: AccountStore, from: string): string[] {
  return (fault.toAccount ? [fault.toAccount] : accounts.accountNames).filter((a) => a !== from);
}

/** What the misrouting client needs on a dynamic-security broker. */
export function misrouteAcls(fault: MisrouteFault): DynsecAcl[] {
  return [
    { acltype: 'subscribePattern', topic: 'sc/v1/+/+/+', allow: true },
    { acltype: 'publishClientReceive', topic: 'sc/v1/+/+/+', allow: true },
    { acltype: 'publishClientSend', topic: fault.toAccount ? `sc/v1/${fault.toAccount}/+/+` : 'sc/v1/+/+/+', allow: true },
  ];
}

export interface Misrouter {
  stats: { misrouted: number };
  close(): Promise<void>;
}

export async function startMisrouter(o: { url: string; login: MqttLogin; accounts: AccountStore; fault: MisrouteFault; log?: (m: string) => void }): Promise<Misrouter> {
  const client: MqttClient = await connectMqtt(o.url, o.login, { reconnectPeriod: 1000 });
  const stats = { misrouted: 0 };
  client.on('message', (topic, payload, packet) => {
    const t = cameraTopicOf(topic);
    if (!t) return;
    // Only a camera's own traffic is misrouted (not the copies this client publishes itself).
    const home = o.accounts.user(`cam-${t.camera}`)?.account;
    if (home === undefined) void o.accounts.refresh(); // a camera provisioned by another process
    if (home !== t.account) return;
    for (const account of misrouteTargets(o.fault, o.accounts, t.account)) {
      stats.misrouted++;
      client.publish(`sc/v1/${account}/${t.camera}/${t.channel}`, payload, { qos: 1, retain: packet.retain });
    }
  });
  const granted = await client.subscribeAsync('sc/v1/+/+/+', { qos: 1 }).catch(() => [{ qos: 128 }]);
  if (granted.some((g) => g.qos === 128)) {
    await client.endAsync();
    throw new SealcamError('E_ACL', `${o.url} refused the misroute fault's subscription to sc/v1/+/+/+ (it needs a broker that accepts any login, or the dynamic-security admin)`);
  }
  o.log?.(`fault: misrouting camera traffic on ${o.url} to ${o.fault.toAccount ?? 'every other account'}`);
  return { stats, close: () => client.endAsync() };
}
