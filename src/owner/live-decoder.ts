/**
 * Live decoding in the owner's viewer: the CMAF chunk in each verified live chunk is split into
 * its samples and decoded with node-webcodecs as it arrives (latency mode), starting at the first
 * keyframe. `onFrame` gets each decoded frame's timestamp and, when the caller said which segment
 * the chunk is from, the frame's capture time (ms, capture-clock.ts), so glass to glass is measured
 * frame by frame.
 */
import type { VideoFrame } from 'node-webcodecs';
import { EncodedVideoChunk, VideoDecoder, flushAll } from '../media/webcodecs.js';
import { SealcamError } from '../protocol/errors.js';
import { parseChunk, type InitInfo } from '../media/cmaf.js';
import { CaptureClock } from '../protocol/capture-clock.js';

/** Where a live chunk sits: its segment, index and the segment's signed capture time. */
export interface ChunkPlace {
  seq: number;
  chunkIndex: number;
  captureTime: number;
}

export class LiveDecoder {
  private readonly decoder: VideoDecoder;
  private started = false;
  private failure: Error | null = null;
  private readonly captureOf = new Map<number, number>();
  private readonly clock = new CaptureClock();
  decoded = 0;
  submitted = 0;
  skippedBeforeKey = 0;

  constructor(
    private readonly init: InitInfo,
    onFrame: (timestampUs: number, capturedMs: number | undefined) => void,
  ) {
    this.decoder = new VideoDecoder({
      output: (frame: VideoFrame) => {
        this.decoded++;
        const captured = this.captureOf.get(frame.timestamp);
        this.captureOf.delete(frame.timestamp);
        onFrame(frame.timestamp, captured);
        frame.close();
      },
      error: (e: Error) => {
        this.failure = e;
      },
    });
    this.decoder.configure({ codec: init.codec, description: init.description, optimizeForLatency: true, hardwareAcceleration: 'prefer-software' } as never);
  }

  /** Decode the samples of one verified live chunk (its plaintext payload). */
  push(chunkPayload: Uint8Array, place?: ChunkPlace): void {
    if (this.failure) throw new SealcamError('E_BITSTREAM', `live decode failed: ${this.failure.message}`);
    for (const s of parseChunk(chunkPayload, this.init.timescale)) {
      const capturedMs = place ? this.clock.at(place.seq, place.chunkIndex, place.captureTime, s.timestampUs) : undefined;
      if (!this.started && !s.key) {
        this.skippedBeforeKey++;
        continue;
      }
      this.started = true;
      if (capturedMs !== undefined) this.captureOf.set(s.timestampUs, capturedMs);
      this.decoder.decode(new EncodedVideoChunk({ type: s.key ? 'key' : 'delta', timestamp: s.timestampUs, duration: s.durationUs, data: s.data }));
      this.submitted++;
    }
  }

  /** Decode what is queued (every frame pushed comes out), then close. */
  async close(): Promise<void> {
    if (this.decoder.state !== 'closed') {
      await flushAll(this.decoder, () => this.decoded >= this.submitted || this.failure !== null).catch(() => undefined);
      this.decoder.close();
    }
  }
}
