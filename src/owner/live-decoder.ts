/**
 * Live decoding in the owner's viewer: the CMAF chunk in each verified live chunk is split into
 * its samples and decoded with node-webcodecs as it arrives (latency mode), starting at the first
 * keyframe. `onFrame` gets each decoded frame's timestamp, which the caller maps back to the
 * capture time to measure glass to glass.
 */
import { EncodedVideoChunk, VideoDecoder, type VideoFrame } from 'node-webcodecs';
import { SealcamError } from '../protocol/errors.js';
import { parseChunk, type InitInfo } from '../media/cmaf.js';

export class LiveDecoder {
  private readonly decoder: VideoDecoder;
  private started = false;
  private failure: Error | null = null;
  decoded = 0;
  skippedBeforeKey = 0;

  get timescale(): number {
    return this.init.timescale;
  }

  constructor(
    private readonly init: InitInfo,
    onFrame: (timestampUs: number) => void,
  ) {
    this.decoder = new VideoDecoder({
      output: (frame: VideoFrame) => {
        this.decoded++;
        onFrame(frame.timestamp);
        frame.close();
      },
      error: (e: Error) => {
        this.failure = e;
      },
    });
    this.decoder.configure({ codec: init.codec, description: init.description, optimizeForLatency: true, hardwareAcceleration: 'prefer-software' } as never);
  }

  /** Decode the samples of one verified live chunk (its plaintext payload). */
  push(chunkPayload: Uint8Array): void {
    if (this.failure) throw new SealcamError('E_BITSTREAM', `live decode failed: ${this.failure.message}`);
    for (const s of parseChunk(chunkPayload, this.init.timescale)) {
      if (!this.started && !s.key) {
        this.skippedBeforeKey++;
        continue;
      }
      this.started = true;
      this.decoder.decode(new EncodedVideoChunk({ type: s.key ? 'key' : 'delta', timestamp: s.timestampUs, duration: s.durationUs, data: s.data }));
    }
  }

  async close(): Promise<void> {
    if (this.decoder.state !== 'closed') {
      await this.decoder.flush().catch(() => undefined);
      this.decoder.close();
    }
  }
}
