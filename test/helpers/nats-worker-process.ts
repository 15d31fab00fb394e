/** One store worker process for test/relay/nats.test.ts: SC_DATA, SC_NATS (comma-separated), SC_ACK_WAIT (ms). Prints "ready". */
import { startNatsRelay } from '../../src/relay/nats-relay.js';

const relay = await startNatsRelay({
  dataDir: process.env.SC_DATA!,
  servers: process.env.SC_NATS!.split(','),
  mqttUrls: [],
  httpPort: 0,
  ackWaitMs: Number(process.env.SC_ACK_WAIT),
  log: (m) => process.stderr.write(`${m}\n`),
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => void relay.close().then(() => process.exit(0)));
