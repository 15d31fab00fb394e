/**
 * The short form of bench:soak (issue 14): a real agent streaming through the embedded relay, one
 * relay restart, two kill -9s, then SIGTERM. Accounting only, never speed: every seq the camera
 * used is stored, or evicted and counted, or was in flight at a kill; every stored segment opens.
 */
import test from 'ava';
import { runSoak } from '../../bench/soak.js';

test('soak, short: one relay restart and two kill -9s lose nothing unaccounted; every stored segment opens; SIGTERM exits 0 with FINAL', async (t) => {
  const r = await runSoak({ seconds: 10, restarts: 1, kills: 2, cutSeconds: 0, spoolBytes: 64 * 1024 * 1024, width: 640, height: 360, log: (m) => t.log(m) });
  t.log(JSON.stringify(r));
  t.true(r.seqsUsed > 0);
  t.is(r.unaccounted, 0, `seqs used ${r.seqsUsed}, stored ${r.stored}, missing ${r.missing}, evicted ${r.evicted}, in flight ${r.lostInFlight} (bound ${r.inFlightAtKillsBound})`);
  t.is(r.evicted, 0, 'a 64 MiB spool evicts nothing here');
  t.is(r.rejected, 0);
  t.is(r.segmentsOpened, r.segmentsListed, `opened ${r.segmentsOpened} of ${r.segmentsListed}`);
  t.is(r.finalExit, 0);
  t.true(r.finalStored, 'the last stored segment carries FINAL');
});
