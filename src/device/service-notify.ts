/**
 * systemd's service notification protocol (sd_notify(3)) for the agent run as a `Type=notify`
 * unit (firmware/sealcam-agent.service):
 *   READY=1      once the pipeline has sealed its first segment
 *   WATCHDOG=1   every WATCHDOG_USEC/2 while frames keep flowing; a stalled pipeline stops pinging,
 *                and systemd kills and restarts the agent after WatchdogSec=
 *   STOPPING=1   when a signal asks the agent to stop
 *   STATUS=…     a one-line summary with each message
 * Nothing is sent when NOTIFY_SOCKET is unset (a run from a shell).
 *
 * How the datagram is sent: Node has no AF_UNIX SOCK_DGRAM socket (node:dgram is UDP only), so
 * the message goes through `systemd-notify`, which ships with systemd on every board that runs
 * this unit. The npm alternatives (sd-notify, unix-dgram) are native addons compiled by node-gyp
 * at install time with no prebuilt arm64 binaries, which the firmware image (it carries only
 * prebuilt addons per board architecture, src/firmware/addons.ts) could not ship. systemd-notify
 * is a child process, not the main PID, so the unit needs NotifyAccess=all; since systemd 246 it
 * waits (BARRIER=1) until the manager has read the message, so the message is attributed to the
 * unit even though the sender exits at once. One short process per ping (every 15 s with
 * WatchdogSec=30) costs nothing that matters.
 */
import { spawn } from 'node:child_process';

/** How long one systemd-notify may take before it is killed (it waits for the manager). */
const SEND_TIMEOUT_MS = 10_000;

export interface ServiceNotifierOptions {
  env?: NodeJS.ProcessEnv;
  /** the notify command (default systemd-notify, from PATH) */
  command?: string;
  log?: (msg: string) => void;
}

export class ServiceNotifier {
  /** messages sent (the test counts them) and messages that could not be sent */
  readonly stats = { sent: 0, failed: 0 };
  private readonly socket: string | undefined;
  private readonly watchdogMs: number | null;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private disabled = false;
  private ready = false;

  constructor(private readonly o: ServiceNotifierOptions = {}) {
    const env = o.env ?? process.env;
    this.socket = env.NOTIFY_SOCKET || undefined;
    this.watchdogMs = watchdogInterval(env);
  }

  /** True when a service manager listens (NOTIFY_SOCKET is set). */
  get enabled(): boolean {
    return this.socket !== undefined && !this.disabled;
  }

  /** READY=1, once; later calls only update STATUS. */
  markReady(status: string): Promise<void> {
    if (this.ready) return this.status(status);
    this.ready = true;
    return this.send({ READY: '1', STATUS: status });
  }

  status(status: string): Promise<void> {
    return this.send({ STATUS: status });
  }

  stopping(status: string): Promise<void> {
    this.unwatch();
    return this.send({ STOPPING: '1', STATUS: status });
  }

  /**
   * Ping WATCHDOG=1 every WATCHDOG_USEC/2, but only when `beats()` has moved since the last tick
   * (frames kept flowing). No-op when systemd set no watchdog for this process.
   */
  watch(beats: () => number, status: () => string): void {
    if (!this.enabled || this.watchdogMs === null || this.timer) return;
    let last = beats();
    this.timer = setInterval(() => {
      const now = beats();
      if (now === last) return; // stalled: no ping, so systemd restarts the agent
      last = now;
      void this.send({ WATCHDOG: '1', STATUS: status() });
    }, this.watchdogMs);
    this.timer.unref();
  }

  unwatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Resolves once every message queued so far has been handed over (or given up). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** One datagram of KEY=VALUE lines (sd_notify(3)); sent in order, one at a time. */
  private send(fields: Record<string, string>): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const args = Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`);
    this.chain = this.chain.then(() => this.run(args));
    return this.chain;
  }

  private run(args: string[]): Promise<void> {
    if (this.disabled) return Promise.resolve();
    return new Promise((resolve) => {
      const child = spawn(this.o.command ?? 'systemd-notify', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: SEND_TIMEOUT_MS, env: { ...(this.o.env ?? process.env) } });
      let err = '';
      let done = false;
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (done) return;
        done = true;
        this.stats.failed++;
        if (e.code === 'ENOENT') {
          this.disabled = true; // not under systemd after all: say so once, and stop trying
          this.o.log?.(`NOTIFY_SOCKET is set but ${this.o.command ?? 'systemd-notify'} is not installed: no readiness or watchdog messages`);
        }
        resolve();
      });
      child.once('close', (code) => {
        if (done) return;
        done = true;
        if (code === 0) this.stats.sent++;
        else {
          this.stats.failed++;
          this.o.log?.(`systemd-notify ${args[0]} failed (${code ?? 'timeout'}): ${err.trim().split('\n')[0] ?? ''}`);
        }
        resolve();
      });
    });
  }
}

/** Half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises; null when there is no watchdog for this PID. */
export function watchdogInterval(env: NodeJS.ProcessEnv): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}
