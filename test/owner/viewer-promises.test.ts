/**
 * Issue 11's findings, each as the attack or the user's move that broke a promise, through the
 * embedded relay and the real `sealcam view` CLI:
 *   late join (1), a household viewer added mid-run plays the run (2), live replay (3), freshness
 *   (4), a withheld roster (5: the camera waits for the retained roster; the owner is alarmed),
 *   truncation after a clean end (6), keys before chunks (7).
 * The relay as attacker is the embedded broker itself (aedes publishes what it likes) or an HTTP
 * proxy in front of the history API.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { rm, writeFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { SEGMENT_MAGIC, Viewer, accountWildcard, decodeLiveChunk, equalBytes, parseEnvelope } from '../../src/protocol/index.js';
import { connectMqtt } from '../../src/media/mqtt.js';
import { runAgent, type AgentOptions } from '../../src/device/agent.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { loadBoard } from '../../src/device/board.js';
import { OwnerHome } from '../../src/owner/home.js';
import { addViewer, revokeViewer } from '../../src/owner/household.js';
import { fetchHistory } from '../../src/owner/history.js';
import type { LiveSummary } from '../../src/owner/live-watch.js';
import { pairedOverRelay, type PairedOverRelay as Setup } from '../helpers/device.js';
import { SEALCAM_BIN, sealcam } from '../helpers/cli.js';
import { ffprobe } from '../helpers/media.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

const SMALL = { width: 640, height: 360, bitrate: 600_000, segmentSeconds: 1 };

/** Stream `seconds` of small real-time video through the relay; returns when the spool is empty. */
async function stream(s: Setup, seconds: number, extra: Partial<AgentOptions> = {}) {
  const up = new MqttUploader({ ...(await s.camera.relay())!, cameraId: s.camera.identity.idHex, spool: await Spool.open(join(s.camera.dir, 'spool'), 64 << 20) });
  await up.start();
  try {
    const result = await runAgent({ board: await loadBoard('sim'), home: s.camera, sink: up, seconds, realtime: true, video: SMALL, ...extra });
    await up.flush(30_000);
    return result;
  } finally {
    await up.close();
  }
}

/** Every message on the account, in arrival order. */
async function record(s: Setup): Promise<{ client: MqttClient; messages: { topic: string; payload: Uint8Array }[] }> {
  const client = await connectMqtt(s.relay.mqttUrl, s.login);
  const messages: { topic: string; payload: Uint8Array }[] = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload: new Uint8Array(payload) }));
  await client.subscribeAsync(accountWildcard('home'), { qos: 1 });
  return { client, messages };
}

function liveJson(t: ExecutionContext, r: { code: number; stdout: string; stderr: string }): LiveSummary {
  try {
    return JSON.parse(r.stdout) as LiveSummary;
  } catch {
    t.fail(`view --live --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    throw new Error('unreachable');
  }
}

test('a viewer added mid-run plays the run from the history, and the camera announces each epoch before its first live chunk', async (t) => {
  const s = await pairedOverRelay('promise-household', 'porch');
  try {
    const phone = await OwnerHome.init(join(s.dir, 'phone'));
    const rec = await record(s);
    let added = false;
    await stream(s, 4, {
      onProgress: (p) => {
        if (!added && p.segmentsSealed >= 2) {
          added = true;
          void addViewer(s.owner, 'porch', phone.identity.public);
        }
      },
    });
    await rec.client.endAsync();
    t.true(added);

    // Finding 7: no live message of an epoch reaches a viewer before that epoch's announcement.
    const announced = new Set<number>();
    const early: string[] = [];
    for (const m of rec.messages) {
      if (m.topic.endsWith('/keys') && m.payload.length >= 28) announced.add(new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(24));
      if (!m.topic.endsWith('/live')) continue;
      const epoch = equalBytes(m.payload.subarray(0, 4), SEGMENT_MAGIC) ? parseEnvelope(m.payload, m.payload.length === 144).header.epoch : decodeLiveChunk(m.payload).header.epoch;
      if (!announced.has(epoch)) early.push(`epoch ${epoch}`);
    }
    t.deepEqual(early, [], `${early.length} live messages arrived before their epoch's announcement`);
    t.true(announced.size >= 2, `epochs announced: ${[...announced].join(',')}`);

    // Finding 2: the phone builds a playable file of the current run from the history.
    const phoneViewer = new Viewer(phone.identity);
    phoneViewer.pin((await s.owner.camera('porch')).camera);
    const h = await fetchHistory({ httpUrl: s.relay.httpUrl, ...s.login }, phoneViewer, s.camera.identity.idHex);
    t.true(h.mp4.length > 0, `the phone opened ${h.opened.length} segments: ${JSON.stringify(h.opened.map((o) => [o.seq, o.kind, o.epoch]))}`);
    t.deepEqual([...h.mp4.subarray(4, 8)], [...Buffer.from('ftyp')], 'the file starts with its init segment');
    // Decoded by ffprobe in its own process: a node-webcodecs decoder in this worker has crashed it
    // at exit (free(): invalid pointer, after every test had passed; DESIGN.md field notes).
    const file = join(s.dir, 'phone.mp4');
    await writeFile(file, h.mp4);
    if (requireTool(t, 'ffprobe (Debian ffmpeg)', toolWorks('ffprobe', ['-version']))) {
      const probe = ffprobe(file);
      t.like(probe, { codec: 'h264', width: 640, height: 360 });
      t.true(probe.frames > 0, `${probe.frames} frames decoded`);
    }
  } finally {
    await s.relay.close();
  }
});

test('a camera seals a new run for the roster the relay retains, not the older one on its disk, and says which', async (t) => {
  const s = await pairedOverRelay('promise-roster-wait', 'porch');
  try {
    const phone = await OwnerHome.init(join(s.dir, 'phone'));
    // While the camera is off: the owner adds the phone, then revokes it (retained roster v3).
    await addViewer(s.owner, 'porch', phone.identity.public);
    await revokeViewer(s.owner, 'porch', phone.identity.idHex);
    const rec = await record(s);
    let sync: { rosterVersion: number; fromRelay: boolean } | null = null;
    await stream(s, 1, { onRosterSync: (r) => (sync = r) });
    await rec.client.endAsync();
    const versions = rec.messages.filter((m) => m.topic.endsWith('/keys') && m.payload.length >= 32).map((m) => new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(28));
    t.deepEqual(versions, [3], 'the run was only ever announced for roster 3: the revoked phone never held a key of it');
    t.like(sync, { rosterVersion: 3, fromRelay: true });
  } finally {
    await s.relay.close();
  }
});

test('sealcam view: late join plays, a replayed or old stream is refused, a hidden tail and a lagging roster are reported', async (t) => {
  const s = await pairedOverRelay('promise-cli', 'porch');
  const home = join(s.dir, 'owner');
  try {
    // Run 1, then run 2: the viewer joins run 2 two seconds in.
    await stream(s, 2);
    // The camera runs until the viewer is done, however slowly the viewer starts on a loaded machine.
    const rec = await record(s);
    const stop = new AbortController();
    const run2 = stream(s, 300, { signal: stop.signal });
    await new Promise((r) => setTimeout(r, 1_500));
    const joined = await sealcam('view', '--home', home, '--camera', 'porch', '--live', '--seconds', '5', '--json');
    stop.abort();
    await run2;
    await rec.client.endAsync();
    const live = liveJson(t, joined);
    t.true(live.framesDecoded > 0, `late join: ${live.framesDecoded} frames decoded; ${JSON.stringify(live)}`);
    t.true(live.chunksConfirmed > 0, `${live.chunksConfirmed} chunks confirmed`);
    t.deepEqual(live.rejected, {}, joined.stderr);
    t.not(live.msToFirstFrame, null);
    t.not(live.cameraLastSeen, null);
    t.log(`late join: first frame ${live.msToFirstFrame} ms after the viewer started (goal: one 1 s segment + 1 s); ${live.skippedBeforeJoin} chunks skipped while joining`);

    // Finding 3: the relay replays what this viewer already watched into it, restarted (its
    // stream state persisted in the owner home): nothing plays.
    const watchedUpTo = (await s.owner.streamState(s.camera.identity.idHex))?.highestSeq ?? -1;
    const liveMessages = rec.messages.filter((m) => m.topic.endsWith('/live'));
    const seen = liveMessages.filter((m) => seqOf(m.payload) <= watchedUpTo && !isInit(m.payload));
    t.true(seen.length > 10, `${seen.length} recorded live messages up to seq ${watchedUpTo}`);
    const replay = await replayInto(t, s, seen, 'view', '--home', home, '--camera', 'porch', '--live', '--seconds', '3', '--json');
    t.is(replay.framesDecoded, 0, `${replay.framesDecoded} frames decoded from a replay`);
    t.is(replay.chunksAccepted, 0);
    // Every replayed chunk and seal is refused: E_REPLAY for what it committed, E_REORDERED for
    // older segments it never played (before it joined), E_STALE_LIVE for what is older than 8 s.
    const codes = replay.rejected;
    t.is(Object.values(codes).reduce((a, b) => a + b, 0), seen.length, `${seen.length} replayed: ${JSON.stringify(codes)}`);
    t.true((codes.E_REPLAY ?? 0) > 0, JSON.stringify(codes));
    t.deepEqual(Object.keys(codes).filter((c) => !['E_REPLAY', 'E_REORDERED', 'E_STALE_LIVE'].includes(c)), []);

    // Finding 4: a viewer with no state at all; the recording is older than its freshness bound.
    await rm(join(home, 'streams'), { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 1_200));
    const stale = await replayInto(t, s, liveMessages, 'view', '--home', home, '--camera', 'porch', '--live', '--seconds', '3', '--json', '--max-age', '1000');
    t.is(stale.framesDecoded, 0, `${stale.framesDecoded} frames decoded from an old recording`);
    t.is(stale.chunksAccepted, 0);
    t.true((stale.rejected.E_STALE_LIVE ?? 0) > 0, JSON.stringify(stale.rejected));

    // Finding 6: the history view remembers how far the stream went; a proxy that hides run 2 is caught.
    const full = await sealcam('view', '--home', home, '--camera', 'porch', '--out', join(s.dir, 'all.mp4'));
    t.is(full.code, 0, full.stdout + full.stderr);
    t.regex(full.stdout, /captured \d{4}-\d\d-\d\dT/);
    const firstRunEnd = Math.min(...s.relay.store.list('home', s.camera.identity.idHex).filter((x) => x.final).map((x) => x.seq));
    const proxy = await hidingProxy(s.relay.httpUrl, firstRunEnd);
    try {
      await s.owner.setRelay({ httpUrl: proxy.url, ...s.login });
      const hidden = await sealcam('view', '--home', home, '--camera', 'porch', '--out', join(s.dir, 'hidden.mp4'));
      t.is(hidden.code, 3, hidden.stdout + hidden.stderr);
      t.regex(hidden.stdout, new RegExp(`E_TRUNCATED: the history ends at seq ${firstRunEnd}`));
    } finally {
      proxy.server.close();
      await s.owner.setRelay({ httpUrl: s.relay.httpUrl, ...s.login });
    }

    // Finding 5: the owner signed roster 2 but the relay withheld it: the camera still announces roster 1.
    const cam = await s.owner.camera('porch');
    await s.owner.pinCamera({ ...cam, rosterVersion: 2 });
    const lag = await sealcam('view', '--home', home, '--camera', 'porch', '--out', join(s.dir, 'lag.mp4'));
    t.is(lag.code, 3);
    t.regex(lag.stdout, /ALARM E_ROSTER_LAGGING: .*roster version 1, but you signed version 2/);
  } finally {
    await s.relay.close();
  }
});

const seqOf = (m: Uint8Array) => (equalBytes(m.subarray(0, 4), SEGMENT_MAGIC) ? parseEnvelope(m, m.length === 144).header.seq : decodeLiveChunk(m).header.seq);
const isInit = (m: Uint8Array) => equalBytes(m.subarray(0, 4), SEGMENT_MAGIC) && m.length !== 144;

/** Start `sealcam ARGS` (a live view), and once it is subscribed publish `messages` as the relay itself. */
async function replayInto(t: ExecutionContext, s: Setup, messages: { topic: string; payload: Uint8Array }[], ...args: string[]): Promise<LiveSummary> {
  const viewer = spawnSealcam(...args);
  await viewer.stderrMatches(/ {2}live: /); // subscribed: its first progress line
  for (const m of messages) {
    await new Promise<void>((resolve) => s.relay.broker!.aedes.publish({ cmd: 'publish', topic: m.topic, payload: Buffer.from(m.payload), qos: 0, retain: false, dup: false } as never, () => resolve()));
  }
  const r = await viewer.done;
  t.is(r.code, 3, `rejections make the exit status 3\n${r.stderr}`);
  return liveJson(t, r);
}

/** `sealcam ARGS` as a child process whose stderr can be waited on while it runs. */
function spawnSealcam(...args: string[]) {
  const child = spawn(process.execPath, [SEALCAM_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of watchers) w();
  });
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
  return {
    done,
    stderrMatches: (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => re.test(stderr) && resolve();
        watchers.push(check);
        check();
        void done.then(() => reject(new Error(`sealcam ended before its stderr matched ${re}:\n${stderr}`)));
      }),
  };
}

/** An HTTP proxy in front of the history API that hides every segment after `lastSeq`. */
async function hidingProxy(target: string, lastSeq: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${target}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } });
      let body = Buffer.from(await upstream.arrayBuffer());
      if (/\/segments(\?|$)/.test(req.url ?? '') && upstream.ok) {
        // The listing, bare or paged ({items, next}): the proxy ends it at lastSeq.
        type Item = { seq: number };
        const listed = JSON.parse(body.toString()) as Item[] | { items: Item[]; next: number | null };
        const keep = (items: Item[]) => items.filter((x) => x.seq <= lastSeq);
        body = Buffer.from(JSON.stringify(Array.isArray(listed) ? keep(listed) : { items: keep(listed.items), next: keep(listed.items).length < listed.items.length ? null : listed.next }));
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' }).end(body);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
