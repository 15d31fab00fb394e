/**
 * Issue 12 rows 3-5 at full size against a relay in its own process (`sealcam relay`), reading its
 * RSS from /proc/<pid>/status: per attack, the relay's peak RSS over its idle baseline, and for the
 * login flood how long a legitimate login took during it. Figures only, no assertions.
 *
 *   node --import=tsx bench/abuse.ts
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { AccountStore } from '../src/relay/accounts.js';
import { freePort, tempDir, waitForPort } from '../test/helpers/relay.js';
import { publishHeader, rawLogin, remainingLength, writeUntilClosed } from '../test/relay/raw-mqtt.js';
import { connect } from 'node:net';

const MB = 1000 * 1000;
const dataDir = join(await tempDir('bench-abuse'), 'relay');
const accounts = await AccountStore.open(dataDir);
const owner = await accounts.addAccount('home');
const [port, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
const relay = spawn(process.execPath, ['bin/sealcam.js', 'relay', '--data', dataDir, '--plaintext', '--port', String(port), '--ws-port', String(wsPort), '--http-port', String(httpPort)], { stdio: 'ignore' });
await waitForPort(port, 60_000);

const rssMB = (field: 'VmRSS' | 'VmHWM' = 'VmRSS') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${relay.pid}/status`, 'utf8'))![1]) / 1024;

/** Run `attack`, sampling the relay's RSS every 20 ms; returns the peak. */
async function peakDuring(attack: () => Promise<unknown>): Promise<number> {
  let peak = rssMB();
  const timer = setInterval(() => (peak = Math.max(peak, rssMB())), 20);
  try {
    await attack();
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssMB());
}

const login = { username: owner.username, password: owner.password };
const results: Record<string, string> = {};
// Warm up: two logins at once (scrypt takes 32 MiB each, the hashing pool runs 2) so the baseline
// holds what any login costs, and the figures below are the attacks' own.
await Promise.all([1, 2].map(async (i) => (await rawLogin(port, { clientId: `${owner.username}:w${i}`, ...login })).socket.destroy()));
await new Promise((r) => setTimeout(r, 500));
const baseline = rssMB();
results['idle'] = `${baseline.toFixed(0)} MB`;

const oversize = 240 * MB;
let peak = await peakDuring(() =>
  Promise.all(
    [1, 2, 3].map(async (i) => {
      const c = await rawLogin(port, { clientId: `big${i}`, ...login });
      return writeUntilClosed(c.socket, publishHeader('sc/v1/home/x/roster', oversize), oversize);
    }),
  ),
);
results['3 × 240 MB PUBLISH, authenticated'] = `peak +${(peak - baseline).toFixed(0)} MB`;

peak = await peakDuring(async () => {
  const s = connect({ port, host: '127.0.0.1' });
  await new Promise((r) => s.once('connect', r));
  return writeUntilClosed(s, Buffer.concat([Buffer.from([0x10]), remainingLength(200 * MB)]), 200 * MB);
});
results['200 MB CONNECT before login'] = `peak +${(peak - baseline).toFixed(0)} MB`;

let acked = 0;
peak = await peakDuring(async () => {
  for (let i = 0; i < 400; i++) {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, ...login });
    c.on('error', () => undefined);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    let n = 0;
    for (; i < 400; i++, n++) {
      const topic = i % 2 ? `sc/v1/home/junk${i}/roster` : `sc/v1/pair/${i.toString(16).padStart(32, '0')}`;
      const ok = await Promise.race([c.publishAsync(topic, Buffer.alloc(262 * 1000, i), { qos: 1, retain: true }).then(() => true), closed.then(() => false)]).catch(() => false);
      if (!ok) break;
      acked++;
    }
    c.end(true);
    if (n === 0) break; // refused at once: the account is full
  }
});
results['400 retained 262 KB messages'] = `peak +${(peak - baseline).toFixed(0)} MB, ${acked} kept`;

let legitMs = 0;
const codes: number[] = [];
peak = await peakDuring(async () => {
  const flood = Array.from({ length: 40 }, (_, i) => rawLogin(port, { clientId: `f${i}`, username: owner.username, password: `guess${i}` }, '127.0.0.2').then((c) => (c.socket.destroy(), codes.push(c.connack))));
  const t0 = performance.now();
  const c = await rawLogin(port, { clientId: `${owner.username}:1`, ...login });
  legitMs = performance.now() - t0;
  c.socket.destroy();
  await Promise.allSettled(flood);
});
results['40 bad-password CONNECTs'] = `legit login ${legitMs.toFixed(0)} ms during the flood; flood CONNACK 4: ${codes.filter((c) => c === 4).length}, CONNACK 3: ${codes.filter((c) => c === 3).length}`;
results['relay peak RSS (VmHWM)'] = `${rssMB('VmHWM').toFixed(0)} MB`;

relay.kill('SIGTERM');
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(36)} ${v}`);
