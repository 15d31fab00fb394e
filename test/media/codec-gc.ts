/**
 * How many closed codecs' native objects a full gc collects (webcodecs.test.ts). Run as a script,
 * it measures the addon's own classes in a process of its own, since such a process's exit is the
 * hazard being shown, and prints "collected N".
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { VideoDecoder as AddonDecoder, VideoEncoder as AddonEncoder } from 'node-webcodecs';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Makes, configures and closes `n` encoders and `n` decoders of the given classes; resolves with how many of their native objects a full gc collected. */
export async function collectedAfterClose(Encoder: typeof AddonEncoder, Decoder: typeof AddonDecoder, n: number): Promise<number> {
  let collected = 0;
  const registry = new FinalizationRegistry(() => collected++);
  for (let i = 0; i < n; i++) {
    const codecs = [new Encoder({ output: () => undefined, error: () => undefined }), new Decoder({ output: () => undefined, error: () => undefined })] as const;
    codecs[0].configure({ codec: 'avc1.42C01E', width: 64, height: 64, bitrate: 100_000, framerate: 30, hardwareAcceleration: 'prefer-software' });
    codecs[1].configure({ codec: 'avc1.42C01E' });
    // Closed once their worker threads wait for work: a close right after configure can hang in
    // the addon (its worker can miss the stop signal; seen once in 20 runs of a tight loop).
    await new Promise((r) => setTimeout(r, 50));
    for (const c of codecs) {
      registry.register((c as unknown as { _native: object })._native, 'native codec');
      c.close();
    }
  }
  for (let i = 0; i < 5 && collected < 2 * n; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50)); // finalization callbacks run on a later task
  }
  return collected;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`collected ${await collectedAfterClose(AddonEncoder, AddonDecoder, 3)}\n`);
