/**
 * What the relay's NATS clients share (nats-worker.ts, nats-relay.ts, store-backend.ts): one way to
 * connect with the store login, and one way to wait out a cluster that is electing leaders.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SealcamError } from '../protocol/errors.js';

/** A connection to any of `servers` that reconnects for ever (to whichever node is up); E_BROKER if none answers now. */
export function connectNats(servers: string[], login: { username: string; password: string }, name: string): Promise<NatsConnection> {
  return connect({ servers, user: login.username, pass: login.password, name, maxReconnectAttempts: -1, reconnectTimeWait: 250 }).catch((e: Error) => {
    throw new SealcamError('E_BROKER', `nats ${servers.join(',')}: ${e.message}`);
  });
}

/**
 * `call`, again every 500 ms while it fails, until `deadline` (ms since the epoch); then E_BROKER
 * naming `what`. Right after a node dies, or while a cluster starts, JetStream requests time out or
 * answer "temporarily unavailable" until the new leaders are elected: seconds.
 */
export async function retryUntil<T>(deadline: number, what: string, call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (e) {
      if (Date.now() >= deadline) throw new SealcamError('E_BROKER', `${what}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
