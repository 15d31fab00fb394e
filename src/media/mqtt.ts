/**
 * One way to open an MQTT 3.1.1 session with a relay login, for every app (media/ is the layer
 * under them): resolves once connected, or fails with E_AUTH naming the broker.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { SealcamError } from '../protocol/errors.js';

export async function connectMqtt(url: string, login: { username: string; password: string }, options: { reconnectPeriod?: number } = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, username: login.username, password: login.password, reconnectPeriod: options.reconnectPeriod ?? 0, connectTimeout: 10_000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (e) => {
      client.end(true);
      reject(new SealcamError('E_AUTH', `relay MQTT ${url}: ${e.message}`));
    });
  });
  return client;
}
