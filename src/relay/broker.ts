/**
 * The embedded broker: aedes 1.x (MQTT 3.1.1) on loopback TCP, and MQTT over WebSocket for
 * browsers. Every connection authenticates against the account store; every publish and
 * subscribe goes through the topic ACL (acl.ts). Stored channels (seg, keys) are filed before the
 * publisher is acknowledged: for QoS 1 the PUBACK of an envelope's last piece leaves only after
 * the envelope is on disk, so a device may drop it from its spool at that point.
 *
 * `fault: { misroute }` reproduces the seed bug on purpose: every camera message is also delivered
 * (and stored) under the other accounts' topics — or one named stranger account's.
 */
import { createServer, type Server, type AddressInfo } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { SealcamError } from '../protocol/errors.js';
import { cameraTopicOf, mayPublish, maySubscribe, storedTopic, type Principal } from './acl.js';
import type { AccountStore } from './accounts.js';
import type { Ingest } from './ingest.js';
import { misrouteTargets, type MisrouteFault } from './misroute.js';

export interface BrokerOptions {
  accounts: AccountStore;
  ingest: Ingest;
  host?: string;
  port?: number;
  wsPort?: number;
  fault?: { misroute?: MisrouteFault };
  log?: (msg: string) => void;
}

export interface RunningBroker {
  aedes: Aedes;
  port: number;
  wsPort: number;
  stats: { refusedPublishes: number; refusedSubscribes: number; refusedLogins: number; misrouted: number };
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 256 * 1024;

export async function startBroker(o: BrokerOptions): Promise<RunningBroker> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => undefined);
  const principals = new WeakMap<Client, Principal>();
  const stats = { refusedPublishes: 0, refusedSubscribes: 0, refusedLogins: 0, misrouted: 0 };

  const aedes = await Aedes.createBroker({
    drainTimeout: 30_000,
    connectTimeout: 10_000,
    maxClientsIdLength: 128,
    authenticate: (client, username, password, done) => {
      if (!username || !password) {
        stats.refusedLogins++;
        return done(Object.assign(new Error('credentials required'), { returnCode: 4 }) as never, false);
      }
      o.accounts.authenticate(username, password.toString('utf8')).then(
        (p) => {
          if (!p) {
            stats.refusedLogins++;
            return done(Object.assign(new Error('bad username or password'), { returnCode: 4 }) as never, false);
          }
          principals.set(client, p);
          done(null, true);
        },
        (e: Error) => done(Object.assign(e, { returnCode: 3 }) as never, false),
      );
    },
    authorizePublish: (client, packet, done) => {
      const p = client ? principals.get(client) : undefined;
      if (!client) return done(null); // the broker's own (last-will and misroute copies)
      if (!p || !mayPublish(p, packet.topic)) {
        stats.refusedPublishes++;
        log(`refused publish by ${p?.username ?? client.id} to ${packet.topic}`);
        return done(new SealcamError('E_ACL', `publish to ${packet.topic} not allowed`));
      }
      if (packet.payload.length > MAX_MESSAGE_BYTES) return done(new SealcamError('E_ACL', `message of ${packet.payload.length} bytes exceeds ${MAX_MESSAGE_BYTES}`));
      const stored = storedTopic(packet.topic);
      if (!stored) return done(null);
      o.ingest.take(stored.account, stored.camera, stored.channel, toBytes(packet.payload)).then(() => done(null), done);
    },
    authorizeSubscribe: (client, sub, done) => {
      const p = principals.get(client);
      if (!p || !maySubscribe(p, sub.topic)) {
        stats.refusedSubscribes++;
        log(`refused subscribe by ${p?.username ?? client.id} to ${sub.topic}`);
        return done(null, null); // SUBACK 0x80 (MQTT-3.9.3-2), connection stays
      }
      done(null, sub);
    },
  });

  if (o.fault?.misroute) {
    const fault = o.fault.misroute;
    aedes.on('publish', (packet: PublishPacket, client: Client | null) => {
      if (!client) return; // not the broker's own copies
      const t = cameraTopicOf(packet.topic);
      if (!t) return;
      for (const account of misrouteTargets(fault, o.accounts, t.account)) {
        const topic = `sc/v1/${account}/${t.camera}/${t.channel}`;
        stats.misrouted++;
        aedes.publish({ cmd: 'publish', topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, dup: false }, () => undefined);
        const stored = storedTopic(topic);
        if (stored) void o.ingest.take(stored.account, stored.camera, stored.channel, toBytes(packet.payload));
      }
    });
  }

  const tcp: Server = createServer(aedes.handle);
  await listen(tcp, o.port ?? 0, host);
  const http: HttpServer = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
  });
  const wss = new WebSocketServer({ server: http, maxPayload: MAX_MESSAGE_BYTES + 1024 });
  wss.on('connection', (ws, req) => aedes.handle(createWebSocketStream(ws), req));
  await listen(http, o.wsPort ?? 0, host);

  return {
    aedes,
    port: (tcp.address() as AddressInfo).port,
    wsPort: (http.address() as AddressInfo).port,
    stats,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await Promise.all([closeServer(tcp), closeServer(http), new Promise<void>((r) => aedes.close(() => r()))]);
    },
  };
}

function toBytes(payload: string | Buffer): Uint8Array {
  return typeof payload === 'string' ? new TextEncoder().encode(payload) : new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
}

function listen(server: Server | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new SealcamError('E_BROKER', `cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
    server.listen(port, host, () => resolve());
  });
}

function closeServer(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as HttpServer).closeAllConnections?.();
  });
}
