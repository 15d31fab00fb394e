/**
 * Capture from a child process that writes video to its stdout: ffmpeg reading V4L2, rpicam-vid,
 * or any tool a board profile names. The command is an argv array and is never run by a shell.
 *
 * stdout formats:
 *   'y4m'   YUV4MPEG2 (see y4m.ts); its W and H must equal the configured width and height
 *   'i420'  headerless planar I420 frames, exactly width × height × 3/2 bytes each, back to back
 *   'h264'  H.264 Annex-B byte stream (ITU-T H.264 Annex B), framed into access units by
 *           AccessUnitSplitter (§7.4.1.2.3, see annexb.ts); yields EncodedAccessUnit
 *
 * Timestamps come from the configured fps (frame index × 10⁶ / fps µs), not from the stream: a
 * capture pipe's own rate field is whatever the tool guessed, the board profile is the contract.
 *
 * Process lifecycle: a command that cannot start, or that exits non-zero or by a signal before
 * the consumer stopped it, is E_CAPTURE_FAILED with the exit status and the last 2 KiB of its
 * stderr. close() sends SIGTERM, then SIGKILL after a grace period, and waits for the exit, so
 * no child outlives the source.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { SealcamError, ensure } from '../protocol/errors.js';
import { AccessUnitSplitter, containsIdrSlice } from './annexb.js';
import { i420Size, type CaptureSource, type CapturedUnit, type SourceInfo } from './source.js';
import { ChunkReader, FrameClock, checkPositiveInteger, checkResolution, readY4mFrame, readY4mStreamHeader } from './y4m.js';

export type ProcessOutputFormat = 'y4m' | 'i420' | 'h264';

export interface ProcessSourceOptions {
  /** argv: the program, then its arguments. */
  command: readonly string[];
  format: ProcessOutputFormat;
  width: number;
  height: number;
  fps: number;
  /** Stop (and end the process) after this many frames or access units. */
  maxFrames?: number;
  /** Added to this process's environment for the child. */
  env?: Readonly<Record<string, string>>;
  /** Wall-clock time of frame 0, ms since the Unix epoch; default: the clock when frame 0 arrives. */
  startTimeMs?: number;
  /** Clock for the default start time; default Date.now. */
  now?: () => number;
  /** Time between SIGTERM and SIGKILL in close(); default 2000 ms. */
  killGraceMs?: number;
}

/** How much of the child's stderr is kept for error messages. */
const STDERR_TAIL_BYTES = 2048;
const DEFAULT_KILL_GRACE_MS = 2000;
const FORMATS: ReadonlySet<string> = new Set<ProcessOutputFormat>(['y4m', 'i420', 'h264']);

interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The payload of one unit before it is numbered and timestamped. */
type Payload = { readonly data: Uint8Array; readonly key?: boolean };

/** A CaptureSource fed by a child process's stdout. Create with `ProcessSource.start()`. */
export class ProcessSource implements CaptureSource {
  readonly info: SourceInfo;
  private readonly reader: ChunkReader;
  private iterated = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly process: CaptureProcess,
    private readonly options: ProcessSourceOptions,
  ) {
    const program = options.command[0]!;
    this.info = { output: options.format === 'h264' ? 'h264' : 'raw', width: options.width, height: options.height, fps: options.fps, description: `process ${program} (${options.format})` };
    this.reader = new ChunkReader(process.child.stdout[Symbol.asyncIterator](), `capture command ${program}`);
  }

  /** Spawns the command; E_CAPTURE_FAILED if it cannot be started (e.g. ENOENT). */
  static async start(options: ProcessSourceOptions): Promise<ProcessSource> {
    checkProcessOptions(options);
    const process = await CaptureProcess.spawn(options.command, options.env);
    return new ProcessSource(process, options);
  }

  /** The child's process id. */
  get pid(): number {
    return this.process.child.pid!;
  }

  units(): AsyncIterable<CapturedUnit> {
    ensure(!this.iterated, 'E_BAD_ARGUMENT', `${this.info.description}: units() may be iterated only once`);
    this.iterated = true;
    return this.capturedUnits();
  }

  /** Idempotent: stops the process (SIGTERM, then SIGKILL) and waits for it to exit. */
  close(): Promise<void> {
    this.closing ??= this.process.stop(this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    return this.closing;
  }

  private async *capturedUnits(): AsyncGenerator<CapturedUnit> {
    const clock = new FrameClock(this.options.fps, 1, this.options.startTimeMs, this.options.now);
    try {
      let index = 0;
      for await (const payload of this.payloads()) {
        if (this.closing !== undefined) return;
        const unit = { index, ...clock.stamp(index) };
        yield payload.key === undefined ? { type: 'raw', data: payload.data, ...unit } : { type: 'h264', data: payload.data, key: payload.key, ...unit };
        if (++index === this.options.maxFrames) return;
      }
      await this.requireCleanExit();
    } catch (e) {
      if (this.closing !== undefined) return;
      throw await this.explainFailure(e);
    } finally {
      await this.close();
    }
  }

  private payloads(): AsyncGenerator<Payload> {
    switch (this.options.format) {
      case 'y4m':
        return this.y4mFrames();
      case 'i420':
        return this.i420Frames();
      case 'h264':
        return this.accessUnits();
    }
  }

  private async *y4mFrames(): AsyncGenerator<Payload> {
    const header = await readY4mStreamHeader(this.reader);
    checkResolution(this.reader.what, header, this.options.width, this.options.height);
    for (let index = 0; ; index++) {
      const data = await readY4mFrame(this.reader, header, index);
      if (data === undefined) return;
      yield { data };
    }
  }

  private async *i420Frames(): AsyncGenerator<Payload> {
    const size = i420Size(this.options.width, this.options.height);
    for (let index = 0; ; index++) {
      const data = await this.reader.readExact(size);
      if (data.length === 0) return;
      ensure(data.length === size, 'E_TRUNCATED_INPUT', `${this.reader.what}: frame ${index}: output ends after ${data.length} of ${size} bytes`);
      yield { data };
    }
  }

  private async *accessUnits(): AsyncGenerator<Payload> {
    const splitter = new AccessUnitSplitter();
    for (let chunk = await this.reader.readChunk(); chunk !== undefined; chunk = await this.reader.readChunk()) {
      for (const data of splitter.push(chunk)) yield { data, key: containsIdrSlice(data) };
    }
    // A process that died mid-picture left a cut-off last access unit: report the death instead.
    await this.requireCleanExit();
    for (const data of splitter.flush()) yield { data, key: containsIdrSlice(data) };
  }

  /** After stdout ended: E_CAPTURE_FAILED unless the process exited 0 (or we stopped it). */
  private async requireCleanExit(): Promise<void> {
    const status = await this.process.closed;
    if (this.closing === undefined && !isCleanExit(status)) throw this.process.failure(status);
  }

  /**
   * A parse error caused by the process dying (stdout cut short) is reported as the death,
   * E_CAPTURE_FAILED, with the parse error as its cause.
   */
  private async explainFailure(e: unknown): Promise<unknown> {
    if (!this.reader.ended || SealcamError.is(e, 'E_CAPTURE_FAILED')) return e;
    const status = await this.process.closed;
    return isCleanExit(status) ? e : this.process.failure(status, e);
  }
}

/** A spawned capture command, its exit status and the tail of its stderr. */
class CaptureProcess {
  /** Settles on 'exit'. */
  readonly exited: Promise<ExitStatus>;
  /** Settles on 'close': exited and stdout/stderr drained. */
  readonly closed: Promise<ExitStatus>;
  private stderrTail = Buffer.alloc(0);

  private constructor(
    readonly child: ChildProcessByStdio<null, Readable, Readable>,
    private readonly command: readonly string[],
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.closed = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    child.stderr.on('data', (chunk: Buffer) => this.keepStderr(chunk));
    // After a successful spawn, 'error' only reports a failed kill(); the exit handling covers it.
    child.on('error', () => undefined);
  }

  static async spawn(command: readonly string[], env: Readonly<Record<string, string>> | undefined): Promise<CaptureProcess> {
    const [program, ...args] = command as [string, ...string[]];
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, shell: false });
    const started = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new SealcamError('E_CAPTURE_FAILED', `capture command ${describeCommand(command)} could not start: ${err.message}`, { cause: err })));
    });
    const captureProcess = new CaptureProcess(child, command); // listens before any event can fire
    await started;
    return captureProcess;
  }

  failure(status: ExitStatus, cause?: unknown): SealcamError {
    const how = status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
    const stderr = this.stderrTail.toString('utf8').trim();
    const detail = stderr.length > 0 ? `; stderr: ${stderr}` : '; stderr was empty';
    return new SealcamError('E_CAPTURE_FAILED', `capture command ${describeCommand(this.command)} ${how}${detail}`, { cause });
  }

  /** SIGTERM, SIGKILL after `graceMs`, then wait until the process has exited and its pipes are closed. */
  async stop(graceMs: number): Promise<void> {
    const running = this.child.exitCode === null && this.child.signalCode === null;
    if (running) {
      this.child.kill('SIGTERM');
      const escalation = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(escalation);
    }
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    await this.closed;
  }

  private keepStderr(chunk: Buffer): void {
    const joined = Buffer.concat([this.stderrTail, chunk]);
    this.stderrTail = joined.subarray(Math.max(0, joined.length - STDERR_TAIL_BYTES));
  }
}

function isCleanExit(status: ExitStatus): boolean {
  return status.code === 0 && status.signal === null;
}

/** For messages only: the argv joined with spaces, long commands shortened. */
function describeCommand(command: readonly string[]): string {
  const text = command.join(' ');
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function checkProcessOptions(o: ProcessSourceOptions): void {
  ensure(Array.isArray(o.command) && o.command.length > 0 && o.command.every((a) => typeof a === 'string'), 'E_BAD_ARGUMENT', 'command: expected a non-empty argv array of strings');
  ensure(o.command[0]!.length > 0, 'E_BAD_ARGUMENT', 'command: the program name is empty');
  ensure(FORMATS.has(o.format), 'E_BAD_ARGUMENT', `format: expected 'y4m', 'i420' or 'h264', got ${JSON.stringify(o.format)}`);
  for (const [name, value] of [['width', o.width], ['height', o.height]] as const) {
    checkPositiveInteger(name, value);
    ensure(value % 2 === 0, 'E_BAD_ARGUMENT', `${name}: expected an even number for I420, got ${value}`);
  }
  ensure(Number.isFinite(o.fps) && o.fps > 0, 'E_BAD_ARGUMENT', `fps: expected a positive number, got ${o.fps}`);
  checkPositiveInteger('maxFrames', o.maxFrames);
  checkPositiveInteger('killGraceMs', o.killGraceMs);
}
