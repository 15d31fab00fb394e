/** A real nats-server cluster for tests (issue 15): nodes on free loopback ports, killed and started again by index. */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import mqtt from 'mqtt';
import { join } from 'node:path';
import type { AccountStore } from '../../src/relay/accounts.js';
import { writeNatsConfig, type NatsClusterConfig, type NatsNodePorts } from '../../src/relay/nats-config.js';
import { natsLogins } from '../../src/relay/nats-logins.js';
import { freePort, waitForPort } from './relay.js';
import { findTool } from './tools.js';

export const NATS_SERVER = findTool('nats-server');

export interface TestNatsCluster {
  config: NatsClusterConfig;
  ports: NatsNodePorts[];
  /**
   * A stream as node `i` holds it (its monitoring port's /jsz): the node's own replica, not the
   * leader's answer that every JetStream API request gets. Null when the node does not hold it.
   */
  localStream(i: number, stream: string): Promise<{ messages: number; firstSeq: number; lastSeq: number } | null>;
  kill(i: number): Promise<void>;
  start(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startNatsCluster(accounts: AccountStore, dataDir: string, outDir: string, nodes = 3): Promise<TestNatsCluster> {
  // A free port can be taken by another process between freePort() and nats-server's bind (tests
  // run two files at once); a node that exits at start is therefore tried again on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(accounts, dataDir, outDir, nodes);
    } catch (e) {
      if (attempt >= 3 || !(e as Error).message.includes('exited at start')) throw e;
      await rm(join(outDir, 'js'), { recursive: true, force: true }); // no state of the failed start
    }
  }
}

async function startNatsClusterOnce(accounts: AccountStore, dataDir: string, outDir: string, nodes: number): Promise<TestNatsCluster> {
  const ports: NatsNodePorts[] = [];
  const monitor: number[] = [];
  for (let i = 0; i < nodes; i++) {
    ports.push({ client: await freePort(), cluster: await freePort(), mqtt: await freePort() });
    monitor.push(await freePort());
  }
  const { logins } = await natsLogins(accounts, dataDir);
  const config = await writeNatsConfig(logins, outDir, { host: '127.0.0.1', nodes: ports, dataDir: join(outDir, 'js') });
  const procs: (ChildProcess | null)[] = ports.map(() => null);
  // SC_NATS_LOG=/tmp/x keeps each node's log in /tmp/x-<i>.log (for a failing run); SC_NATS_TRACE=1 adds every protocol message (-V).
  const start = async (i: number) => {
    const p = spawn(NATS_SERVER!, ['-c', config.confPaths[i]!, '-m', String(monitor[i]!), ...(process.env.SC_NATS_LOG ? ['-l', `${process.env.SC_NATS_LOG}-${i + 1}.log`, ...(process.env.SC_NATS_TRACE ? ['-V'] : [])] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs[i] = p;
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const exited = new Promise<never>((_, reject) => p.once('exit', (code, signal) => reject(new Error(`nats-server node ${i + 1} exited at start (${code ?? signal}): ${err.trim().split('\n').slice(-3).join(' | ')}`))));
    exited.catch(() => undefined);
    // The MQTT listener opens once JetStream has a leader: seconds on a loaded machine.
    await Promise.race([waitForPort(ports[i]!.mqtt, 30_000), exited]).catch((e: Error) => {
      throw p.exitCode === null && p.signalCode === null ? new Error(`${e.message} (nats-server node ${i + 1} still running; its last words: ${err.trim().split('\n').slice(-3).join(' | ') || 'none'})`) : e;
    });
  };
  const kill = async (i: number) => {
    const p = procs[i];
    procs[i] = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  const localStream = async (i: number, stream: string) => {
    const r = await fetch(`http://127.0.0.1:${monitor[i]!}/jsz?accounts=true&streams=true`);
    const jsz = (await r.json()) as { account_details?: { stream_detail?: { name: string; state: { messages: number; first_seq: number; last_seq: number } }[] }[] };
    const s = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []).find((x) => x.name === stream);
    return s ? { messages: s.state.messages, firstSeq: s.state.first_seq, lastSeq: s.state.last_seq } : null;
  };
  const cluster = { config, ports, localStream, start, kill, stop: async () => Promise.all(ports.map((_, i) => kill(i))).then(() => undefined) };
  try {
    await Promise.all(ports.map((_, i) => start(i)));
    // The MQTT port opens before the node takes logins (it closes them for a few more seconds
    // while its JetStream assets come up): ready when a wrong login is refused by a CONNACK.
    await Promise.all(ports.map((p) => mqttRefusesLogin(p.mqtt, 30_000)));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

async function mqttRefusesLogin(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, username: 'readiness-probe', password: 'x', reconnectPeriod: 0, connectTimeout: 2000 });
      const done = (v: boolean) => {
        c.end(true);
        resolve(v);
      };
      c.once('connect', () => done(true));
      c.once('error', (e) => done([4, 5].includes((e as { code?: number }).code ?? -1)));
      c.once('close', () => done(false));
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`nats-server MQTT port ${port} did not take logins within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A store worker in its own process (test/helpers/nats-worker-process.ts), so it can be killed with SIGKILL. */
export interface WorkerProcess {
  /** its history HTTP API */
  httpUrl: string;
  kill(): Promise<void>;
  /** what the worker wrote to stderr so far (its log), for a failing test to print */
  log(): string;
  stop(): Promise<void>;
}

export async function spawnNatsWorker(dataDir: string, servers: string[], ackWaitMs: number, store: 'fs' | 'jetstream' = 'fs'): Promise<WorkerProcess> {
  const script = new URL('./nats-worker-process.ts', import.meta.url).pathname;
  const p = spawn(process.execPath, ['--import=tsx', script], { env: { ...process.env, SC_DATA: dataDir, SC_NATS: servers.join(','), SC_ACK_WAIT: String(ackWaitMs), SC_STORE: store }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const httpUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    p.once('exit', (code) => reject(new Error(`nats worker exited ${code}: ${err}`)));
  });
  const end = async (signal: NodeJS.Signals) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  };
  return { httpUrl, kill: () => end('SIGKILL'), stop: () => end('SIGTERM'), log: () => err };
}
