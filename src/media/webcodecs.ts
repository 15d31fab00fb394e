/**
 * node-webcodecs' VideoEncoder and VideoDecoder, kept from a crash at exit.
 *
 * The addon's worker-thread codecs (VideoEncoderAsync, VideoDecoderAsync, native/async_*.cpp in
 * node-webcodecs 1.3.0) register an environment cleanup hook that writes to a flag inside the
 * codec object, and never remove it. A codec that is closed and garbage-collected before the
 * process ends is freed, and at exit the hook still writes into the freed memory: a heap
 * use-after-free, seen as an occasional "Segmentation fault" after a run that had printed its
 * results (DESIGN.md, "Native crash at exit"). The more codecs a run makes and the more it
 * allocates afterwards, the likelier.
 *
 * So every native codec object made here is kept for the life of the process: its cleanup hook
 * then runs while it exists, and its destructor runs after, as the addon expects. A closed codec
 * holds no FFmpeg context and no frames (close() frees them), only its small wrapper; the
 * processes make one encoder per capture run and one decoder per live init segment or history clip.
 */
import { VideoDecoder as AddonVideoDecoder, VideoEncoder as AddonVideoEncoder } from 'node-webcodecs';

export { EncodedVideoChunk, VideoFrame } from 'node-webcodecs';

const kept = new Set<object>();

/** The addon's codec object behind `codec` (made by configure()), if any. */
function keep(codec: object): void {
  const native = (codec as { _native?: unknown })._native;
  if (typeof native === 'object' && native !== null) kept.add(native);
}

/** How many native codec objects this process keeps (tests). */
export function keptNativeCodecs(): number {
  return kept.size;
}

export class VideoEncoder extends AddonVideoEncoder {
  override configure(config: Parameters<AddonVideoEncoder['configure']>[0]): void {
    try {
      super.configure(config);
    } finally {
      keep(this);
    }
  }
}

export class VideoDecoder extends AddonVideoDecoder {
  override configure(config: Parameters<AddonVideoDecoder['configure']>[0]): void {
    try {
      super.configure(config);
    } finally {
      keep(this);
    }
  }
}

/**
 * Flush, then wait (at most `timeoutMs`) until `done()` says every frame submitted has come out:
 * under CPU load node-webcodecs 1.3.0 resolves `flush()` before the last output callbacks have run
 * (its flush and its outputs reach JavaScript through separate queues). Seen on the decoder (27 of
 * 29 frames once in 45 decodes beside two busy loops) and on the encoder (a demo under load
 * counted 53 frames encoded, and its segments held 52: the last chunk came after the segmenter
 * had finished).
 */
export async function flushAll(codec: { flush(): Promise<void> }, done: () => boolean, timeoutMs = 5000): Promise<void> {
  await codec.flush();
  for (const until = Date.now() + timeoutMs; !done() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
}
