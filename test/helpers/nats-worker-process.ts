/**
 * One store worker process for the NATS tests: SC_DATA, SC_NATS (comma-separated), SC_ACK_WAIT (ms),
 * SC_STORE (fs or jetstream, default fs). Prints "ready <history API URL>".
 */
import { startNatsRelay } from '../../src/relay/nats-relay.js';

const relay = await startNatsRelay({
  dataDir: process.env.SC_DATA!,
  servers: process.env.SC_NATS!.split(','),
  mqttUrls: [],
  httpPort: 0,
  ackWaitMs: Number(process.env.SC_ACK_WAIT),
  store: process.env.SC_STORE === 'jetstream' ? 'jetstream' : 'fs',
  log: (m) => process.stderr.write(`${m}\n`),
});
process.stdout.write(`ready ${relay.httpUrl}\n`);
process.once('SIGTERM', () => void relay.close().then(() => process.exit(0)));
