/**
 * node-webcodecs 1.3.0: under CPU load `VideoDecoder.flush()` can resolve before the last output
 * callbacks have run (seen: 27 of 29 frames once in 45 decodes with two busy loops beside it).
 * H.264 Baseline puts out one frame per packet, so after the flush wait, briefly, until `done()`
 * says every frame submitted has come out.
 */
import type { VideoDecoder } from 'node-webcodecs';

export async function flushAll(decoder: VideoDecoder, done: () => boolean, timeoutMs = 5000): Promise<void> {
  await decoder.flush();
  for (const until = Date.now() + timeoutMs; !done() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
}
