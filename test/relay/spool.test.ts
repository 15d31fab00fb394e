/**
 * The spool under stress: an outage longer than the spool holds, and power cuts (kill -9 of the
 * agent process) while it writes.
 */
import test from 'ava';
import mqtt from 'mqtt';
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CameraEpochs, SegmentSealer, openRoster, signRoster, systemRandom } from '../../src/protocol/index.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { embeddedRelay, freePort, provisionCamera, tempDir } from '../helpers/relay.js';
import { pairedDevice } from '../helpers/device.js';
import { until } from './uploader-contract.js';

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

test('an outage longer than the spool holds: disk stays within cap + one segment, evictions are counted and reported', async (t) => {
  const dir = await tempDir('spool-cap');
  const dataDir = join(dir, 'relay');
  const port = await freePort();
  let relay = await embeddedRelay(dataDir, { port });
  const login = await relay.accounts.addAccount('home');
  const { home, owner } = await pairedDevice('spool-cap-cam');
  await provisionCamera(relay, login, home);
  await relay.close(); // the outage starts before the camera does

  const cap = 1_000_000;
  const spool = await Spool.open(join(dir, 'spool'), cap);
  const up = new MqttUploader({ ...(await home.relay())!, cameraId: home.identity.idHex, spool, backoff: { baseMs: 100, capMs: 500 } });
  void up.start().catch(() => undefined);
  const roster = openRoster(signRoster(owner, { cameraId: home.identity.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] }), owner.signPublicKey);
  const epochs = new CameraEpochs(home.identity, systemRandom, 0);
  await up.announce(epochs.rotate(roster, Date.now()), 1);
  const sealer = new SegmentSealer(home.identity, epochs, systemRandom, 0);
  let maxDisk = 0;
  let largest = 0;
  for (let i = 0; i < 20; i++) {
    const seq = sealer.nextSeq;
    const env = sealer.seal({ kind: 'media', captureTime: Date.now(), durationMs: 2000, payload: systemRandom(200_000) });
    largest = Math.max(largest, env.length);
    await up.segment(env, { seq, kind: 'media', final: false, bytes: env.length });
    maxDisk = Math.max(maxDisk, await dirBytes(spool.dir));
  }
  t.true(maxDisk <= cap + largest + 4096, `spool used ${maxDisk} bytes with a cap of ${cap}`);
  const { evicted, entries } = spool.status;
  t.is(evicted + entries, 20);
  t.true(evicted >= 15, `${evicted} evicted`);

  // The broker comes back: the survivors arrive, and the status topic reports the evictions.
  relay = await embeddedRelay(dataDir, { port });
  try {
    await up.flush(30_000);
    await until(() => relay.store.list('home', home.identity.idHex).length === entries, 10_000, 'the survivors');
    t.deepEqual(relay.store.list('home', home.identity.idHex).map((s) => s.seq), Array.from({ length: entries }, (_, i) => 20 - entries + i));
    const viewer = mqtt.connect(relay.mqttUrl, { protocolVersion: 4, ...login, reconnectPeriod: 0 });
    const status = await new Promise<{ spool: { evicted: number } }>((resolve) => {
      viewer.on('message', (topic, payload) => topic.endsWith('/status') && resolve(JSON.parse(payload.toString())));
      viewer.once('connect', () => viewer.subscribe(`sc/v1/home/${home.identity.idHex}/status`, { qos: 1 }));
    });
    t.is(status.spool.evicted, evicted);
    await viewer.endAsync();
    await up.close();
  } finally {
    await relay.close();
  }
});

const BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;

test('power cuts: kill -9 of the agent, many times, while it seals and spools; nothing corrupt arrives, at most the in-flight segment is lost each time', async (t) => {
  const dir = await tempDir('power-cut');
  const relay = await embeddedRelay(join(dir, 'relay'));
  try {
    const login = await relay.accounts.addAccount('home');
    const { home, viewer } = await pairedDevice('power-cut-cam');
    await provisionCamera(relay, login, home);
    const run = (seconds: number) =>
      spawn(process.execPath, [BIN, 'device', 'run', '--board', 'sim', '--home', home.dir, '--upload', '--seconds', String(seconds), '--segment-seconds', '0.5', '--upload-timeout', '20'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const kills = 4; // 200 kill -9s run in npm run bench:soak
    for (let k = 0; k < kills; k++) {
      const child = run(60);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // Kill once it is well into sealing and spooling: after a varying number of sealed segments.
      await until(() => (stderr.match(/segments sealed/g) ?? []).length >= 2 + (k % 3), 60_000, `run ${k} to seal segments`);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    const last = run(2);
    const code = await new Promise((r) => last.once('exit', r));
    t.is(code, 0);

    const cam = home.identity.idHex;
    const stored = relay.store.list('home', cam);
    const view = viewer.cameras[0]!;
    for (const a of await relay.store.announcements('home', cam)) view.addAnnouncement(a.bytes);
    let opened = 0;
    for (const s of stored) {
      const env = await relay.store.readSegment('home', cam, s.seq);
      view.openSegment(env!); // throws on anything corrupt or forged
      opened++;
    }
    t.is(opened, stored.length);
    t.true(stored.at(-1)!.final, 'the last run ended cleanly');
    // Seqs only ever go up; every hole is a single segment, and there is at most one per power cut.
    const seqs = stored.map((s) => s.seq);
    const holes = seqs.slice(1).map((s, i) => s - seqs[i]! - 1).filter((gap) => gap > 0);
    t.true(holes.every((gap) => gap === 1), `holes ${holes.join(',')}`);
    t.true(holes.length <= kills, `${holes.length} holes for ${kills} power cuts`);
    t.true(seqs.length >= kills * 3, `${seqs.length} segments stored`);
  } finally {
    await relay.close();
  }
});
