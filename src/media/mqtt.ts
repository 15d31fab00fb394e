/**
 * One way to open an MQTT 3.1.1 session with a relay login, for every app (media/ is the layer
 * under them): resolves once connected, or fails with E_AUTH naming the broker. An mqtts:// URL
 * with the login's `fingerprint` trusts that relay key only (pinned-tls.ts, §15.8).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { SealcamError } from '../protocol/errors.js';
import { tlsOptionsFor } from './pinned-tls.js';

export interface MqttLogin {
  username: string;
  password: string;
  /** the relay's pinned key, `sha256/…` */
  fingerprint?: string | null;
}

/** `url` may list several brokers (a cluster's nodes), comma-separated; all must present the same pinned key. */
export async function connectMqtt(url: string, login: MqttLogin, options: { reconnectPeriod?: number } = {}): Promise<MqttClient> {
  const tls = await tlsOptionsFor(url.split(',')[0]!.trim(), login.fingerprint);
  // Several URLs (a cluster's nodes, comma-separated): mqtt.js moves to the next on each reconnect.
  const urls = url.split(',').map((u) => u.trim());
  const servers = urls.length > 1 ? urls.map((u) => new URL(u)).map((u) => ({ host: u.hostname, port: Number(u.port), protocol: u.protocol.slice(0, -1) as 'mqtt' | 'mqtts' })) : undefined;
  const client = mqtt.connect(urls[0]!, { ...(servers ? { servers } : {}), protocolVersion: 4, username: login.username, password: login.password, reconnectPeriod: options.reconnectPeriod ?? 0, connectTimeout: 10_000, ...tls });
  await new Promise<void>((resolve, reject) => {
    // A broker that closes the connection without a CONNACK (a NATS node whose JetStream is not
    // ready yet does) would otherwise leave this waiting for ever when nothing reconnects.
    const onClose = () => {
      client.end(true);
      reject(new SealcamError('E_BROKER', `relay MQTT ${url} closed the connection before accepting the login; try again shortly`));
    };
    if (!(options.reconnectPeriod ?? 0)) client.once('close', onClose);
    client.once('connect', () => {
      client.off('close', onClose);
      resolve();
    });
    client.once('error', (e) => {
      client.end(true);
      reject(new SealcamError('E_AUTH', `relay MQTT ${url}: ${e.message}`));
    });
  });
  return client;
}
