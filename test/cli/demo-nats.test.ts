/**
 * `sealcam demo --nats` (issue 15): the seed story through a real 3-node NATS cluster, set up as an
 * operator does (logins recorded for NATS, `relay nats-config`'s files, nodes started from them).
 * The demo's own store worker joins the cluster; its logins reach the nodes by a configuration
 * reload; the owner decodes every frame, the misrouted stranger opens nothing, and what the
 * cluster's store holds is ciphertext only.
 */
import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoReport } from '../../src/cli/demo.js';
import { AccountStore } from '../../src/relay/accounts.js';
import { mirrorNatsLogins } from '../../src/relay/nats-logins.js';
import { ensureStoreLogin } from '../../src/relay/relay.js';
import { sealcam } from '../helpers/cli.js';
import { assertCiphertextOnly, filesUnder } from '../helpers/media.js';
import { NATS_SERVER, startNatsCluster } from '../helpers/nats.js';
import { requireTool } from '../helpers/tools.js';

test.serial('demo --nats: the story through a 3-node NATS cluster, the stranger opens nothing', async (t) => {
  if (!requireTool(t, 'nats-server', NATS_SERVER !== null)) return;
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-demo-nats-'));
  const dataDir = join(dir, 'relay');
  const accounts = await AccountStore.open(dataDir);
  mirrorNatsLogins(accounts, dataDir);
  await ensureStoreLogin(accounts, dataDir);
  const cluster = await startNatsCluster(accounts, dataDir, join(dir, 'nats'));
  try {
    const { natsUrls, mqttUrls } = cluster.config;
    const report = join(dir, 'report.json');
    const seconds = 2;
    const r = await sealcam('demo', '--seconds', String(seconds), '--out', join(dir, 'out'), '--report', report, '--nats', natsUrls.join(','), '--mqtt-urls', mqttUrls.join(','), '--nats-config', join(dir, 'nats'), '--data', dataDir);
    t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const json = JSON.parse(await readFile(report, 'utf8')) as DemoReport;
    t.like(json.broker, { kind: 'nats', url: mqttUrls.join(','), relayFingerprint: null });
    t.like(json, { framesCaptured: 30 * seconds, ownerSegmentsRejected: 0, ownerGaps: 0, strangerFramesDecoded: 0 });
    t.true(json.framesEncoded > 0);
    t.is(json.framesDecodedByOwner, json.framesEncoded, 'the owner decodes every frame encoded');
    t.is(json.pairing.confirmationCodeCamera, json.pairing.confirmationCodeOwner, 'paired through the lens');
    t.true(json.segmentsUploaded >= seconds);
    t.is(json.strangerSegmentsReceived, json.segmentsUploaded, 'every segment was misrouted into the stranger history');
    t.is(json.strangerSegmentsRejected, json.strangerSegmentsReceived);
    t.true(json.strangerLiveChunksReceived > 0);
    t.is(json.strangerLiveChunksRejected, json.strangerLiveChunksReceived);
    t.deepEqual(json.strangerRejectionCodes, ['E_FOREIGN_CAMERA']);
    // The cluster's shared store: the owner's and the stranger's copy of every segment, none of it plaintext.
    const files = await filesUnder(join(dataDir, 'store'));
    t.is(files.filter((f) => /\/seg\/[^/]+$/.test(f)).length, 2 * json.segmentsUploaded, 'stored segment files (owner + stranger)');
    await assertCiphertextOnly(t, files, await readFile(json.ownerMp4));
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
