/**
 * Cuts a stream of H.264 access units into one init segment, then GOP-aligned media segments
 * (2 s by default), each made of live chunks of `chunkFrames` frames (1 by default: a chunk per
 * frame, so live view waits for no one). Segment boundaries fall on keyframes: the first
 * keyframe at or after the segment length. Keyframes the encoder inserts on its own earlier than
 * that (openh264 does) do not cut.
 *
 * Events, in order: init once; then per segment: segmentStart, chunk × n (the last one flagged
 * `last`), segmentEnd. A chunk's bytes are a CMAF chunk (moof+mdat); the concatenation of a
 * segment's chunks is the media segment, and init + all media segments is a playable MP4.
 * The chunk that closes a segment is emitted when the next segment's keyframe arrives; if no
 * frames are pending then, it is an empty chunk that only carries the `last` flag.
 */
import { SealcamError } from '../protocol/errors.js';
import { codecStringFromSps, nalType, splitNalUnits } from './annexb.js';
import { ChunkWriter, buildInitSegment, type ChunkSample, type InitSegment } from './cmaf.js';
import type { EncodedAccessUnit } from './source.js';

export interface SegmenterConfig {
  width: number;
  height: number;
  fps: number;
  /** target segment length, microseconds (default 2 s) */
  segmentDurationUs?: number;
  /** frames per live chunk (default 1) */
  chunkFrames?: number;
}

export interface SegmentStartInfo {
  /** wall-clock capture time of the segment's first frame, ms since the Unix epoch */
  captureTimeMs: number;
  startUs: number;
}

export interface SegmentEndInfo {
  durationMs: number;
  frames: number;
  final: boolean;
}

export interface SegmenterEvents {
  init(init: InitSegment): void | Promise<void>;
  segmentStart(info: SegmentStartInfo): void | Promise<void>;
  chunk(bytes: Uint8Array, last: boolean): void | Promise<void>;
  segmentEnd(info: SegmentEndInfo): void | Promise<void>;
}

export interface SegmenterStats {
  segments: number;
  chunks: number;
  frames: number;
  /** access units before the first keyframe, which cannot be decoded and are skipped */
  skippedBeforeFirstKey: number;
}

const EMPTY = new Uint8Array(0);

export class Segmenter {
  readonly stats: SegmenterStats = { segments: 0, chunks: 0, frames: 0, skippedBeforeFirstKey: 0 };
  private writer: ChunkWriter | null = null;
  private pending: ChunkSample[] = [];
  private segment: { startUs: number; lastUs: number; frames: number } | null = null;
  private readonly segmentDurationUs: number;
  private readonly chunkFrames: number;
  private readonly frameUs: number;
  private ended = false;

  constructor(
    private readonly config: SegmenterConfig,
    private readonly events: SegmenterEvents,
  ) {
    this.segmentDurationUs = config.segmentDurationUs ?? 2_000_000;
    this.chunkFrames = config.chunkFrames ?? 1;
    if (!(this.segmentDurationUs >= 200_000 && this.segmentDurationUs <= 60_000_000)) throw new SealcamError('E_CONFIG', 'segment length must be 0.2..60 s');
    if (!(Number.isInteger(this.chunkFrames) && this.chunkFrames >= 1 && this.chunkFrames <= 120)) throw new SealcamError('E_CONFIG', 'chunkFrames must be 1..120');
    this.frameUs = 1e6 / config.fps;
  }

  async push(unit: EncodedAccessUnit): Promise<void> {
    if (this.ended) throw new SealcamError('E_BAD_ARGUMENT', 'segmenter: push after end');
    if (!this.writer) {
      if (!unit.key) {
        this.stats.skippedBeforeFirstKey++;
        return;
      }
      await this.startStream(unit);
    } else if (unit.key && unit.timestampUs - this.segment!.startUs >= this.segmentDurationUs - this.frameUs / 2) {
      await this.closeSegment(unit.timestampUs, false);
    }
    if (!this.segment) await this.openSegment(unit);
    const seg = this.segment!;
    seg.frames++;
    seg.lastUs = unit.timestampUs;
    this.stats.frames++;
    this.pending.push({ data: unit.data, key: unit.key, timestampUs: unit.timestampUs, durationUs: this.frameUs });
    if (this.pending.length >= this.chunkFrames) await this.emitChunk(false);
  }

  /** End of stream: close the open segment as FINAL. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.segment) await this.closeSegment(this.segment.lastUs + this.frameUs, true);
  }

  private async startStream(firstKey: EncodedAccessUnit): Promise<void> {
    const sps = splitNalUnits(firstKey.data).find((nal) => nalType(nal) === 7);
    if (!sps) throw new SealcamError('E_BITSTREAM', 'first keyframe carries no SPS');
    const init = await buildInitSegment(firstKey.data, { codec: codecStringFromSps(sps), width: this.config.width, height: this.config.height, fps: this.config.fps });
    this.writer = new ChunkWriter(init);
    await this.events.init(init);
  }

  private async openSegment(first: EncodedAccessUnit): Promise<void> {
    this.segment = { startUs: first.timestampUs, lastUs: first.timestampUs, frames: 0 };
    await this.events.segmentStart({ captureTimeMs: first.captureTimeMs, startUs: first.timestampUs });
  }

  private async emitChunk(last: boolean): Promise<void> {
    const bytes = this.pending.length ? this.writer!.write(this.pending) : EMPTY;
    this.pending = [];
    this.stats.chunks++;
    await this.events.chunk(bytes, last);
  }

  private async closeSegment(endUs: number, final: boolean): Promise<void> {
    const seg = this.segment!;
    await this.emitChunk(true);
    this.segment = null;
    this.stats.segments++;
    await this.events.segmentEnd({ durationMs: Math.round((endUs - seg.startUs) / 1000), frames: seg.frames, final });
  }
}
