/**
 * The camera's pipeline: capture → encode (or pass H.264 through) → segment → seal → sink.
 * On the live path each media segment is framed as: the run's init envelope, its chunks, its seal.
 * Every stage runs in order on one async queue, so segments leave in seq order and memory is
 * bounded: the encoder holds at most `maxQueue` frames, the segmenter at most one chunk.
 */
import { SEAL_BYTES, encodeEvent, type SegmentSealer, type SegmentWriter } from '../protocol/index.js';
import type { MotionDetector, MotionEvent } from '../media/motion.js';
import { thumbnailPng } from '../media/thumbnail.js';
import { H264Encoder, type EncoderStats } from '../media/encoder.js';
import { Segmenter, type SegmenterStats } from '../media/segmenter.js';
import type { CaptureSource, EncodedAccessUnit } from '../media/source.js';
import type { EnvelopeSink } from './sink.js';

export interface PipelineOptions {
  source: CaptureSource;
  sealer: SegmentSealer;
  sink: EnvelopeSink;
  bitrate: number;
  segmentSeconds: number;
  chunkFrames: number;
  hardwareAcceleration?: 'prefer-software' | 'no-preference' | 'prefer-hardware';
  /** drop frames when the encoder is behind (a live camera); otherwise wait (a file) */
  dropWhenBehind: boolean;
  /** stop after this many captured units (default: when the source ends) */
  maxFrames?: number;
  /** stop when aborted: the current segment is closed with FINAL, as at the end of the source */
  signal?: AbortSignal;
  /** called before each segment (init, media and event) is sealed: the agent persists the seq it will use */
  beforeSegment?: () => Promise<void>;
  /**
   * motion detection on the captured frames (before encoding): each event is sealed as a kind-3
   * segment (PROTOCOL.md §16) between media segments, once the segment holding its end has begun
   */
  motion?: MotionDetector;
  onProgress?: (p: PipelineProgress) => void;
}

export interface PipelineProgress {
  framesCaptured: number;
  encoder: EncoderStats | null;
  segmenter: SegmenterStats;
  segmentsSealed: number;
  bytesSealed: number;
  /** motion events sealed */
  eventsSealed: number;
}

export interface PipelineResult extends PipelineProgress {
  codec: string | null;
  liveChunks: number;
}

/** A strictly ordered async queue with one worker: the back end of the pipeline. */
class OrderedQueue {
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private depth = 0;
  push(task: () => Promise<void>): void {
    this.depth++;
    this.tail = this.tail.then(async () => {
      try {
        if (this.failure === null) await task();
      } catch (e) {
        this.failure ??= e;
      } finally {
        this.depth--;
      }
    });
  }
  get pending(): number {
    return this.depth;
  }
  async drain(): Promise<void> {
    await this.tail;
    if (this.failure !== null) throw this.failure;
  }
  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const { info } = o.source;
  const queue = new OrderedQueue();
  let writer: SegmentWriter | null = null;
  let liveChunks = 0;
  const progress: PipelineProgress = { framesCaptured: 0, encoder: null, segmenter: null!, segmentsSealed: 0, bytesSealed: 0, eventsSealed: 0 };

  const sealAndSend = async (envelope: Uint8Array, kind: 'init' | 'media' | 'event', seq: number, final: boolean) => {
    progress.segmentsSealed++;
    progress.bytesSealed += envelope.length;
    await o.sink.segment(envelope, { seq, kind, final, bytes: envelope.length });
  };

  // The run's init segment, sealed under the epoch of the media that follow it (§7.5): after an
  // epoch rotation it is sealed again, so every viewer on the current roster can build a
  // playable file from the history, and a late live viewer gets it before each segment.
  let init: { payload: Uint8Array; envelope: Uint8Array; epoch: number } | null = null;
  // The agent persists each seq before it is used (beforeSegment), exactly once per seq.
  let reserved: number | null = null;
  const reserve = async () => {
    if (reserved === o.sealer.nextSeq) return;
    await o.beforeSegment?.();
    reserved = o.sealer.nextSeq;
  };
  const sealInit = async (payload: Uint8Array) => {
    await reserve();
    const seq = o.sealer.nextSeq;
    const epoch = o.sealer.epoch;
    const envelope = o.sealer.seal({ kind: 'init', captureTime: Date.now(), durationMs: 0, payload });
    init = { payload, envelope, epoch };
    await sealAndSend(envelope, 'init', seq, false);
  };

  // Motion events wait until the media segment holding their end has begun, so their seq range
  // (§16) is known; they are sealed between media segments, in seq order with them.
  const mediaStarts: { seq: number; start: number }[] = [];
  const pendingEvents: MotionEvent[] = [];
  const seqAt = (t: number) => {
    let seq = mediaStarts[0]!.seq;
    for (const m of mediaStarts) if (m.start <= t) seq = m.seq;
    return seq;
  };
  const sealEvent = async (e: MotionEvent, final: boolean) => {
    const startTime = Math.round(e.startTime);
    const endTime = Math.max(startTime, Math.round(e.endTime));
    const payload = encodeEvent({ startTime, endTime, peakPermille: e.peakPermille, firstSeq: seqAt(startTime), lastSeq: seqAt(endTime), thumbnail: { type: 'png', bytes: await thumbnailPng(e.peakFrame, info.width, info.height) } });
    await reserve();
    const seq = o.sealer.nextSeq;
    const envelope = o.sealer.seal({ kind: 'event', captureTime: startTime, durationMs: endTime - startTime, payload, final });
    progress.eventsSealed++;
    await sealAndSend(envelope, 'event', seq, final);
  };
  /** Seal the events that ended before `before` (all of them when null); the last one carries `finalLast`. */
  const sealEnded = async (before: number | null, finalLast = false) => {
    if (mediaStarts.length === 0) return;
    const ready = pendingEvents.filter((e) => before === null || e.endTime < before);
    pendingEvents.splice(0, ready.length);
    for (const [i, e] of ready.entries()) await sealEvent(e, finalLast && i === ready.length - 1);
  };

  const segmenter = new Segmenter(
    { width: info.width, height: info.height, fps: info.fps, segmentDurationUs: Math.round(o.segmentSeconds * 1e6), chunkFrames: o.chunkFrames },
    {
      init: (i) => sealInit(i.bytes),
      segmentStart: async (s) => {
        await sealEnded(s.captureTimeMs);
        // A rotation may land during any await: check the epoch last, then begin without awaiting.
        for (;;) {
          await reserve();
          if (!init || init.epoch === o.sealer.epoch) break;
          await sealInit(init.payload);
        }
        if (init) o.sink.live(init.envelope);
        writer = o.sealer.begin({ kind: 'media', captureTime: Math.round(s.captureTimeMs) });
        mediaStarts.push({ seq: writer.seq, start: s.captureTimeMs });
        if (mediaStarts.length > 1024) mediaStarts.shift();
      },
      chunk: (bytes, last) => {
        liveChunks++;
        o.sink.live(writer!.addChunk(bytes, { last }));
      },
      segmentEnd: async (e) => {
        const w = writer!;
        writer = null;
        // At the end of the stream an event still open ends here; it follows the last media
        // segment and carries FINAL itself, since FINAL marks the stream's last envelope (§8.4).
        if (e.final && o.motion) {
          const last = o.motion.flush();
          if (last) pendingEvents.push(last);
        }
        const eventsFollow = e.final && pendingEvents.length > 0;
        const envelope = w.finish({ durationMs: e.durationMs, final: e.final && !eventsFollow });
        o.sink.live(envelope.subarray(0, SEAL_BYTES)); // the seal confirms the live chunks (§7.4)
        await sealAndSend(envelope, 'media', w.seq, e.final && !eventsFollow);
        if (eventsFollow) await sealEnded(null, true);
        o.onProgress?.(progress);
      },
    },
  );
  progress.segmenter = segmenter.stats;
  const toSegmenter = (unit: EncodedAccessUnit) => queue.push(() => segmenter.push(unit));

  let encoder: H264Encoder | null = null;
  if (info.output === 'raw') {
    encoder = new H264Encoder(
      { width: info.width, height: info.height, fps: info.fps, bitrate: o.bitrate, keyframeIntervalUs: Math.round(o.segmentSeconds * 1e6), hardwareAcceleration: o.hardwareAcceleration ?? 'prefer-software' },
      toSegmenter,
    );
    progress.encoder = encoder.stats;
  }
  try {
    for await (const unit of o.source.units()) {
      if (o.maxFrames !== undefined && progress.framesCaptured >= o.maxFrames) break;
      if (o.signal?.aborted) break;
      progress.framesCaptured++;
      queue.throwIfFailed();
      if (o.motion && unit.type === 'raw') {
        const ended = o.motion.push(unit);
        if (ended) pendingEvents.push(ended);
      }
      if (unit.type === 'h264') {
        toSegmenter(unit);
        // Passthrough: the pipe's own backpressure holds the capture process when we fall behind.
        while (queue.pending > 8) await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      if (!o.dropWhenBehind) await encoder!.waitForRoom();
      encoder!.encode(unit);
      // Keep the back end from lagging behind without bound when sealing or the sink is slow.
      while (queue.pending > 8) await new Promise((r) => setTimeout(r, 5));
    }
    await encoder?.flush();
    await queue.drain();
    queue.push(() => segmenter.end());
    await queue.drain();
  } finally {
    (writer as SegmentWriter | null)?.abort();
    encoder?.close();
    await o.source.close();
  }
  return { ...progress, codec: encoder?.codecString ?? null, liveChunks };
}
