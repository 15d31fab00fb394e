/**
 * A stateless store worker on a NATS cluster (issue 15, PROTOCOL.md §11.4):
 *   JetStream stream SEALCAM_UPLOADS (sc.v1.*.*.seg, sc.v1.*.*.keys; work queue, replicas 3)
 *   → durable consumer `sealcam-store`, shared by every worker → Ingest → opaque store → ack.
 * A message is acknowledged only once what it completes is on disk, so killing a worker loses
 * nothing: the cluster delivers its unacknowledged messages again, to any worker.
 *
 * Reassembly across workers (§10): the shared consumer hands the pieces of one envelope to
 * whichever worker asks next, so no worker's memory can hold a whole envelope. A piece of a split
 * envelope is therefore put in the KV bucket `sealcam-pieces` (replicas 3) under
 * <account>.<camera>.<envelopeHash>.<index>; after each put the worker looks for every index of
 * that envelope, and the one that finds them all files the envelope (Ingest checks the hash
 * commitment) and purges the pieces. Two workers finishing the same envelope at once file the
 * same bytes under the same name (store.ts: <epoch>-<seq>, atomic rename), which leaves one file.
 * Pieces of an envelope that never completes expire with the bucket's TTL (the stall limit, §11.3).
 *
 * What a worker files it confirms to the camera on sc.v1.<a>.<c>.stored (§10.5), which the camera
 * reads over MQTT; until then the camera keeps the envelope and sends it again.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { toHex } from '../protocol/bytes.js';
import { TRANSPORT_HEADER_BYTES, TRANSPORT_MAGIC } from '../protocol/transport-chunk.js';
import { DEFAULT_REASSEMBLY_LIMITS, type Ingest } from './ingest.js';
import { storedTopic } from './acl.js';
import { cameraTopic } from '../protocol/topics.js';
import { encodeReceipt, type Receipt } from '../protocol/receipt.js';
import { NATS_PIECES_BUCKET, NATS_STORE_CONSUMER, NATS_UPLOAD_STREAM, NATS_UPLOAD_SUBJECTS, mqttToSubject } from './nats-config.js';
import { connectNats, retryUntil } from './nats-client.js';

export interface NatsWorkerOptions {
  /** nats://host:port of the cluster's nodes; the client moves to another when one goes */
  servers: string[];
  username: string;
  password: string;
  ingest: Ingest;
  /** stream and bucket replicas (default 3; 1 for a single node) */
  replicas?: number;
  /** how long a delivered message may stay unacknowledged before another worker gets it (default 30 s) */
  ackWaitMs?: number;
  /** how long to wait for the cluster's JetStream at start (default 30 s) */
  setupTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface NatsWorker {
  readonly stats: { messages: number; piecesKept: number; envelopesAssembled: number };
  close(): Promise<void>;
}

const ms = (n: number) => n * 1_000_000; // JetStream durations are nanoseconds

/** index, count and envelope hash of a transport piece (§10 byte table), or null if it is not one. */
function pieceHeader(payload: Uint8Array): { index: number; count: number; hash: string } | null {
  if (payload.length < TRANSPORT_HEADER_BYTES || !TRANSPORT_MAGIC.every((b, i) => payload[i] === b)) return null;
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { index: v.getUint16(6), count: v.getUint16(8), hash: toHex(payload.subarray(20, 52)) };
}

/** Create the upload stream, the shared consumer and the pieces bucket if missing (idempotent). */
async function ensureTopology(nc: NatsConnection, replicas: number, ackWaitMs: number): Promise<KV> {
  const jsm = await jetstreamManager(nc);
  const stream = await jsm.streams.info(NATS_UPLOAD_STREAM).catch(() => null);
  if (!stream) {
    await jsm.streams.add({ name: NATS_UPLOAD_STREAM, subjects: NATS_UPLOAD_SUBJECTS, retention: RetentionPolicy.Workqueue, storage: StorageType.File, num_replicas: replicas, max_msg_size: 256 * 1024 });
  }
  const consumer = await jsm.consumers.info(NATS_UPLOAD_STREAM, NATS_STORE_CONSUMER).catch(() => null);
  if (!consumer) {
    await jsm.consumers.add(NATS_UPLOAD_STREAM, { durable_name: NATS_STORE_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: ms(ackWaitMs), max_ack_pending: 1024 });
  }
  return new Kvm(nc).create(NATS_PIECES_BUCKET, { replicas, ttl: DEFAULT_REASSEMBLY_LIMITS.stallMs, maxValueSize: 256 * 1024 });
}

export async function startNatsWorker(o: NatsWorkerOptions): Promise<NatsWorker> {
  const log = o.log ?? (() => undefined);
  const nc = await connectNats(o.servers, o, 'sealcam-store');
  const replicas = o.replicas ?? 3;
  // A cluster that is still starting (or has just lost a node) has no JetStream leader yet: keep
  // trying for a while, for the topology and for the shared consumer.
  const deadline = Date.now() + (o.setupTimeoutMs ?? 30_000);
  let kv: KV;
  let consumer: Consumer;
  try {
    kv = await retryUntil(deadline, `nats: cannot set up stream ${NATS_UPLOAD_STREAM}`, () => ensureTopology(nc, replicas, o.ackWaitMs ?? 30_000));
    consumer = await retryUntil(deadline, `nats: cannot reach consumer ${NATS_STORE_CONSUMER}`, () => jetstream(nc).consumers.get(NATS_UPLOAD_STREAM, NATS_STORE_CONSUMER));
  } catch (e) {
    await nc.close();
    throw e;
  }
  const stats = { messages: 0, piecesKept: 0, envelopesAssembled: 0 };

  /** Keep a piece; if it was the last one missing, file the whole envelope and drop the pieces. */
  const takePiece = async (account: string, camera: string, payload: Uint8Array, p: { index: number; count: number; hash: string }) => {
    const prefix = `${account}.${camera}.${p.hash}`;
    await kv.put(`${prefix}.${p.index}`, payload);
    stats.piecesKept++;
    const all: Uint8Array[] = [];
    for (let i = 0; i < p.count; i++) {
      const e = i === p.index ? null : await kv.get(`${prefix}.${i}`);
      if (i !== p.index && (!e || e.operation !== 'PUT')) return null; // not complete yet: the worker with the last piece files it
      all.push(i === p.index ? payload : e!.value);
    }
    let receipt: Receipt | null = null;
    for (const piece of all) receipt = (await o.ingest.take(account, camera, 'seg', piece)) ?? receipt;
    stats.envelopesAssembled++;
    for (let i = 0; i < p.count; i++) await kv.purge(`${prefix}.${i}`);
    return receipt;
  };

  const handle = async (m: JsMsg) => {
    const t = storedTopic(m.subject.replaceAll('.', '/'));
    if (t) {
      const p = t.channel === 'seg' ? pieceHeader(m.data) : null;
      const receipt = p && p.count > 1 && p.index < p.count ? await takePiece(t.account, t.camera, m.data, p) : await o.ingest.take(t.account, t.camera, t.channel, m.data);
      // The camera keeps the envelope until this arrives (§10.5): an MQTT PUBACK from a node does
      // not mean the stream has it (a publish during the stream's leader election is lost).
      if (receipt) nc.publish(mqttToSubject(cameraTopic(t.account, t.camera, 'stored')), encodeReceipt(receipt));
    }
    stats.messages++;
    await m.ackAck();
  };

  // Pull requests of 5 s (not the client's default 30 s): when a node dies with the consumer's
  // leader, the open request is lost and only missed heartbeats (half the expiry, twice) reveal it;
  // with 30 s the workers stood still up to a minute after a node kill, with 5 s a few seconds.
  const messages = await consumer.consume({ max_messages: 64, expires: 5_000 });
  const loop = (async () => {
    for await (const m of messages) {
      try {
        await handle(m);
      } catch (e) {
        // Not filed: leave it unacknowledged-then-redelivered (to this worker or another).
        log(`nats worker: ${m.subject}: not stored yet (${(e as Error).message}); it will be delivered again`);
        m.nak(1000);
      }
    }
  })();
  log(`nats store worker attached to ${o.servers.join(',')} (stream ${NATS_UPLOAD_STREAM}, consumer ${NATS_STORE_CONSUMER})`);
  return {
    stats,
    close: async () => {
      messages.stop();
      await loop.catch(() => undefined);
      await nc.drain().catch(() => nc.close());
    },
  };
}
