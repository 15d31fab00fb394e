/**
 * A camera over its account's quota (issue 12 row 1): the relay refuses its uploads with E_QUOTA,
 * and its owner sees it where they look, in `sealcam view`, with what to do (exit status 3).
 */
import test from 'ava';
import { join } from 'node:path';
import { loadBoard } from '../../src/device/board.js';
import { runAgent } from '../../src/device/agent.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { Spool } from '../../src/device/spool.js';
import { pairedOverRelay } from '../helpers/device.js';
import { sealcam } from '../helpers/cli.js';

test('view --out reports E_QUOTA when the relay refuses the camera\'s uploads, with the next step', async (t) => {
  // A quota smaller than one segment: every media segment is refused.
  const p = await pairedOverRelay('quota-status', 'porch', { relay: { retention: { accountQuotaBytes: 20_000 } } });
  try {
    const login = (await p.camera.relay())!;
    const up = new MqttUploader({ ...login, cameraId: p.camera.identity.idHex, spool: await Spool.open(join(p.dir, 'spool'), 64 << 20) });
    await up.start();
    await runAgent({ board: await loadBoard('sim'), home: p.camera, sink: up, seconds: 3, video: { width: 640, height: 360, bitrate: 600_000, segmentSeconds: 1 } });
    await up.flush(20_000); // acknowledged by the broker, then refused by the store
    await up.close();
    const r = await sealcam('view', '--home', p.owner.dir, '--camera', 'porch', '--out', join(p.dir, 'out.mp4'));
    t.is(r.code, 3, r.stderr);
    t.regex(r.stdout, /relay: E_QUOTA: the relay is refusing this camera's uploads because the account is over its quota \(\d+ envelopes refused/);
    t.regex(r.stdout, /--account-quota/);
    const json = JSON.parse((await sealcam('view', '--home', p.owner.dir, '--camera', 'porch', '--out', join(p.dir, 'out2.mp4'), '--json')).stdout) as { relayStatus: { status: string; refused: number } };
    t.is(json.relayStatus.status, 'E_QUOTA');
    t.true(json.relayStatus.refused >= 1, `refused: ${json.relayStatus.refused}`);
  } finally {
    await p.relay.close();
  }
});
