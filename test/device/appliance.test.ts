/**
 * The camera as an appliance (issue 14): `sealcam device run --upload` with no duration, as the
 * systemd unit runs it. A real child process, real signals, the embedded relay, and a real unix
 * datagram socket as NOTIFY_SOCKET (python3 binds it: Node cannot) receiving what systemd would.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pairedOverRelay } from '../helpers/device.js';
import { SEALCAM_BIN } from '../helpers/cli.js';
import { requireTool, toolWorks } from '../helpers/tools.js';
import { until } from '../relay/uploader-contract.js';

/** A small sim board, so the test does not load the machine (accounting, not speed, is checked). */
export async function smallBoard(dir: string, extra: { spoolBytes?: number } = {}): Promise<string> {
  const sim = JSON.parse(await readFile(new URL('../../boards/sim.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  const board = { ...sim, name: 'sim-small', video: { width: 640, height: 360, fps: 30, bitrate: 500_000, segmentSeconds: 1, chunkFrames: 3 }, spool: { dir: 'spool', maxBytes: extra.spoolBytes ?? 64 * 1024 * 1024 } };
  const path = join(dir, 'sim-small.json');
  await writeFile(path, JSON.stringify(board));
  return path;
}

/** Receives sd_notify datagrams on a unix socket: one message per line, newlines as `|`. */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("BOUND", flush=True)
while True:
    # no ancillary buffer: systemd-notify's BARRIER=1 pipe fd is dropped (closed), which releases it
    print(s.recv(65536).decode(errors="replace").replace("\\n", "|"), flush=True)
`;

interface Receiver {
  messages: string[];
  close(): void;
}

async function notifySocket(path: string): Promise<Receiver> {
  const py = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'ignore'] });
  const messages: string[] = [];
  let buf = '';
  py.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    messages.push(...lines);
  });
  await until(() => messages.includes('BOUND'), 15_000, 'python3 to bind the notify socket');
  return { messages, close: () => py.kill() };
}

interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: () => boolean;
}

function startSealcam(args: string[], env: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe' = 'ignore'): Child {
  const child = spawn(process.execPath, [SEALCAM_BIN, ...args], { stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, SEALCAM_DEBUG: '', ...env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      exited = true;
      r({ code, signal });
    }),
  );
  return { process: child, stdout: () => out, stderr: () => err, exit, exited: () => exited };
}

/** `until`, with a description made when it fails (so it shows the state at that moment). */
async function waitFor(child: Child, cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  await until(() => cond() || child.exited(), timeoutMs, 'a condition').catch(() => undefined);
  if (!cond()) throw new Error(`${child.exited() ? 'sealcam exited' : `timed out after ${timeoutMs} ms`} waiting for ${what()}`);
}

const has = (r: Receiver, prefix: string) => r.messages.filter((m) => m.split('|').some((f) => f === prefix)).length;

test('device run --upload without --seconds: READY, WATCHDOG while frames flow, SIGTERM → STOPPING, FINAL uploaded, exit 0', async (t) => {
  if (!requireTool(t, 'python3', toolWorks('python3', ['--version'])) || !requireTool(t, 'systemd-notify', toolWorks('systemd-notify', ['--version']))) return;
  const p = await pairedOverRelay('appliance', 'porch');
  const receiver = await notifySocket(join(p.dir, 'notify.sock'));
  try {
    const board = await smallBoard(p.dir);
    const run = startSealcam(['device', 'run', '--board', board, '--home', p.camera.dir, '--upload', '--realtime', '--upload-timeout', '30', '--json'], {
      NOTIFY_SOCKET: join(p.dir, 'notify.sock'),
      WATCHDOG_USEC: '1000000', // a ping every 0.5 s while frames flow
    });
    await waitFor(run, () => has(receiver, 'READY=1') > 0 && has(receiver, 'WATCHDOG=1') >= 2, 60_000, () => `READY=1 and two WATCHDOG=1 (got ${receiver.messages.join(' / ')}; stderr ${run.stderr()})`);
    t.regex(receiver.messages.find((m) => m.includes('READY=1'))!, /STATUS=running: \d+ segments sealed/);
    run.process.kill('SIGTERM');
    const { code, signal } = await run.exit;
    t.is(code, 0, `exit ${code} ${signal}; stderr: ${run.stderr()}`);
    t.true(has(receiver, 'STOPPING=1') >= 1, receiver.messages.join(' / '));
    t.regex(run.stderr(), /SIGTERM: closing the current segment \(FINAL\)/);
    const summary = JSON.parse(run.stdout()) as { seqs: [number, number]; stoppedBy: string; upload: { spooled: number; envelopesUploaded: number } };
    t.is(summary.stoppedBy, 'signal');
    t.is(summary.upload.spooled, 0);
    // Every sealed seq is on the relay, and the last one carries FINAL.
    const stored = p.relay.store.list(p.login.account, p.camera.identity.idHex);
    const seqs = stored.map((s) => s.seq);
    const [first, last] = summary.seqs;
    const missing = [];
    for (let s = first; s <= last; s++) if (!seqs.includes(s)) missing.push(s);
    t.deepEqual(missing, [], `seqs ${first}..${last} sealed, stored ${seqs.join(',')}`);
    const lastStored = stored.find((s) => s.seq === last);
    t.true(lastStored?.final, `seq ${last} stored with final=${lastStored?.final}`);
  } finally {
    receiver.close();
    await p.relay.close();
  }
});

/** A Y4M stream header and `n` I420 frames of `w`×`h` (each a different grey, so it encodes). */
function y4mFrames(w: number, h: number, n: number, from: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) frames.push(Buffer.from('FRAME\n'), Buffer.alloc((w * h * 3) / 2, (from + i) * 7));
  return Buffer.concat(frames);
}

test('the watchdog stops when the pipeline stalls (no frames) and resumes with them; a spool that cannot drain (relay down) exits 75, E_SPOOL, with its count', async (t) => {
  if (!requireTool(t, 'python3', toolWorks('python3', ['--version'])) || !requireTool(t, 'systemd-notify', toolWorks('systemd-notify', ['--version']))) return;
  const p = await pairedOverRelay('watchdog', 'porch');
  await p.relay.close(); // the relay is down for the whole run: everything stays spooled
  const receiver = await notifySocket(join(p.dir, 'notify.sock'));
  try {
    const board = await smallBoard(p.dir);
    const run = startSealcam(['device', 'run', '--board', board, '--home', p.camera.dir, '--upload', '--upload-timeout', '1', '--y4m', '-', '--json'], { NOTIFY_SOCKET: join(p.dir, 'notify.sock'), WATCHDOG_USEC: '400000' }, 'pipe');
    const stdin = run.process.stdin!;
    stdin.write('YUV4MPEG2 W160 H96 F30:1 Ip A1:1 C420jpeg\n');
    let sent = 0;
    // Frames keep flowing (a few at a time) until the watchdog has pinged twice.
    while (has(receiver, 'WATCHDOG=1') < 2) {
      stdin.write(y4mFrames(160, 96, 3, sent));
      sent += 3;
      if (sent > 30_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.true(has(receiver, 'READY=1') === 1, receiver.messages.join(' / '));
    // Stall: no frames. After a few watchdog intervals, no ping arrives any more.
    await new Promise((r) => setTimeout(r, 1000)); // a ping in flight at the stall lands in this window
    const atStall = has(receiver, 'WATCHDOG=1');
    await new Promise((r) => setTimeout(r, 1500)); // ≥ 7 intervals of 0.2 s with no frames: an absence, so it needs a wait
    t.is(has(receiver, 'WATCHDOG=1'), atStall, `pings during the stall: ${has(receiver, 'WATCHDOG=1') - atStall}`);
    // Frames again: the pings resume.
    while (has(receiver, 'WATCHDOG=1') === atStall && sent < 60_000) {
      stdin.write(y4mFrames(160, 96, 3, sent));
      sent += 3;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.true(has(receiver, 'WATCHDOG=1') > atStall);
    stdin.end();
    const { code } = await run.exit;
    t.is(code, 75, run.stderr());
    const summary = JSON.parse(run.stdout()) as { framesCaptured: number; stoppedBy: string; seqs: [number, number]; upload: { spooled: number } };
    t.is(summary.framesCaptured, sent, `frames written ${sent}, captured ${summary.framesCaptured}`);
    t.is(summary.stoppedBy, 'end');
    t.is(summary.upload.spooled, summary.seqs[1] - summary.seqs[0] + 1, `seqs ${summary.seqs.join('..')}, spooled ${summary.upload.spooled}`);
    t.regex(run.stderr(), new RegExp(`sealcam: E_SPOOL: ${summary.upload.spooled} envelopes stay spooled in \\S+: .* they upload at the next start`));
    t.notRegex(run.stderr(), /\n\s+at /, 'no stack trace');
    t.true(has(receiver, 'STOPPING=1') >= 1);
  } finally {
    receiver.close();
  }
});

test('the systemd unit runs the agent until stopped, uploading, as Type=notify with a watchdog', async (t) => {
  const unit = await readFile(new URL('../../firmware/sealcam-agent.service', import.meta.url), 'utf8');
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
  t.like({ Type: value('Type'), NotifyAccess: value('NotifyAccess'), Restart: value('Restart'), KillMode: value('KillMode') }, { Type: 'notify', NotifyAccess: 'all', Restart: 'always', KillMode: 'mixed' });
  t.true(Number(value('WatchdogSec')) > 0);
  const exec = value('ExecStart')!.split(' ');
  t.true(exec.includes('--upload') && exec.includes('run'), exec.join(' '));
  t.false(exec.includes('--seconds'), 'no duration: it runs until stopped');
  const drain = Number(exec[exec.indexOf('--upload-timeout') + 1]);
  t.true(drain > 0 && drain < Number(value('TimeoutStopSec')), `--upload-timeout ${drain} s must fit in TimeoutStopSec=${value('TimeoutStopSec')}`);
  t.regex(unit, /^SuccessExitStatus=75$/m, 'a stop with envelopes still spooled (exit 75) is not a failure');
});
