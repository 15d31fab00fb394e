/**
 * The crash at exit (DESIGN.md, "Native crash at exit"): node-webcodecs 1.3.0's worker-thread
 * codecs register an environment cleanup hook that writes into the codec object and is never
 * removed, so a codec garbage-collected before exit leaves the hook writing into freed memory at
 * exit (seen under gdb: ~VideoEncoderAsync ran at a gc, and the addon imports
 * napi_add_env_cleanup_hook but not napi_remove_env_cleanup_hook). src/media/webcodecs.ts keeps
 * every native codec for the life of the process; with the addon's classes as they are, the same
 * codecs are collected.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VideoDecoder, VideoEncoder, keptNativeCodecs } from '../../src/media/webcodecs.js';
import { collectedAfterClose } from './codec-gc.js';

test('closed codecs stay allocated until the process ends, so the addon never writes into a freed one at exit', async (t) => {
  const before = keptNativeCodecs();
  t.is(await collectedAfterClose(VideoEncoder, VideoDecoder, 3), 0, 'none of the 6 native codecs was collected');
  t.is(keptNativeCodecs() - before, 6, 'all 6 are kept');
  // The control, in a process of its own (its exit is the hazard): the addon's own classes are collected.
  // Its exit status is not looked at: that process may well crash on the way out.
  const out = spawnSync(process.execPath, ['--import=tsx', fileURLToPath(new URL('codec-gc.ts', import.meta.url))], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 }).stdout;
  const addon = Number(/collected (\d+)/.exec(out)?.[1] ?? -1);
  t.true(addon > 0, `with the addon's classes, ${addon} of 6 native codecs were collected after close (the child printed: ${out.trim()})`);
});
