/**
 * Capture sources: one interface for everything a camera can give us (DESIGN.md, media/).
 * A source yields either raw I420 frames or pre-encoded H.264 access units (hardware-encoder
 * passthrough), in capture order, and says which up front.
 */

/** A raw frame: planar I420 (Y plane, then U, then V; chroma at half width and height). */
export interface RawFrame {
  readonly type: 'raw';
  /** width × height × 3/2 bytes. */
  readonly data: Uint8Array;
  /** Frame number from the start of capture, 0-based. */
  readonly index: number;
  /** Presentation time from the start of capture, microseconds. */
  readonly timestampUs: number;
  /** Wall-clock capture time, ms since the Unix epoch. */
  readonly captureTimeMs: number;
}

/** One H.264 access unit (all NAL units of one picture), Annex-B framed (00 00 00 01 start codes). */
export interface EncodedAccessUnit {
  readonly type: 'h264';
  readonly data: Uint8Array;
  /** true for an IDR picture. */
  readonly key: boolean;
  readonly index: number;
  readonly timestampUs: number;
  readonly captureTimeMs: number;
}

export type CapturedUnit = RawFrame | EncodedAccessUnit;

export interface SourceInfo {
  /** 'raw' sources yield RawFrame, 'h264' sources yield EncodedAccessUnit. */
  readonly output: 'raw' | 'h264';
  readonly width: number;
  readonly height: number;
  /** Nominal frames per second. */
  readonly fps: number;
  /** Human-readable description for logs and status, e.g. "y4m file clip.y4m". */
  readonly description: string;
}

/**
 * A capture source. `units()` may be iterated once; it ends when the source ends (end of file,
 * `maxFrames` reached, `close()` called) and throws a SealcamError (E_TRUNCATED_INPUT,
 * E_CAPTURE_FAILED, E_MEDIA_HEADER, E_UNSUPPORTED_PIXEL_FORMAT, E_RESOLUTION_MISMATCH,
 * E_BITSTREAM) when the input is bad. `close()` is idempotent and releases processes and files.
 */
export interface CaptureSource {
  readonly info: SourceInfo;
  units(): AsyncIterable<CapturedUnit>;
  close(): Promise<void>;
}

/** Bytes in one I420 frame. Width and height must be even. */
export function i420Size(width: number, height: number): number {
  return width * height + 2 * ((width >> 1) * (height >> 1));
}
