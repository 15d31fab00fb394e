/**
 * The relay on a real NATS cluster (issue 15): three nats-server nodes, two store workers in their
 * own processes, a camera on node 1 (MqttUploader with every node's URL), the owner's viewer on
 * node 3, a stranger on node 2. Node 1 and then a worker are killed while the camera streams.
 */
import test from 'ava';
import mqtt from 'mqtt';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CameraEpochs, SegmentSealer, Viewer, decodeHeader, openRoster, publicIdentity, signRoster, systemRandom } from '../../src/protocol/index.js';
import { SealcamError } from '../../src/protocol/errors.js';
import { Reassembler } from '../../src/protocol/transport-chunk.js';
import { AccountStore } from '../../src/relay/accounts.js';
import { Spool } from '../../src/device/spool.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { mirrorNatsLogins } from '../../src/relay/nats-logins.js';
import { refreshNatsAuth } from '../../src/relay/nats-relay.js';
import { NATS_STORE_BUCKET, natsPermissions } from '../../src/relay/nats-config.js';
import { redeemCamera, tempDir } from '../helpers/relay.js';
import { pairedDevice } from '../helpers/device.js';
import { requireTool } from '../helpers/tools.js';
import { NATS_SERVER, spawnNatsWorker, startNatsCluster, type TestNatsCluster, type WorkerProcess } from '../helpers/nats.js';
import { until } from './uploader-contract.js';

test('nats permissions are acl.ts rules on mapped subjects', (t) => {
  const cam = natsPermissions({ role: 'camera', account: 'home', cameraId: 'ab' });
  t.deepEqual(cam.publish, ['sc.v1.home.ab.seg', 'sc.v1.home.ab.live', 'sc.v1.home.ab.keys', 'sc.v1.home.ab.status', 'sc.v1.pair.*']);
  t.deepEqual(cam.subscribe, ['sc.v1.home.ab.roster', 'sc.v1.home.ab.ota', 'sc.v1.home.ab.stored', 'sc.v1.pair.*', 'sc.v1.fw', 'sc.v1.fw.>', '$MQTT.sub.>']);
  const viewer = natsPermissions({ role: 'viewer', account: 'home' });
  t.deepEqual(viewer.publish, ['sc.v1.home.*.roster', 'sc.v1.pair.*']);
  t.true(viewer.subscribe.includes('sc.v1.home.>') && !viewer.subscribe.some((s) => s.startsWith('sc.v1.*') || s === '>'));
  // The store publishes storage receipts (§10.5) and nothing else on camera subjects.
  t.deepEqual(natsPermissions({ role: 'store', account: '' }).publish.filter((s) => s.startsWith('sc.')), ['sc.v1.*.*.stored']);
});

test.serial('nats cluster: 0 lost with node 1 and a worker killed mid-stream; history in the object store has all, in order, also with node 3 down; the viewer on node 3 receives all; a stranger gets nothing', async (t) => {
  if (!requireTool(t, 'nats-server', NATS_SERVER !== null)) return;
  const root = await tempDir('nats');
  const dataDir = join(root, 'data');
  const accounts = await AccountStore.open(dataDir);
  mirrorNatsLogins(accounts, dataDir);
  const d = await pairedDevice('nats-cam');
  const owner = await accounts.addAccount('home');
  const stranger = await accounts.addAccount('other');
  const camLogin = await redeemCamera(accounts, 'home', d.home.identity);
  let cluster: TestNatsCluster | null = null;
  const workers: WorkerProcess[] = [];
  const clients: mqtt.MqttClient[] = [];
  let up: MqttUploader | null = null;
  try {
    const { ensureStoreLogin } = await import('../../src/relay/relay.js');
    await ensureStoreLogin(accounts, dataDir); // recorded for NATS by the mirror
    cluster = await startNatsCluster(accounts, dataDir, join(root, 'nats'));
    const { natsUrls, mqttUrls } = cluster.config;
    const ACK_WAIT_MS = 2000;
    // The store is the cluster's object store (replicas 3): no shared filesystem between workers.
    const worker = () => spawnNatsWorker(dataDir, natsUrls, ACK_WAIT_MS, 'jetstream');
    workers.push(await worker(), await worker());

    // The owner's viewer on node 3: reassembles what it receives and opens it.
    const roster = openRoster(signRoster(d.owner, { cameraId: d.home.identity.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [d.owner.public] }), d.owner.signPublicKey);
    const epochs = new CameraEpochs(d.home.identity, systemRandom, 0);
    const announcement = epochs.rotate(roster, Date.now());
    const sealer = new SegmentSealer(d.home.identity, epochs, systemRandom, 0);
    const view = new Viewer(d.owner).pin(publicIdentity(d.home.identity.signPublicKey, d.home.identity.boxPublicKey));
    view.addAnnouncement(announcement);
    const seen: number[] = [];
    const arrived = new Set<number>();
    const viewerErrors: string[] = [];
    const reassembler = new Reassembler();
    const connect = async (url: string, login: { username: string; password: string }, id: string) => {
      const c = mqtt.connect(url, { protocolVersion: 4, username: login.username, password: login.password, clientId: id, reconnectPeriod: 0 });
      clients.push(c);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
      });
      return c;
    };
    const viewer = await connect(mqttUrls[2]!, owner, 'owner-viewer');
    viewer.on('message', (topic, payload) => {
      if (!topic.endsWith('/seg')) return;
      try {
        const env = reassembler.push(new Uint8Array(payload));
        if (!env) return;
        arrived.add(decodeHeader(env).seq);
        seen.push(view.openSegment(env).header.seq);
      } catch (e) {
        // A copy sent again (no receipt in time, or after the failover) is refused as a replay,
        // or as reordered when a later one came first: the viewer shows each once, in order.
        if (!SealcamError.is(e, 'E_REPLAY') && !SealcamError.is(e, 'E_REORDERED')) viewerErrors.push((e as Error).message);
      }
    });
    await viewer.subscribeAsync(`sc/v1/home/${d.home.identity.idHex}/seg`, { qos: 1 });

    // A stranger on node 2 tries everything it can name; only its own account is granted.
    const intruder = await connect(mqttUrls[1]!, stranger, 'stranger');
    const stolen: string[] = [];
    intruder.on('message', (topic) => stolen.push(topic));
    // mqtt.js rejects a SUBACK with any refusal in it; the packet says which were granted.
    const granted = await intruder.subscribeAsync(['sc/v1/home/#', 'sc/v1/+/+/seg', '#', '$MQTT/sub/#', '$MQTT/#', 'sc/v1/other/#'], { qos: 1 }).then(
      (g) => g.map((x) => x.qos),
      (e: { packet?: { granted?: number[] } }) => e.packet?.granted ?? [],
    );
    t.deepEqual(granted, [128, 128, 128, 128, 128, 1]);

    // The camera: every node's URL, node 1 first.
    const spool = await Spool.open(join(root, 'spool'), 64 * 1024 * 1024);
    up = new MqttUploader({ url: mqttUrls.join(','), account: 'home', username: camLogin.username, password: camLogin.password, cameraId: d.home.identity.idHex, spool, maxMessageBytes: 128 * 1024, backoff: { baseMs: 100, capMs: 500 }, receiptTimeoutMs: 2000, log: (m) => t.log(`camera: ${m}`) });
    await up.start();
    await up.announce(announcement, 1);
    // What is stored, as the owner sees it: the history API of a worker (worker 2 is never killed).
    const auth = { authorization: `Basic ${Buffer.from(`${owner.username}:${owner.password}`).toString('base64')}` };
    const history = async (w: WorkerProcess, path: string) => {
      const r = await fetch(`${w.httpUrl}/v1/accounts/home/cameras/${d.home.identity.idHex}${path}`, { headers: auth });
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}; the worker said: ${w.log().split('\n').slice(-5).join(' | ')}`);
      return r;
    };
    const listed = async (w: WorkerProcess) => {
      const page = (await (await history(w, '/segments?limit=1000')).json()) as { items: { seq: number }[] } | { seq: number }[];
      return (Array.isArray(page) ? page : page.items).map((x) => x.seq);
    };
    const storedSeqs = () => listed(workers[1]!).catch(() => [] as number[]);
    const opensAll = async (w: WorkerProcess, seqs: number[]) => {
      const view = new Viewer(d.owner).pin(publicIdentity(d.home.identity.signPublicKey, d.home.identity.boxPublicKey));
      view.addAnnouncement(new Uint8Array(await (await history(w, '/keys/1')).arrayBuffer()));
      const opened: number[] = [];
      for (const seq of seqs) opened.push(view.openSegment(new Uint8Array(await (await history(w, `/segments/${seq}`)).arrayBuffer())).header.seq); // in seq order, as a viewer must
      return opened;
    };
    let sent = 0;
    const send = async (n: number) => {
      for (let i = 0; i < n; i++, sent++) {
        // One envelope in many pieces (8 × 128 KiB), the rest in 2-3.
        const env = sealer.seal({ kind: 'media', captureTime: Date.now(), durationMs: 1000, payload: systemRandom(sent === 2 ? 1_000_000 : 200_000 + sent * 10_000), final: false });
        await up!.segment(env, { seq: sent, kind: 'media', final: false, bytes: env.length });
      }
    };
    const t0 = Date.now();
    const phase = (what: string) => t.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    await send(4);
    await up.flush(15_000);
    await until(async () => (await storedSeqs()).length === 4, 15_000, 'the first 4 segments stored');

    // Node 1 (the camera's) dies while the camera streams. A surviving node may acknowledge pieces
    // while the upload stream elects a new leader and keep none of them (about one run in three
    // lost envelopes before storage receipts); the camera sends again what no receipt confirmed.
    phase('first 4 stored');
    const streaming = send(6);
    const killedAt = Date.now();
    await cluster.kill(0);
    await streaming;
    await up.flush(30_000).catch(async (e: Error) => {
      throw new Error(`${e.message}; stored ${JSON.stringify(await storedSeqs())}; workers said:\n${workers.map((w) => w.log()).join('\n---\n')}`);
    });
    t.log(`node 1 killed: the camera's spool drained ${Date.now() - killedAt} ms after the kill, ${up.stats.resent} sent again so far`);
    t.true(up.stats.connects >= 2, `the camera reconnected to another node (connects ${up.stats.connects})`);

    phase('node 1 killed, drained');
    // A worker dies mid-stream (SIGKILL: its unacknowledged messages are delivered again), then comes back.
    const more = send(6);
    await workers[0]!.kill();
    await more;
    await up.flush(30_000);
    workers[0] = await worker();
    await until(async () => (await storedSeqs()).length >= 16, 20_000, 'all 16 segments stored').catch(async (e: Error) => {
      throw new Error(`${e.message}: stored ${JSON.stringify(await storedSeqs())}, camera spool ${JSON.stringify(spool.pending())}, uploaded ${up!.stats.envelopesUploaded}`);
    });
    phase('all 16 listed');
    await until(() => arrived.size >= 16, 10_000, 'all 16 to reach the viewer');

    const seqs = await storedSeqs();
    t.deepEqual(seqs, Array.from({ length: 16 }, (_, i) => i), 'stored once each, none lost');
    t.deepEqual(await opensAll(workers[1]!, seqs), seqs, 'the owner opens every stored segment from the history API');
    t.deepEqual([...arrived].sort((a, b) => a - b), seqs, 'every segment reached the viewer on node 3');
    t.true(seen.every((x, i) => i === 0 || x > seen[i - 1]!), `what the viewer opened is in order (${seen.join(',')})`);
    t.true(seen.length >= 10, `the viewer opened ${seen.length} of 16 live (the rest came again after a later one)`);
    t.deepEqual(viewerErrors, []);
    t.log(`camera: ${up.stats.resent} envelopes sent again, ${up.stats.duplicatesConfirmed} confirmed as already stored, ${up.stats.connects} connects`);
    t.deepEqual(stolen, [], 'the stranger received nothing');

    phase('history opened');
    // A login made while the cluster runs: auth.conf rewritten, the running nodes reload it.
    const late = await accounts.addAccount('late');
    const reloaded = await refreshNatsAuth(accounts, dataDir, join(root, 'nats'));
    t.is(reloaded, 2, 'nodes 2 and 3, the running ones, were told to reload');
    await until(async () => {
      const c = mqtt.connect(mqttUrls[1]!, { protocolVersion: 4, username: late.username, password: late.password, reconnectPeriod: 0, connectTimeout: 2000 });
      const ok = await new Promise<boolean>((r) => {
        c.once('connect', () => r(true));
        c.once('error', () => r(false));
        c.once('close', () => r(false));
      });
      c.end(true);
      return ok;
    }, 10_000, 'the new login to be accepted after the reload');

    // The store survives a node: node 1 comes back and catches up, then node 3 (a replica of the
    // object store, like every node) dies. A new worker indexes the store from the 2 nodes left,
    // and its history has all 16, each readable and opened by the owner.
    phase('late login');
    await cluster.start(0);
    // Caught up means node 1's own replica holds what the others hold. The leader's stream info
    // calls a follower "current" within a second of its restart, before its copy has the old
    // messages; killing node 3 then could leave node 1 to lead with an incomplete copy.
    const stream = `OBJ_${NATS_STORE_BUCKET}`;
    const running = cluster;
    const copies = async () => Promise.all([0, 1, 2].map((i) => running.localStream(i, stream).catch(() => null)));
    await until(async () => {
      const all = await copies();
      return all.every((c) => c !== null && c.lastSeq === all[1]!.lastSeq && c.messages === all[1]!.messages);
    }, 30_000, 'node 1 to catch up with the object store').catch(async (e: Error) => {
      throw new Error(`${e.message}: the three copies ${JSON.stringify(await copies())}; workers said:\n${workers.map((w) => w.log()).join('\n---\n')}`);
    });
    const copy = (await copies())[1]!;
    t.log(`the object store's copies after node 1 caught up: ${JSON.stringify(await copies())}`);
    // Concurrent and repeated puts of one upload delete nothing (JetStreamBackend.write), and no
    // deletes is what keeps a restarted node's copy whole on nats-server 2.9.
    t.is(copy.messages, copy.lastSeq - copy.firstSeq + 1, `nothing was deleted from the object store: ${JSON.stringify(copy)}`);
    phase('node 1 caught up');
    await cluster.kill(2);
    workers.push(await worker());
    await until(async () => (await listed(workers[2]!).catch(() => [])).length === 16, 20_000, 'a new worker to list all 16 with node 3 down');
    phase('new worker lists 16');
    t.deepEqual(await opensAll(workers[2]!, seqs), seqs, 'with node 3 down, a new worker serves every segment');
  } finally {
    await up?.close().catch(() => undefined);
    for (const c of clients) c.end(true);
    await Promise.all(workers.map((w) => w.kill()));
    await cluster?.stop();
    await rm(root, { recursive: true, force: true });
    await rm(d.dir, { recursive: true, force: true });
  }
});
