/**
 * Video in the page: WebCodecs decodes the decrypted H.264 (fMP4 chunks, src/protocol/cmaf-read.ts)
 * and a canvas draws it. `LivePlayer` takes the events of a LiveSession (PROTOCOL.md §7.5): `init`
 * configures the decoder, `chunk` decodes from the first keyframe on, `confirmed` marks a segment
 * sealed by the camera, so a frame drawn before its seal can be marked. `decodeSegment` decodes one
 * recorded segment (history, playback.ts). Used by the app and by `sealcam view --live --web`.
 */
import type { LiveEvent } from '../protocol/index.js';
import { parseChunk, parseInitSegment } from '../protocol/cmaf-read.js';
import { CaptureClock } from '../protocol/capture-clock.js';

export interface PlayerStats {
  framesDrawn: number;
  /** frames drawn while their segment was not (yet) confirmed by the camera's seal */
  framesDrawnUnconfirmed: number;
  /** ms from the page's start to the first frame drawn */
  msToFirstFrame: number | null;
  /** the seq of the first segment played from its first chunk */
  joinedSeq: number | null;
  /** capture → drawn, the latest 2000 frames */
  latenciesMs: number[];
  /** frames handed to the decoder, and frames skipped while waiting for the first keyframe */
  framesSubmitted: number;
  framesSkippedBeforeKey: number;
  /** capture → handed to the decoder (verified, decrypted), the latest 2000 frames: the part of the latency before decoding */
  receivedLatenciesMs: number[];
}

const VIDEO_CANVAS: CanvasRenderingContext2DSettings = { alpha: false, desynchronized: true };
const LATENCIES_KEPT = 2000;
function keepLatest(xs: number[], x: number): void {
  xs.push(x);
  if (xs.length > LATENCIES_KEPT) xs.shift();
}

export class LivePlayer {
  readonly stats: PlayerStats = { framesDrawn: 0, framesDrawnUnconfirmed: 0, msToFirstFrame: null, joinedSeq: null, latenciesMs: [], framesSubmitted: 0, framesSkippedBeforeKey: 0, receivedLatenciesMs: [] };
  /** the seq of the segment whose frame is on the canvas */
  shownSeq: number | null = null;
  private readonly confirmed = new Set<number>();
  private readonly ctx: CanvasRenderingContext2D;
  private decoder: VideoDecoder | null = null;
  private timescale = 90_000;
  private started = false;
  /** decode timestamp → the segment and capture time of the chunk it came from */
  private readonly pending = new Map<number, { seq: number; captured: number | undefined }>();
  private readonly clock = new CaptureClock();

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly o: { onDraw?: (latencyMs: number | undefined) => void; onBadVideo?: (message: string) => void; now?: () => number } = {},
  ) {
    // A GPU-backed canvas where there is one (no willReadFrequently, which forces a CPU canvas and a
    // software YUV→RGB pass per frame); opaque and desynchronized: drawn with the least latency.
    this.ctx = canvas.getContext('2d', VIDEO_CANVAS)!;
  }

  /** Whether the frame on the canvas belongs to a segment the camera's seal has not confirmed yet. */
  get showingUnconfirmed(): boolean {
    return this.shownSeq !== null && !this.confirmed.has(this.shownSeq);
  }

  take(e: LiveEvent): void {
    if (e.type === 'init' && (e.changed || !this.decoder || this.decoder.state === 'closed')) this.configure(e.payload);
    else if (e.type === 'chunk') {
      this.stats.joinedSeq ??= e.chunk.seq;
      this.decode(e.chunk.payload, e.chunk.seq, e.chunk.captureTime, e.chunk.chunkIndex);
    } else if (e.type === 'confirmed') {
      this.confirmed.add(e.seq);
      if (this.confirmed.size > 256) this.confirmed.delete(this.confirmed.values().next().value!);
    }
  }

  close(): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
  }

  private configure(initSegment: Uint8Array): void {
    this.close();
    const init = parseInitSegment(initSegment);
    this.timescale = init.timescale;
    this.started = false;
    this.pending.clear();
    this.decoder = new VideoDecoder({ output: (f) => this.draw(f), error: (e) => this.o.onBadVideo?.(e.message) });
    this.decoder.configure({ codec: init.codec, description: init.description, optimizeForLatency: true });
  }

  private decode(payload: Uint8Array, seq: number, captureTime: number, chunkIndex: number): void {
    const decoder = this.decoder;
    if (!decoder || decoder.state !== 'configured' || payload.length === 0) return;
    let samples;
    try {
      samples = parseChunk(payload, this.timescale);
    } catch (e) {
      this.o.onBadVideo?.(e instanceof Error ? e.message : String(e));
      return;
    }
    for (const s of samples) {
      if (!this.started && !s.key) {
        this.stats.framesSkippedBeforeKey++; // a decoder starts at a key frame
        continue;
      }
      this.started = true;
      this.stats.framesSubmitted++;
      const captured = this.clock.at(seq, chunkIndex, captureTime, s.timestampUs);
      if (captured !== undefined) keepLatest(this.stats.receivedLatenciesMs, (this.o.now ?? Date.now)() - captured);
      this.pending.set(s.timestampUs, { seq, captured });
      if (this.pending.size > 512) this.pending.delete(this.pending.keys().next().value!);
      decoder.decode(new EncodedVideoChunk({ type: s.key ? 'key' : 'delta', timestamp: s.timestampUs, duration: s.durationUs, data: s.data }));
    }
  }

  private draw(frame: VideoFrame): void {
    if (this.canvas.width !== frame.displayWidth) {
      this.canvas.width = frame.displayWidth;
      this.canvas.height = frame.displayHeight;
    }
    this.ctx.drawImage(frame, 0, 0);
    this.stats.framesDrawn++;
    this.stats.msToFirstFrame ??= Math.round(performance.now());
    const from = this.pending.get(frame.timestamp);
    this.pending.delete(frame.timestamp);
    let latency: number | undefined;
    if (from) {
      this.shownSeq = from.seq;
      if (!this.confirmed.has(from.seq)) this.stats.framesDrawnUnconfirmed++;
      if (from.captured !== undefined) {
        latency = (this.o.now ?? Date.now)() - from.captured;
        keepLatest(this.stats.latenciesMs, latency);
      }
    }
    frame.close();
    this.o.onDraw?.(latency);
  }
}

/** The chunks (moof + mdat) of a media segment, in order (layout in src/media/cmaf.ts). */
export function splitChunks(media: Uint8Array): Uint8Array[] {
  const view = new DataView(media.buffer, media.byteOffset, media.byteLength);
  const chunks: Uint8Array[] = [];
  let start = -1;
  for (let off = 0; off + 8 <= media.length; ) {
    const size = view.getUint32(off);
    const type = String.fromCharCode(media[off + 4]!, media[off + 5]!, media[off + 6]!, media[off + 7]!);
    if (size < 8 || off + size > media.length) break;
    if (type === 'moof') start = off;
    if (type === 'mdat' && start >= 0) {
      chunks.push(media.subarray(start, off + size));
      start = -1;
    }
    off += size;
  }
  return chunks;
}

/** Decode one recorded segment (init + media of its run) into its frames, from its first keyframe; the caller closes them. */
export async function decodeSegment(init: Uint8Array, media: Uint8Array): Promise<VideoFrame[]> {
  const info = parseInitSegment(init);
  const frames: VideoFrame[] = [];
  let failed: string | null = null;
  const decoder = new VideoDecoder({ output: (f) => frames.push(f), error: (e) => (failed = e.message) });
  decoder.configure({ codec: info.codec, description: info.description });
  let started = false;
  for (const chunk of splitChunks(media)) {
    for (const s of parseChunk(chunk, info.timescale)) {
      if (!started && !s.key) continue;
      started = true;
      decoder.decode(new EncodedVideoChunk({ type: s.key ? 'key' : 'delta', timestamp: s.timestampUs, duration: s.durationUs, data: s.data }));
    }
  }
  await decoder.flush().catch(() => undefined);
  if (decoder.state !== 'closed') decoder.close();
  if (failed) {
    for (const f of frames) f.close();
    throw new Error(failed);
  }
  return frames;
}
