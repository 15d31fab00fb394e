/**
 * YUV4MPEG2 (".y4m") capture source: a streaming parser over a Node Readable (a file or stdin).
 * Format as written by mjpegtools and ffmpeg (yuv4mpeg(5) man page; ffmpeg libavformat/yuv4mpegenc.c):
 *
 *   stream header, one line ending in 0x0A:
 *     "YUV4MPEG2"     magic, then space-separated tags, each a letter and a value:
 *     W<int>          frame width in pixels (required; even here, for I420)
 *     H<int>          frame height in pixels (required; even here)
 *     F<num>:<den>    frame rate num/den frames per second (required here: timestamps come from it)
 *     I<p|t|b|m|?>    interlacing: p progressive, ? unknown (both accepted); t, b, m interlaced (rejected)
 *     A<num>:<den>    pixel aspect ratio (ignored)
 *     C<chroma>       420jpeg (the default when absent), 420, 420paldv, 420mpeg2 (all I420 layout,
 *                     differing only in chroma siting); anything else (422, 444, mono, 420p10 ...) is rejected
 *     X<anything>     extension (ignored)
 *   then per frame:
 *     "FRAME" [ space-separated tags ] 0x0A     frame header (tags ignored)
 *     W×H bytes Y, (W/2)×(H/2) bytes U, (W/2)×(H/2) bytes V   planar I420 payload
 *
 * The parser holds at most one frame plus the unread tail of one input chunk, and header lines
 * are bounded, so a file of any length streams in constant memory.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { SealcamError, ensure } from '../protocol/errors.js';
import { i420Size, type CaptureSource, type RawFrame, type SourceInfo } from './source.js';

const MAGIC = 'YUV4MPEG2';
const FRAME_TAG = 'FRAME';
const LINE_FEED = 0x0a;
/** Longest stream header accepted; real ones are under 100 bytes. */
const MAX_STREAM_HEADER_BYTES = 4096;
/** Longest FRAME line accepted. */
const MAX_FRAME_HEADER_BYTES = 1024;
/** Largest width or height accepted, so a corrupt header cannot demand a gigantic frame buffer. */
const MAX_DIMENSION = 16384;
const I420_CHROMA_TAGS: ReadonlySet<string> = new Set(['420jpeg', '420', '420paldv', '420mpeg2']);
const INTERLACED_TAGS: ReadonlySet<string> = new Set(['t', 'b', 'm']);

/** The fields of a YUV4MPEG2 stream header that matter for I420 capture. */
export interface Y4mStreamHeader {
  readonly width: number;
  readonly height: number;
  /** Frame rate as the exact fraction rateNum / rateDen. */
  readonly rateNum: number;
  readonly rateDen: number;
  /** The C tag, '420jpeg' when absent. */
  readonly chroma: string;
}

export interface Y4mOptions {
  /** E_RESOLUTION_MISMATCH unless the header's W equals this. */
  expectWidth?: number;
  /** E_RESOLUTION_MISMATCH unless the header's H equals this. */
  expectHeight?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** Wall-clock time of frame 0, ms since the Unix epoch; default: the clock when frame 0 is read. */
  startTimeMs?: number;
  /** Clock for the default start time; default Date.now. */
  now?: () => number;
}

/** Parses the stream header line (without its 0x0A); `what` names the input in error messages. */
export function parseY4mStreamHeader(line: string, what = 'y4m'): Y4mStreamHeader {
  const [magic, ...tags] = line.split(' ').filter((token) => token.length > 0);
  ensure(magic === MAGIC, 'E_MEDIA_HEADER', `${what}: expected magic "${MAGIC}", got ${JSON.stringify(line.slice(0, 16))}`);
  let width: number | undefined;
  let height: number | undefined;
  let rate: { num: number; den: number } | undefined;
  let chroma = '420jpeg';
  for (const tag of tags) {
    const value = tag.slice(1);
    switch (tag[0]) {
      case 'W':
        width = parseDimension(what, 'W', value);
        break;
      case 'H':
        height = parseDimension(what, 'H', value);
        break;
      case 'F':
        rate = parseFrameRate(what, value);
        break;
      case 'I':
        checkProgressive(what, value);
        break;
      case 'C':
        chroma = value;
        break;
      case 'A':
      case 'X':
        break;
      default:
        throw new SealcamError('E_MEDIA_HEADER', `${what}: unknown stream header tag ${JSON.stringify(tag)}`);
    }
  }
  ensure(width !== undefined, 'E_MEDIA_HEADER', `${what}: stream header has no W (width) tag`);
  ensure(height !== undefined, 'E_MEDIA_HEADER', `${what}: stream header has no H (height) tag`);
  ensure(rate !== undefined, 'E_MEDIA_HEADER', `${what}: stream header has no F (frame rate) tag`);
  ensure(I420_CHROMA_TAGS.has(chroma), 'E_UNSUPPORTED_PIXEL_FORMAT', `${what}: chroma C${chroma} is not supported; expected 4:2:0 8-bit (C420jpeg, C420, C420paldv, C420mpeg2)`);
  return { width, height, rateNum: rate.num, rateDen: rate.den, chroma };
}

function parseDimension(what: string, tag: 'W' | 'H', value: string): number {
  ensure(/^[0-9]{1,9}$/.test(value), 'E_MEDIA_HEADER', `${what}: ${tag} must be a decimal integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  ensure(n > 0 && n <= MAX_DIMENSION, 'E_MEDIA_HEADER', `${what}: ${tag} must be 1..${MAX_DIMENSION}, got ${n}`);
  ensure(n % 2 === 0, 'E_MEDIA_HEADER', `${what}: ${tag} must be even for 4:2:0 chroma, got ${n}`);
  return n;
}

function parseFrameRate(what: string, value: string): { num: number; den: number } {
  const m = /^([0-9]{1,9}):([0-9]{1,9})$/.exec(value);
  ensure(m !== null, 'E_MEDIA_HEADER', `${what}: F must be num:den, got ${JSON.stringify(value)}`);
  const num = Number(m[1]);
  const den = Number(m[2]);
  ensure(num > 0 && den > 0, 'E_MEDIA_HEADER', `${what}: F must be a positive rate, got ${num}:${den}`);
  return { num, den };
}

function checkProgressive(what: string, value: string): void {
  if (INTERLACED_TAGS.has(value)) {
    throw new SealcamError('E_UNSUPPORTED_PIXEL_FORMAT', `${what}: interlaced video (I${value}) is not supported; expected Ip`);
  }
  ensure(value === 'p' || value === '?', 'E_MEDIA_HEADER', `${what}: I must be one of p, t, b, m, ?; got ${JSON.stringify(value)}`);
}

/**
 * Pulls lines and exact byte counts out of an async stream of chunks. It holds the unread tail
 * of the current chunk only; `readExact` copies straight into the caller's buffer.
 */
export class ChunkReader {
  private carry: Uint8Array = new Uint8Array(0);
  private done = false;

  constructor(
    private readonly chunks: AsyncIterator<unknown>,
    /** Names the input in error messages, e.g. "y4m file clip.y4m". */
    readonly what: string,
  ) {}

  /** true once the underlying stream has ended (buffered bytes may remain). */
  get ended(): boolean {
    return this.done;
  }

  /** true if no byte is left, at the end of the stream. */
  async atEnd(): Promise<boolean> {
    while (this.carry.length === 0) {
      if (!(await this.pull())) return true;
    }
    return false;
  }

  /**
   * The next line, without its 0x0A. `partial` is set when the stream ends before a 0x0A;
   * `tooLong` when no 0x0A occurs within `maxBytes`.
   */
  async readLine(maxBytes: number): Promise<{ line: Uint8Array; partial?: true; tooLong?: true }> {
    for (;;) {
      const lineEnd = this.carry.subarray(0, maxBytes + 1).indexOf(LINE_FEED);
      if (lineEnd >= 0) {
        const line = this.carry.slice(0, lineEnd);
        this.carry = this.carry.subarray(lineEnd + 1);
        return { line };
      }
      if (this.carry.length > maxBytes) return { line: this.carry.slice(0, maxBytes), tooLong: true };
      if (!(await this.pull())) {
        const line = this.carry;
        this.carry = new Uint8Array(0);
        return { line, partial: true };
      }
    }
  }

  /** Exactly `n` bytes in a new buffer, or fewer if the stream ends first. */
  async readExact(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.carry.length === 0 && !(await this.pull())) return out.subarray(0, filled);
      const take = Math.min(n - filled, this.carry.length);
      out.set(this.carry.subarray(0, take), filled);
      this.carry = this.carry.subarray(take);
      filled += take;
    }
    return out;
  }

  /** Whatever bytes come next (at least one), or undefined at the end of the stream. */
  async readChunk(): Promise<Uint8Array | undefined> {
    if (this.carry.length === 0 && !(await this.pull())) return undefined;
    const chunk = this.carry;
    this.carry = new Uint8Array(0);
    return chunk;
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    let result: IteratorResult<unknown>;
    try {
      result = await this.chunks.next();
    } catch (e) {
      if (SealcamError.is(e)) throw e;
      throw new SealcamError('E_CAPTURE_FAILED', `${this.what}: read failed: ${(e as Error).message}`, { cause: e });
    }
    if (result.done) {
      this.done = true;
      return false;
    }
    ensure(result.value instanceof Uint8Array, 'E_BAD_ARGUMENT', `${this.what}: expected a byte stream, got a chunk of type ${typeof result.value}`);
    this.carry = this.carry.length === 0 ? result.value : concat(this.carry, result.value);
    return true;
  }
}

/** Reads and parses the stream header. An empty input is E_MEDIA_HEADER, a cut-off header E_TRUNCATED_INPUT. */
export async function readY4mStreamHeader(reader: ChunkReader): Promise<Y4mStreamHeader> {
  const { line, partial, tooLong } = await reader.readLine(MAX_STREAM_HEADER_BYTES);
  const text = latin1(line);
  ensure(!(partial && line.length === 0), 'E_MEDIA_HEADER', `${reader.what}: empty input, expected a YUV4MPEG2 stream header`);
  ensure(text.startsWith(MAGIC) || MAGIC.startsWith(text), 'E_MEDIA_HEADER', `${reader.what}: not YUV4MPEG2 (starts with ${JSON.stringify(text.slice(0, 16))})`);
  ensure(!tooLong, 'E_MEDIA_HEADER', `${reader.what}: stream header longer than ${MAX_STREAM_HEADER_BYTES} bytes`);
  ensure(!partial, 'E_TRUNCATED_INPUT', `${reader.what}: input ends inside the stream header, before frame 0`);
  return parseY4mStreamHeader(text, reader.what);
}

/** Reads frame `index` (FRAME line and I420 payload); undefined at a clean end of input. */
export async function readY4mFrame(reader: ChunkReader, header: Y4mStreamHeader, index: number): Promise<Uint8Array | undefined> {
  if (await reader.atEnd()) return undefined;
  const { line, partial, tooLong } = await reader.readLine(MAX_FRAME_HEADER_BYTES);
  const text = latin1(line);
  const isFrameLine = text === FRAME_TAG || text.startsWith(`${FRAME_TAG} `);
  ensure(isFrameLine || (partial && FRAME_TAG.startsWith(text)), 'E_MEDIA_HEADER', `${reader.what}: frame ${index}: expected a FRAME line, got ${JSON.stringify(text.slice(0, 16))}`);
  ensure(!tooLong, 'E_MEDIA_HEADER', `${reader.what}: frame ${index}: FRAME line longer than ${MAX_FRAME_HEADER_BYTES} bytes`);
  ensure(!partial, 'E_TRUNCATED_INPUT', `${reader.what}: frame ${index}: input ends inside the FRAME line`);
  const size = i420Size(header.width, header.height);
  const data = await reader.readExact(size);
  ensure(data.length === size, 'E_TRUNCATED_INPUT', `${reader.what}: frame ${index}: input ends after ${data.length} of ${size} bytes`);
  return data;
}

/**
 * Presentation and wall-clock times of frame `index` at a rational frame rate:
 * timestampUs = round(index × 10⁶ × den / num), captureTimeMs = start + timestampUs / 1000.
 * The start is fixed at the first call unless given.
 */
export class FrameClock {
  private startMs: number | undefined;

  constructor(
    private readonly rateNum: number,
    private readonly rateDen: number,
    startTimeMs?: number,
    private readonly now: () => number = Date.now,
  ) {
    this.startMs = startTimeMs;
  }

  stamp(index: number): { timestampUs: number; captureTimeMs: number } {
    this.startMs ??= this.now();
    const timestampUs = Math.round((index * 1e6 * this.rateDen) / this.rateNum);
    return { timestampUs, captureTimeMs: this.startMs + timestampUs / 1000 };
  }
}

/** Checks an optional positive-integer option (a programming error if wrong). */
export function checkPositiveInteger(name: string, value: number | undefined): void {
  if (value === undefined) return;
  ensure(Number.isInteger(value) && value > 0, 'E_BAD_ARGUMENT', `${name}: expected a positive integer, got ${value}`);
}

/** A CaptureSource over a YUV4MPEG2 file or stream; yields RawFrame. */
export class Y4mSource implements CaptureSource {
  readonly info: SourceInfo;
  private iterated = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly readable: Readable,
    private readonly reader: ChunkReader,
    private readonly header: Y4mStreamHeader,
    private readonly options: Y4mOptions,
    description: string,
  ) {
    this.info = { output: 'raw', width: header.width, height: header.height, fps: header.rateNum / header.rateDen, description };
  }

  /** Opens a .y4m file and reads its stream header. */
  static async fromFile(path: string, options: Y4mOptions = {}): Promise<Y4mSource> {
    return Y4mSource.fromStream(createReadStream(path), options, `y4m file ${basename(path)}`);
  }

  /** Reads the stream header from `readable` (e.g. process.stdin). On failure the stream is destroyed. */
  static async fromStream(readable: Readable, options: Y4mOptions = {}, description = 'y4m stream'): Promise<Y4mSource> {
    checkY4mOptions(options);
    const reader = new ChunkReader(readable[Symbol.asyncIterator](), description);
    try {
      const header = await readY4mStreamHeader(reader);
      checkResolution(description, header, options.expectWidth, options.expectHeight);
      return new Y4mSource(readable, reader, header, options, description);
    } catch (e) {
      readable.destroy();
      throw e;
    }
  }

  units(): AsyncIterable<RawFrame> {
    ensure(!this.iterated, 'E_BAD_ARGUMENT', `${this.info.description}: units() may be iterated only once`);
    this.iterated = true;
    return this.frames();
  }

  /** Idempotent; ends any iteration in progress cleanly. */
  close(): Promise<void> {
    this.closing ??= closeReadable(this.readable);
    return this.closing;
  }

  private async *frames(): AsyncGenerator<RawFrame> {
    const clock = new FrameClock(this.header.rateNum, this.header.rateDen, this.options.startTimeMs, this.options.now);
    try {
      for (let index = 0; index !== this.options.maxFrames && this.closing === undefined; index++) {
        const data = await readY4mFrame(this.reader, this.header, index);
        if (data === undefined || this.closing !== undefined) return;
        yield { type: 'raw', data, index, ...clock.stamp(index) };
      }
    } catch (e) {
      if (this.closing === undefined) throw e;
    } finally {
      await this.close();
    }
  }
}

/** E_RESOLUTION_MISMATCH unless the header matches the expected size (each check optional). */
export function checkResolution(what: string, header: Y4mStreamHeader, width: number | undefined, height: number | undefined): void {
  const widthOk = width === undefined || width === header.width;
  const heightOk = height === undefined || height === header.height;
  ensure(widthOk && heightOk, 'E_RESOLUTION_MISMATCH', `${what}: expected ${width ?? header.width}×${height ?? header.height}, stream header says ${header.width}×${header.height}`);
}

function checkY4mOptions(options: Y4mOptions): void {
  checkPositiveInteger('expectWidth', options.expectWidth);
  checkPositiveInteger('expectHeight', options.expectHeight);
  checkPositiveInteger('maxFrames', options.maxFrames);
  ensure(options.startTimeMs === undefined || Number.isFinite(options.startTimeMs), 'E_BAD_ARGUMENT', `startTimeMs: expected a finite number, got ${options.startTimeMs}`);
}

async function closeReadable(readable: Readable): Promise<void> {
  readable.destroy();
  // finished() rejects with ERR_STREAM_PREMATURE_CLOSE for a stream destroyed mid-way: expected here.
  await finished(readable).catch(() => undefined);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
