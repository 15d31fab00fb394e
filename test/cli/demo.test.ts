/**
 * `sealcam demo` as a user runs it (`npm start`), on the embedded relay and through external
 * Mosquitto brokers: the report's promises, owner.mp4 checked by ffprobe, and every file the relay
 * stored opened and scanned for plaintext.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { DemoReport } from '../../src/cli/demo.js';
import { BrokerAdmin, findDynsecPlugin, readBrokerAdmin } from '../../src/relay/dynsec.js';
import { connectMqtt } from '../../src/media/mqtt.js';
import { sealcam } from '../helpers/cli.js';
import { assertCiphertextOnly, ffprobe, filesUnder } from '../helpers/media.js';
import { freePort, waitForPort } from '../helpers/relay.js';
import { findTool, requireTool, toolWorks } from '../helpers/tools.js';

const mosquittoBin = findTool('mosquitto');

/** What every demo run must show, whichever broker carried it. */
async function checkReport(t: ExecutionContext, json: DemoReport, seconds: number): Promise<void> {
  // A live camera drops (and counts) frames its encoder cannot keep up with; every frame encoded plays.
  t.like(json, { framesCaptured: 30 * seconds, ownerSegmentsRejected: 0, ownerGaps: 0, strangerFramesDecoded: 0 });
  // Accounting, not speed: how many frames a loaded machine encodes in real time varies, but every
  // captured frame is either encoded or counted as dropped, and something was encoded to watch.
  t.is(json.framesEncoded + json.framesDropped, 30 * seconds, `${json.framesEncoded} encoded + ${json.framesDropped} dropped`);
  t.true(json.framesEncoded > 0, `${json.framesEncoded} frames encoded`);
  t.is(json.framesDecodedByOwner, json.framesEncoded);
  t.true(json.segmentsUploaded >= seconds);
  t.is(json.strangerSegmentsReceived, json.segmentsUploaded, 'every segment was misrouted into the stranger history');
  t.is(json.strangerSegmentsRejected, json.strangerSegmentsReceived);
  t.true(json.strangerLiveChunksReceived >= json.framesEncoded);
  t.is(json.strangerLiveChunksRejected, json.strangerLiveChunksReceived);
  t.deepEqual(json.strangerRejectionCodes, ['E_FOREIGN_CAMERA']);
  t.regex(json.pairing.confirmationCodeCamera, /^\d{6}$/);
  t.is(json.pairing.confirmationCodeCamera, json.pairing.confirmationCodeOwner, 'paired through the lens');
  // Live: every encoded frame was decoded as it arrived, and glass to glass was measured on each.
  t.true(json.latencyMs.framesDecodedLive >= json.framesEncoded - 2, `${json.latencyMs.framesDecodedLive} of ${json.framesEncoded} decoded live`);
  t.true(json.latencyMs.p50! > 0 && json.latencyMs.p95! >= json.latencyMs.p50!);
  // Every live chunk the owner saw was confirmed by the camera's seal, and nothing was refused.
  t.is(json.live.chunksUnconfirmed, 0, `${json.live.chunksConfirmed} confirmed, ${json.live.chunksUnconfirmed} unconfirmed`);
  t.deepEqual(json.live.rejected, {});
  t.deepEqual(json.live.alarms, []);
  // owner.mp4, as an independent tool reads it.
  if (requireTool(t, 'ffprobe (Debian ffmpeg)', toolWorks('ffprobe', ['-version']))) {
    t.like(ffprobe(json.ownerMp4), { codec: 'h264', width: 1920, height: 1080, frames: json.framesDecodedByOwner });
  }
  // Everything in relayDataDir: the owner's and the stranger's copies of every segment, and none
  // of it plaintext.
  const files = await filesUnder(json.relayDataDir);
  t.is(files.filter((f) => /\/seg\/[^/]+$/.test(f)).length, 2 * json.segmentsUploaded, 'stored segment files (owner + stranger)');
  await assertCiphertextOnly(t, files, await readFile(json.ownerMp4));
}

async function demo(t: ExecutionContext, dir: string, seconds: number, ...extra: string[]): Promise<DemoReport> {
  const report = join(dir, 'report.json');
  const r = await sealcam('demo', '--seconds', String(seconds), '--out', join(dir, 'out'), '--report', report, ...extra);
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  t.regex(r.stdout, /stranger +misrouted: \d+ segments .*0 frames decoded/);
  return JSON.parse(await readFile(report, 'utf8')) as DemoReport;
}

// The demos run one at a time: each streams 1080p30 in real time, and two cores are few.
test.serial('demo: the owner decodes every frame, the misrouted stranger opens nothing, and the report says so', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-demo-'));
  const json = await demo(t, dir, 2);
  t.like(json.broker, { kind: 'embedded', checksLogins: true });
  // The embedded relay runs TLS as `sealcam relay` does; the owner and the camera pinned its key.
  t.true(json.broker.url.startsWith('mqtts://'), json.broker.url);
  t.regex(json.broker.relayFingerprint ?? '', /^sha256\/[A-Za-z0-9_-]{43}$/);
  // The owner's phone app was served by the relay during the run, and the summary says where.
  t.regex(json.app?.url ?? '', /^https:\/\/127\.0\.0\.1:\d+\/app\/$/);
  t.regex(json.app?.hash ?? '', /^[0-9a-f]{64}$/);
  await checkReport(t, json, 2);
  // `npm start` twice at once: each run gets a directory of its own and removes nobody else's (the
  // second run used to delete the first one's directory, and the first hung).
  const runs = await Promise.all([1, 1].map(async (n, i) => {
    const report = join(dir, `again-${i}.json`);
    const r = await sealcam('demo', '--seconds', String(n), '--out', join(dir, 'out'), '--report', report);
    return { code: r.code, stderr: r.stderr, report: r.code === 0 ? (JSON.parse(await readFile(report, 'utf8')) as DemoReport) : null };
  }));
  for (const r of runs) t.is(r.code, 0, `a concurrent demo run exited ${r.code}: ${r.stderr.slice(-400)}`);
  const dirs = runs.map((r) => dirname(r.report!.ownerMp4));
  t.not(dirs[0], dirs[1], 'each run has its own directory');
  for (const p of [json.ownerMp4, ...runs.map((r) => r.report!.ownerMp4)]) t.true((await stat(p)).size > 0, `${p} is still there`);
  t.is((await stat(json.ownerMp4)).mode & 0o777, 0o600, 'the decrypted video is the owner\'s only');
});

test('demo refuses bad numbers with a clear message', async (t) => {
  const r = await sealcam('demo', '--seconds', '0');
  t.not(r.code, 0);
  t.regex(r.stderr, /number of seconds/);
  const lone = await sealcam('demo', '--broker-admin', 'x.json');
  t.is(lone.code, 2);
  t.regex(lone.stderr, /E_BAD_ARGUMENT: --broker-admin needs --broker/);
});

/** A Mosquitto the way a user starts one: `mosquitto -c FILE` or `mosquitto -p PORT`. Stopped with the test. */
async function userMosquitto(t: ExecutionContext, args: string[], port: number): Promise<void> {
  const child = spawn(mosquittoBin!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => {
    child.kill('SIGTERM');
  });
  await waitForPort(port).catch((e: Error) => {
    throw new Error(`${e.message}: ${stderr}`);
  });
}

test.serial('demo --broker: the same story through a Mosquitto the user started with sealcam\'s dynamic-security config', async (t) => {
  if (!requireTool(t, 'mosquitto with mosquitto_dynamic_security.so (Debian mosquitto)', mosquittoBin !== null && (await findDynsecPlugin()) !== null)) return;
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-demo-broker-'));
  const port = await freePort();
  // The user's steps, as the README gives them.
  const conf = await sealcam('relay', 'mosquitto-config', '--dynamic-security', '--plaintext', '--data', join(dir, 'broker-relay'), '--out', join(dir, 'mosquitto'), '--port', String(port), '--run-as', userInfo().username);
  t.is(conf.code, 0, conf.stderr);
  await userMosquitto(t, ['-c', join(dir, 'mosquitto', 'mosquitto.conf')], port);
  const json = await demo(t, dir, 2, '--broker', `mqtt://127.0.0.1:${port}`, '--broker-admin', join(dir, 'broker-relay', 'broker-admin.json'));
  t.like(json.broker, { url: `mqtt://127.0.0.1:${port}`, kind: 'external', checksLogins: true, relayFingerprint: null });
  await checkReport(t, json, 2);
  // Run again on the same broker: its logins from the first run are replaced, not in the way.
  const again = await demo(t, dir, 2, '--broker', `mqtt://127.0.0.1:${port}`, '--broker-admin', join(dir, 'broker-relay', 'broker-admin.json'));
  t.is(again.strangerFramesDecoded, 0);
  t.true(again.strangerSegmentsReceived >= 1);
  // The demo leaves none of its logins (nor a persistent session) on the user's broker.
  const login = (await readBrokerAdmin(join(dir, 'broker-relay', 'broker-admin.json')))!;
  const admin = await BrokerAdmin.connect(login.url, login);
  const [answer] = await admin.send([{ command: 'listClients' }]);
  await admin.close();
  // Nor retained messages: the broker holds none under sc/v1/.
  const watcher = await connectMqtt(login.url, login);
  const retained: string[] = [];
  watcher.on('message', (topic, payload, packet) => packet.retain && retained.push(`${topic} (${payload.length} bytes)`));
  await watcher.subscribeAsync('sc/v1/#', { qos: 1 });
  await new Promise((r) => setTimeout(r, 500));
  await watcher.endAsync();
  t.deepEqual(retained, []);
  const relayStore = JSON.parse(await readFile(join(dir, 'broker-relay', 'store-credentials.json'), 'utf8')) as { username: string };
  t.deepEqual((answer!.data as { clients: string[] }).clients.sort(), [login.username, relayStore.username].sort());
});

test.serial('demo --broker: through a bare `mosquitto -p PORT` that accepts any login, with a warning', async (t) => {
  if (!requireTool(t, 'mosquitto (Debian mosquitto)', mosquittoBin !== null)) return;
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-demo-open-'));
  const port = await freePort();
  await userMosquitto(t, ['-p', String(port)], port);
  const r = await sealcam('demo', '--seconds', '2', '--out', join(dir, 'out'), '--report', join(dir, 'r.json'), '--broker', `mqtt://127.0.0.1:${port}`);
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  t.regex(r.stderr, /WARNING: .* accepts any login/);
  const json = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8')) as DemoReport;
  t.like(json, { strangerFramesDecoded: 0, broker: { kind: 'external', checksLogins: false } });
  t.true(json.strangerSegmentsReceived >= 1);
  t.is(json.framesDecodedByOwner, json.framesEncoded, JSON.stringify(json));
});

test('demo --broker names the fix when the broker does not know the demo\'s logins', async (t) => {
  if (!requireTool(t, 'mosquitto (Debian mosquitto)', mosquittoBin !== null)) return;
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-demo-closed-'));
  const port = await freePort();
  t.is((await sealcam('relay', 'mosquitto-config', '--plaintext', '--data', join(dir, 'r'), '--out', join(dir, 'mosquitto'), '--port', String(port), '--run-as', userInfo().username)).code, 0);
  await userMosquitto(t, ['-c', join(dir, 'mosquitto', 'mosquitto.conf')], port);
  const r = await sealcam('demo', '--seconds', '1', '--out', join(dir, 'out'), '--broker', `mqtt://127.0.0.1:${port}`);
  t.is(r.code, 2);
  t.regex(r.stderr, /E_BROKER: .*refused the relay's store login.*demo --broker-admin/);
});
