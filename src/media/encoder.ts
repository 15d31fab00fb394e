/**
 * H.264 encoding with node-webcodecs, with the quirks from the field notes handled here once:
 * - output is Annex-B whatever `avc.format` says, and `decoderConfig.description` is absent;
 * - the codec string is taken from the SPS of the first keyframe (asking for avc1.640028 gives
 *   Constrained Baseline, avc1.42C028);
 * - openh264 inserts IDRs of its own: `requestedKey` tells which keyframes we asked for;
 * - `decoderConfig.colorSpace` claims sRGB for I420 input: it is ignored (BT.709 is what the
 *   camera sends and what the init segment says).
 * Backpressure: at most `maxQueue` frames wait in the encoder. A live source that gets ahead has
 * its frames dropped and counted (`stats.dropped`); a file source waits (`waitForRoom`).
 * node-webcodecs 1.3.0's `encodeQueueSize` is no measure of that: it falls on a setImmediate after
 * encode() (VideoEncoder.js, encode), not when the native encoder takes the frame, and frames then
 * pile up natively (~3 MB each at 1080p; RSS grew 2.5 MB per frame in our measurement). So the
 * frames in flight are counted here: submitted and not yet output. Baseline H.264 has no frame
 * reordering, so every input frame gives exactly one output.
 */
import type { EncodedVideoChunk } from 'node-webcodecs';
import { VideoEncoder, VideoFrame, flushAll } from './webcodecs.js';
import { SealcamError } from '../protocol/errors.js';
import { codecStringFromSps, nalType, splitNalUnits } from './annexb.js';
import type { EncodedAccessUnit, RawFrame } from './source.js';

export interface EncoderConfig {
  width: number;
  height: number;
  fps: number;
  /** bits per second */
  bitrate: number;
  /** request a keyframe every this many microseconds of capture time (the segment length) */
  keyframeIntervalUs: number;
  /** 'prefer-software' on boards without a hardware encoder */
  hardwareAcceleration?: 'no-preference' | 'prefer-hardware' | 'prefer-software';
  /** frames allowed to wait inside the encoder (default 3: about 9 MB at 1080p) */
  maxQueue?: number;
}

export interface EncoderStats {
  submitted: number;
  encoded: number;
  dropped: number;
  keyframesRequested: number;
  extraKeyframes: number;
}

export interface EncodedOutput extends EncodedAccessUnit {
  /** true if this keyframe is one we requested (a segment boundary); false for openh264's own IDRs */
  readonly requestedKey: boolean;
}

const NAL_SPS = 7;

export class H264Encoder {
  readonly stats: EncoderStats = { submitted: 0, encoded: 0, dropped: 0, keyframesRequested: 0, extraKeyframes: 0 };
  private readonly encoder: VideoEncoder;
  private readonly maxQueue: number;
  private readonly pending = new Map<number, { index: number; captureTimeMs: number; requestedKey: boolean }>();
  private lastRequestedKeyUs = Number.NEGATIVE_INFINITY;
  private failure: SealcamError | null = null;
  private codec: string | null = null;
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly config: EncoderConfig,
    private readonly onOutput: (unit: EncodedOutput) => void,
  ) {
    if (config.width % 2 || config.height % 2) throw new SealcamError('E_CONFIG', `encoder: ${config.width}x${config.height} must be even`);
    if (!(config.bitrate >= 100_000 && config.bitrate <= 50_000_000)) throw new SealcamError('E_CONFIG', `encoder: bitrate ${config.bitrate} outside 100 kbit/s..50 Mbit/s`);
    if (!(config.keyframeIntervalUs >= 100_000)) throw new SealcamError('E_CONFIG', 'encoder: keyframe interval must be at least 100 ms');
    this.maxQueue = config.maxQueue ?? 3;
    this.encoder = new VideoEncoder({
      output: (chunk) => this.handleOutput(chunk),
      error: (e) => {
        this.failure = new SealcamError('E_ENCODER', `H.264 encoder failed: ${e.message}`);
        this.releaseWaiters();
      },
    });
    this.encoder.configure({
      codec: 'avc1.42C028',
      width: config.width,
      height: config.height,
      bitrate: config.bitrate,
      framerate: config.fps,
      latencyMode: 'realtime',
      hardwareAcceleration: config.hardwareAcceleration ?? 'prefer-software',
    });
  }

  /** The RFC 6381 codec string read from the stream's SPS, once the first keyframe is out. */
  get codecString(): string | null {
    return this.codec;
  }

  /** Frames submitted and not yet encoded. */
  get queueSize(): number {
    return this.pending.size;
  }

  /**
   * Submit a frame. Returns false (and counts a drop) if the encoder is `maxQueue` frames
   * behind: a live camera must never queue without limit.
   */
  encode(frame: RawFrame): boolean {
    this.throwIfFailed();
    if (this.pending.size >= this.maxQueue) {
      this.stats.dropped++;
      return false;
    }
    const requestedKey = frame.timestampUs - this.lastRequestedKeyUs >= this.config.keyframeIntervalUs - 1000;
    if (requestedKey) {
      this.lastRequestedKeyUs = frame.timestampUs;
      this.stats.keyframesRequested++;
    }
    const videoFrame = new VideoFrame(frame.data, {
      format: 'I420',
      codedWidth: this.config.width,
      codedHeight: this.config.height,
      timestamp: frame.timestampUs,
      duration: Math.round(1e6 / this.config.fps),
    });
    this.pending.set(frame.timestampUs, { index: frame.index, captureTimeMs: frame.captureTimeMs, requestedKey });
    try {
      this.encoder.encode(videoFrame, { keyFrame: requestedKey });
    } finally {
      videoFrame.close();
    }
    this.stats.submitted++;
    return true;
  }

  /** Resolve once the encoder has room for another frame (for sources that can wait). */
  async waitForRoom(): Promise<void> {
    while (this.pending.size >= this.maxQueue && !this.failure) {
      await new Promise<void>((resolve) => {
        this.roomWaiters.push(resolve);
        // An output is the signal; the timer only guards against a missed one.
        setTimeout(resolve, 50);
      });
    }
    this.throwIfFailed();
  }

  /** Every frame submitted comes out (or the encoder fails) before this resolves. */
  async flush(): Promise<void> {
    this.throwIfFailed();
    await flushAll(this.encoder, () => this.pending.size === 0 || this.failure !== null);
    this.throwIfFailed();
  }

  close(): void {
    if (this.encoder.state !== 'closed') this.encoder.close();
    this.releaseWaiters();
  }

  private handleOutput(chunk: EncodedVideoChunk): void {
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const meta = this.pending.get(chunk.timestamp);
    this.pending.delete(chunk.timestamp);
    const key = chunk.type === 'key';
    if (key && this.codec === null) {
      const sps = splitNalUnits(data).find((nal) => nalType(nal) === NAL_SPS);
      if (!sps) {
        this.failure = new SealcamError('E_ENCODER', 'first keyframe carries no SPS');
        return;
      }
      this.codec = codecStringFromSps(sps);
    }
    const requestedKey = key && (meta?.requestedKey ?? false);
    if (key && !requestedKey) this.stats.extraKeyframes++;
    this.stats.encoded++;
    this.releaseWaiters();
    this.onOutput({
      type: 'h264',
      data,
      key,
      requestedKey,
      index: meta?.index ?? -1,
      timestampUs: chunk.timestamp,
      captureTimeMs: meta?.captureTimeMs ?? 0,
    });
  }

  private releaseWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
