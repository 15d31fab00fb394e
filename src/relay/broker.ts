/**
 * The embedded broker: aedes 1.x (MQTT 3.1.1) on loopback TCP, and MQTT over WebSocket for
 * browsers. Every connection authenticates against the account store; every publish and
 * subscribe goes through the topic ACL (acl.ts). Stored channels (seg, keys) are filed before the
 * publisher is acknowledged: for QoS 1 the PUBACK of an envelope's last piece leaves only after
 * the envelope is on disk, so a device may drop it from its spool at that point.
 *
 * Limits (PROTOCOL.md §11.3): bytes before login and packet sizes are checked on the wire before
 * aedes parses them (conn-guard.ts); logins go through the login guard (login-guard.ts); a client id
 * is bound to its login; retained messages are counted per account; a client that stops reading is
 * disconnected once too much waits to be written to it (broker-limits.ts).
 *
 * `fault: { misroute }` reproduces the seed bug on purpose: every camera message is also delivered
 * (and stored) under the other accounts' topics — or one named stranger account's.
 */
import { createServer, type Server, type AddressInfo, type Socket } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { SealcamError } from '../protocol/errors.js';
import { cameraTopic } from '../protocol/topics.js';
import { encodeReceipt, type Receipt } from '../protocol/receipt.js';
import { cameraTopicOf, mayPublish, maySubscribe, storedTopic, type Principal } from './acl.js';
import type { AccountStore } from './accounts.js';
import type { Ingest } from './ingest.js';
import { misrouteTargets, type MisrouteFault } from './misroute.js';
import { guardConnection, type GuardedConn } from './conn-guard.js';
import { LoginGuard } from './login-guard.js';
import { TLS_HANDSHAKE_TIMEOUT_MS, type TlsIdentity } from './tls.js';
import { DEFAULT_BROKER_LIMITS, MAX_MESSAGE_BYTES, RetainedLedger, clientIdRefusal, type BrokerLimits } from './broker-limits.js';

export interface BrokerOptions {
  accounts: AccountStore;
  ingest: Ingest;
  host?: string;
  port?: number;
  wsPort?: number;
  fault?: { misroute?: MisrouteFault };
  /** resource limits (§11.3); defaults DEFAULT_BROKER_LIMITS */
  limits?: Partial<BrokerLimits>;
  /** login rate limits and the hashing pool, shared with the HTTP API (default: a new one) */
  loginGuard?: LoginGuard;
  /** serve MQTT over TLS and WebSocket over TLS with this certificate (§15.8); absent: plaintext */
  tls?: TlsIdentity;
  log?: (msg: string) => void;
}


export interface RunningBroker {
  aedes: Aedes;
  port: number;
  wsPort: number;
  stats: BrokerStats;
  loginGuard: LoginGuard;
  limits: BrokerLimits;
  close(): Promise<void>;
}

export interface BrokerStats {
  refusedPublishes: number;
  refusedSubscribes: number;
  refusedLogins: number;
  misrouted: number;
  /** logins refused by the login guard before any password was checked (CONNACK 3) */
  throttledLogins: number;
  /** connections cut because a packet (or the bytes before login) was over its limit */
  tooLarge: number;
  /** CONNECTs refused for a client id of another login (CONNACK 2) */
  refusedClientIds: number;
  /** retained publishes refused over the account's retained limit */
  refusedRetained: number;
  /** clients disconnected with more than maxQueuedBytes waiting to be written */
  slowConsumers: number;
}

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
const CONNACK = { identifierRejected: 2, serverUnavailable: 3, badLogin: 4 } as const;

export async function startBroker(o: BrokerOptions): Promise<RunningBroker> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => undefined);
  const principals = new WeakMap<Client, Principal>();
  const stats: BrokerStats = { refusedPublishes: 0, refusedSubscribes: 0, refusedLogins: 0, misrouted: 0, throttledLogins: 0, tooLarge: 0, refusedClientIds: 0, refusedRetained: 0, slowConsumers: 0 };
  const limits: BrokerLimits = { ...DEFAULT_BROKER_LIMITS, ...o.limits };
  const loginGuard = o.loginGuard ?? new LoginGuard();
  const guarded = new WeakMap<object, GuardedConn>();
  const retained = new RetainedLedger(limits);
  const refuse = (returnCode: number, message: string) => Object.assign(new Error(message), { returnCode }) as never;

  /** A storage receipt (§10.5) to the camera, from the broker itself (no client: no ACL check). */
  const sendReceipt = (account: string, camera: string, receipt: Receipt) => {
    aedes.publish({ cmd: 'publish', topic: cameraTopic(account, camera, 'stored'), payload: Buffer.from(encodeReceipt(receipt)), qos: 0, retain: false, dup: false }, () => undefined);
  };
  const aedes = await Aedes.createBroker({
    drainTimeout: 30_000,
    connectTimeout: limits.connectTimeoutMs,
    maxClientsIdLength: 128,
    authenticate: (client, username, password, done) => {
      if (!username || !password) {
        stats.refusedLogins++;
        return done(refuse(CONNACK.badLogin, 'credentials required'), false);
      }
      const conn = guarded.get(client.conn);
      loginGuard.attempt(conn?.source ?? 'unknown', username, () => o.accounts.authenticate(username, password.toString('utf8'))).then(
        (p) => {
          if (!p) {
            stats.refusedLogins++;
            return done(refuse(CONNACK.badLogin, 'bad username or password'), false);
          }
          const idRefusal = clientIdRefusal(client.id, p, {
            clean: client.clean,
            isUsername: (name) => o.accounts.user(name) !== undefined,
            connectedAs: (id) => {
              const holder = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[id];
              return holder ? (principals.get(holder)?.username ?? '') : undefined;
            },
          });
          if (idRefusal) {
            stats.refusedClientIds++;
            log(`E_CLIENT_ID: refused login ${p.username}: ${idRefusal}`);
            return done(refuse(CONNACK.identifierRejected, idRefusal), false);
          }
          principals.set(client, p);
          if (conn) conn.scanner.authenticated = true;
          done(null, true);
        },
        (e: Error) => {
          if (SealcamError.is(e, 'E_RATE_LIMITED') || SealcamError.is(e, 'E_OVERLOADED')) {
            stats.throttledLogins++;
            log(`${e.message} (login ${JSON.stringify(username.slice(0, 100))})`);
          }
          done(refuse(CONNACK.serverUnavailable, e.message), false);
        },
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
      if (packet.retain) {
        const over = retained.take(p.account, packet.topic, packet.payload.length);
        if (over) {
          stats.refusedRetained++;
          log(`E_RETAINED_LIMIT: refused retained publish by ${p.username} to ${packet.topic}: ${over}`);
          return done(new SealcamError('E_RETAINED_LIMIT', over));
        }
      }
      const stored = storedTopic(packet.topic);
      if (!stored) return done(null);
      // Filed before the PUBACK (§11.1), and confirmed on the camera's `stored` topic (§10.5).
      o.ingest.take(stored.account, stored.camera, stored.channel, toBytes(packet.payload)).then((receipt) => {
        done(null);
        if (receipt) sendReceipt(stored.account, stored.camera, receipt);
      }, done);
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
    // Every delivery passes here first: a client with too much still waiting to be written is cut
    // off instead of buffering without end (aedes' drainTimeout alone lets 30 s pile up).
    authorizeForward: (client, packet) => {
      const queued = guarded.get(client.conn)?.queuedBytes() ?? 0;
      if (queued <= limits.maxQueuedBytes) return packet;
      if (!client.conn.destroyed) {
        stats.slowConsumers++;
        log(`E_SLOW_CONSUMER: disconnected ${principals.get(client)?.username ?? 'a client'}: ${queued} bytes waiting to be written; the limit is ${limits.maxQueuedBytes}`);
        client.conn.destroy();
      }
      return null;
    },
  });

  const handle = (conn: Duplex, source: string, queuedBytes: () => number, req?: IncomingMessage) => {
    const g = guardConnection(conn, {
      limits,
      source,
      queuedBytes,
      onViolation: (e, g) => {
        stats.tooLarge++;
        log(`${e.message} (from ${g.source}, after ${g.scanner.bytes} bytes)`);
      },
    });
    guarded.set(conn, g);
    aedes.handle(conn, req as never);
  };

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

  const onSocket = (socket: Socket) => handle(socket, socket.remoteAddress ?? 'unknown', () => socket.writableLength);
  const tlsOptions = o.tls ? { cert: o.tls.cert, key: o.tls.key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS } : null;
  const tcp: Server = tlsOptions ? createTlsServer(tlsOptions, onSocket) : createServer(onSocket);
  await listen(tcp, o.port ?? 0, host);
  const onHttp = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
  };
  const http: HttpServer = tlsOptions ? createHttpsServer(tlsOptions, onHttp) : createHttpServer(onHttp);
  const wss = new WebSocketServer({ server: http, maxPayload: MAX_MESSAGE_BYTES + 1024 });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    handle(stream, req.socket.remoteAddress ?? 'unknown', () => stream.writableLength + ws.bufferedAmount, req);
  });
  await listen(http, o.wsPort ?? 0, host);

  return {
    aedes,
    port: (tcp.address() as AddressInfo).port,
    wsPort: (http.address() as AddressInfo).port,
    stats,
    loginGuard,
    limits,
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
