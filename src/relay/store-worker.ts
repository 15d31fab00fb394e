/**
 * The store worker on an external broker (the scale path: Mosquitto here, EMQX or AWS IoT in
 * production): a client with the relay's own `store` login that subscribes to every camera's
 * seg and keys topics, and files what arrives. Several workers can split the load with a shared
 * subscription ($share/<group>/…, `sharedGroup`) where the broker supports it.
 * Its session is persistent (clean: false, QoS 1) under a client id kept with its login, so the
 * broker queues traffic while the worker (or the whole relay) restarts. `persistent: false` (the
 * demo) leaves no session behind on someone else's broker.
 * restarts. Seen with Mosquitto 2.0.11 in the outage test (test/relay/uploader-mosquitto.test.ts):
 * with a plain subscription every segment published during and after a broker restart reached the
 * store; with $share/… nothing did after the restart. So one worker uses a plain subscription (the
 * default), and shared groups are left for fleets of workers on brokers that keep them.
 */
import { tlsOptionsFor } from '../media/pinned-tls.js';
import mqtt from 'mqtt';
import { SealcamError } from '../protocol/errors.js';
import { storedTopic } from './acl.js';
import { cameraTopic } from '../protocol/topics.js';
import { encodeReceipt } from '../protocol/receipt.js';
import type { Ingest } from './ingest.js';

export interface StoreWorkerOptions {
  url: string;
  username: string;
  password: string;
  ingest: Ingest;
  /** subscribe as $share/<group>/… (default: a plain subscription) */
  sharedGroup?: string | null;
  /** the session's client id; keep it across restarts (default: one per process) */
  clientId?: string;
  /** keep the session (and the broker's queue for it) while disconnected; default true */
  persistent?: boolean;
  /** an mqtts:// broker's pinned key (§15.8) */
  fingerprint?: string | null;
  log?: (msg: string) => void;
}

export interface StoreWorker {
  close(): Promise<void>;
}

export async function startStoreWorker(o: StoreWorkerOptions): Promise<StoreWorker> {
  const group = o.sharedGroup ?? null;
  const filters = ['sc/v1/+/+/seg', 'sc/v1/+/+/keys'].map((f) => (group ? `$share/${group}/${f}` : f));
  const client = mqtt.connect(o.url, {
    ...(await tlsOptionsFor(o.url, o.fingerprint)),
    protocolVersion: 4,
    username: o.username,
    password: o.password,
    clean: o.persistent === false,
    clientId: o.clientId ?? `sealcam-store-${process.pid}`,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  });
  // Messages are handled strictly one at a time, in arrival order.
  let chain = Promise.resolve();
  // A broker that lost our session (restarted without it) will not have our subscriptions.
  client.on('connect', () => {
    // Idempotent; covers a broker that restarted without our session or without its subscriptions.
    client.subscribe(filters, { qos: 1 });
  });
  client.on('message', (topic, payload) => {
    const t = storedTopic(topic);
    if (!t) return;
    // Once filed, the camera hears so on its `stored` topic (§10.5) and drops the envelope from its spool.
    chain = chain
      .then(() => o.ingest.take(t.account, t.camera, t.channel, new Uint8Array(payload)))
      .then((receipt) => {
        if (receipt) client.publish(cameraTopic(t.account, t.camera, 'stored'), Buffer.from(encodeReceipt(receipt)), { qos: 0 });
      })
      // Not filed (a disk error): no receipt, so the camera keeps the envelope and sends it again.
      .catch((e: Error) => o.log?.(`store worker: ${topic}: not stored (${e.message})`));
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => {
      // Subscribe (again) with a callback, to see what was granted.
      client.subscribe(filters, { qos: 1 }, (err, granted) => {
        if (err) return reject(new SealcamError('E_BROKER', `store worker: subscribe failed: ${err.message}`));
        const refused = (granted ?? []).filter((g) => g.qos === 128);
        if (refused.length) return reject(new SealcamError('E_ACL', `store worker: broker refused ${refused.map((g) => g.topic).join(', ')}`));
        resolve();
      });
    });
    client.once('error', (e) => reject(new SealcamError('E_BROKER', `store worker: ${e.message}`)));
  });
  o.log?.(`store worker attached to ${o.url} (${group ? `shared group ${group}` : 'plain subscription'})`);
  return {
    close: async () => {
      await chain;
      await client.endAsync();
    },
  };
}
