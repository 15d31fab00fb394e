/**
 * A camera over its account's quota (issue 12 row 1): the relay refuses its uploads with E_QUOTA,
 * and its owner sees it where they look, in `sealcam view`, with what to do (exit status 3).
 */
import test from 'ava';
import { join } from 'node:path';
import { pairedOverRelay, streamPaired } from '../helpers/device.js';
import { sealcam } from '../helpers/cli.js';

test('view --out reports E_QUOTA when the relay refuses the camera\'s uploads, with the next step', async (t) => {
  // A quota smaller than one segment: every media segment is refused.
  const p = await pairedOverRelay('quota-status', 'porch', { relay: { retention: { accountQuotaBytes: 20_000 } } });
  try {
    await streamPaired(p, 3); // acknowledged by the broker, then refused by the store
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
