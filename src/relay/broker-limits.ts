/**
 * The embedded broker's limits on what one tenant may make it hold (PROTOCOL.md §11.3), and the
 * client-id rule. The byte-level limits (pre-login bytes, packet size) are in conn-guard.ts, login
 * rate limits in login-guard.ts; broker.ts wires all of them into aedes' hooks.
 */
import type { Principal } from './acl.js';
import type { ConnLimits } from './conn-guard.js';

/** The largest PUBLISH payload the embedded relay takes (§11.1 size limit). */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface BrokerLimits extends ConnLimits {
  /** a CONNECT must have arrived this long after the connection opened */
  connectTimeoutMs: number;
  /** bytes waiting to be written to one client; past it the client is disconnected (`E_SLOW_CONSUMER`) */
  maxQueuedBytes: number;
  /** retained messages one account's logins may keep on the broker */
  retainedPerAccount: number;
  /** and their payload bytes */
  retainedBytesPerAccount: number;
}

export const DEFAULT_BROKER_LIMITS: BrokerLimits = {
  preAuthBytes: 16 * 1024,
  // the payload limit plus room for the topic (≤ 1 KiB in practice) and the packet id
  maxPacketBytes: MAX_MESSAGE_BYTES + 1024,
  connectTimeoutMs: 10_000,
  maxQueuedBytes: 8 * 1024 * 1024,
  retainedPerAccount: 256,
  retainedBytesPerAccount: 4 * 1024 * 1024,
};

/**
 * Retained messages per account. A retained message counts toward the account of the login that
 * published it (on a pairing topic, which no account owns, too); replacing it moves it to the new
 * publisher's account, and an empty payload clears it (MQTT-3.3.1-10).
 */
export class RetainedLedger {
  private readonly topics = new Map<string, { account: string; bytes: number }>();
  private readonly accounts = new Map<string, { count: number; bytes: number }>();

  constructor(private readonly limits: Pick<BrokerLimits, 'retainedPerAccount' | 'retainedBytesPerAccount'>) {}

  /** Account for a retained publish of `bytes` on `topic`; a string says why it is refused. */
  take(account: string, topic: string, bytes: number): string | null {
    const old = this.topics.get(topic);
    if (bytes === 0) {
      if (old) this.drop(topic, old);
      return null;
    }
    const usage = this.usage(account);
    const freed = old?.account === account ? old.bytes : 0;
    const count = usage.count + (old?.account === account ? 0 : 1);
    const total = usage.bytes - freed + bytes;
    if (count > this.limits.retainedPerAccount) return `${count} retained messages; the limit per account is ${this.limits.retainedPerAccount}`;
    if (total > this.limits.retainedBytesPerAccount) return `${total} bytes of retained messages; the limit per account is ${this.limits.retainedBytesPerAccount}`;
    if (old) this.drop(topic, old);
    this.topics.set(topic, { account, bytes });
    const u = this.usage(account);
    this.accounts.set(account, { count: u.count + 1, bytes: u.bytes + bytes });
    return null;
  }

  usage(account: string): { count: number; bytes: number } {
    return this.accounts.get(account) ?? { count: 0, bytes: 0 };
  }

  private drop(topic: string, old: { account: string; bytes: number }): void {
    this.topics.delete(topic);
    const u = this.usage(old.account);
    if (u.count <= 1) this.accounts.delete(old.account);
    else this.accounts.set(old.account, { count: u.count - 1, bytes: u.bytes - old.bytes });
  }
}

/**
 * The client-id rule (§11.3): a login's own ids are its username and `<username>:<anything>`.
 * An id in another login's namespace (another username, or `<other>:…`) is refused, and so is any
 * other id (mqtt.js' random `mqttjs_…`, say) while a different login is connected with it, or
 * with a persistent session (clean session 0), which would outlive the connection.
 * Returns why `clientId` is refused for `p`, or null.
 */
export function clientIdRefusal(clientId: string, p: Principal, o: { clean: boolean; isUsername: (name: string) => boolean; connectedAs: (clientId: string) => string | undefined }): string | null {
  if (clientId === p.username || clientId.startsWith(`${p.username}:`)) return null;
  const colon = clientId.indexOf(':');
  if (colon >= 0) return `client id ${JSON.stringify(clientId.slice(0, 100))} belongs to login ${JSON.stringify(clientId.slice(0, Math.min(colon, 100)))}`;
  if (o.isUsername(clientId)) return `client id ${JSON.stringify(clientId)} is another login's username`;
  if (!o.clean) return `a persistent session (clean session 0) needs a client id of this login's own: ${p.username} or ${p.username}:…`;
  const holder = o.connectedAs(clientId);
  if (holder !== undefined && holder !== p.username) return `client id ${JSON.stringify(clientId)} is in use by another login`;
  return null;
}
