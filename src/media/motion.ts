/**
 * On-device motion detection (issue 14): frame differencing against a slowly adapting background,
 * on a coarse luma grid, with a noise floor and a minimum area.
 *
 * Cheap by construction: one frame in `everyNth` is looked at (10 a second at 30 fps), and each
 * grid cell (cellSize × cellSize pixels) is read at four points only, so a 1080p frame costs
 * about 32 000 byte reads (120 × 68 cells × 4). `npm run bench:pipeline` reports its share of a
 * core beside the encoder.
 *
 * A cell has changed when its luma differs from the background by more than `noiseFloor`
 * (sensor grain, compression noise and flicker stay below it). The frame is in motion when the
 * changed cells cover at least `minAreaPermille` of the picture. An event starts after `startFrames`
 * analysed frames in motion in a row and ends once no motion was seen for `quietMs`. The background
 * follows the scene (each cell moves 1/2^adaptShift of the way toward each quiet analysed frame,
 * so slow light changes are absorbed) only while nothing moves, so a person standing still for a
 * while does not become background mid-event.
 */
import { SealcamError } from '../protocol/errors.js';
import type { RawFrame } from './source.js';

export interface MotionConfig {
  /** grid cell edge in pixels */
  cellSize: number;
  /** analyse one frame in this many */
  everyNth: number;
  /** a cell changed when |luma − background| exceeds this (0..255) */
  noiseFloor: number;
  /** motion when changed cells cover at least this many per mille of the picture */
  minAreaPermille: number;
  /** analysed frames in motion in a row before an event starts */
  startFrames: number;
  /** an event ends after this long without motion */
  quietMs: number;
  /** the background moves 1/2^adaptShift of the way to each quiet analysed frame */
  adaptShift: number;
}

export const DEFAULT_MOTION: Readonly<MotionConfig> = Object.freeze({ cellSize: 16, everyNth: 3, noiseFloor: 18, minAreaPermille: 25, startFrames: 2, quietMs: 2000, adaptShift: 4 });

export interface MotionEvent {
  /** capture time (ms since the Unix epoch) of the first analysed frame in motion */
  startTime: number;
  /** capture time of the last analysed frame in motion */
  endTime: number;
  /** the largest changed area seen, per mille of the picture (0..1000) */
  peakPermille: number;
  /** a copy of the frame with the largest changed area (for the thumbnail) */
  peakFrame: RawFrame;
}

export interface MotionStats {
  framesSeen: number;
  framesAnalysed: number;
  events: number;
  /** ms of CPU time spent in analysis (process.hrtime), for the benchmark */
  analysisMs: number;
}

export function validateMotionConfig(c: MotionConfig): MotionConfig {
  const int = (v: number, lo: number, hi: number, what: string) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new SealcamError('E_CONFIG', `motion ${what}: expected an integer ${lo}..${hi}, got ${v}`);
  };
  int(c.cellSize, 4, 64, 'cellSize');
  int(c.everyNth, 1, 30, 'everyNth');
  int(c.noiseFloor, 1, 254, 'noiseFloor');
  int(c.minAreaPermille, 1, 1000, 'minAreaPermille');
  int(c.startFrames, 1, 30, 'startFrames');
  int(c.quietMs, 0, 600_000, 'quietMs');
  int(c.adaptShift, 1, 10, 'adaptShift');
  return c;
}

export class MotionDetector {
  readonly stats: MotionStats = { framesSeen: 0, framesAnalysed: 0, events: 0, analysisMs: 0 };
  private readonly cfg: MotionConfig;
  private readonly cols: number;
  private readonly rows: number;
  /** background luma per cell, ×16 fixed point */
  private background: Int32Array | null = null;
  private readonly current: Int32Array;
  private inMotionRun = 0;
  private open: { startTime: number; endTime: number; peakPermille: number; peakFrame: RawFrame } | null = null;

  constructor(
    private readonly width: number,
    private readonly height: number,
    config: Partial<MotionConfig> = {},
  ) {
    this.cfg = validateMotionConfig({ ...DEFAULT_MOTION, ...config });
    this.cols = Math.floor(width / this.cfg.cellSize);
    this.rows = Math.floor(height / this.cfg.cellSize);
    if (this.cols < 4 || this.rows < 4) throw new SealcamError('E_CONFIG', `motion: ${width}x${height} is too small for ${this.cfg.cellSize}-pixel cells`);
    this.current = new Int32Array(this.cols * this.rows);
  }

  /** Look at one captured frame; returns an event when one has just ended. */
  push(frame: RawFrame): MotionEvent | null {
    this.stats.framesSeen++;
    if ((this.stats.framesSeen - 1) % this.cfg.everyNth !== 0) return null;
    const t0 = process.hrtime.bigint();
    try {
      return this.analyse(frame);
    } finally {
      this.stats.analysisMs += Number(process.hrtime.bigint() - t0) / 1e6;
    }
  }

  /** End of the stream: an event still open ends at its last motion. */
  flush(): MotionEvent | null {
    return this.close();
  }

  private analyse(frame: RawFrame): MotionEvent | null {
    this.stats.framesAnalysed++;
    this.sample(frame.data);
    if (!this.background) {
      this.background = Int32Array.from(this.current, (v) => v << 4);
      return null;
    }
    const floor = this.cfg.noiseFloor << 4;
    let changed = 0;
    for (let i = 0; i < this.current.length; i++) {
      const d = (this.current[i]! << 4) - this.background[i]!;
      if (d > floor || d < -floor) changed++;
    }
    const permille = Math.round((changed * 1000) / this.current.length);
    const moving = permille >= this.cfg.minAreaPermille;
    if (!moving) this.adapt();
    this.inMotionRun = moving ? this.inMotionRun + 1 : 0;
    const t = frame.captureTimeMs;
    if (moving && (this.open || this.inMotionRun >= this.cfg.startFrames)) {
      if (!this.open) this.open = { startTime: t, endTime: t, peakPermille: permille, peakFrame: copyFrame(frame) };
      this.open.endTime = t;
      if (permille > this.open.peakPermille) {
        this.open.peakPermille = permille;
        this.open.peakFrame = copyFrame(frame);
      }
      return null;
    }
    if (this.open && t - this.open.endTime >= this.cfg.quietMs) return this.close();
    return null;
  }

  private close(): MotionEvent | null {
    const e = this.open;
    this.open = null;
    if (!e) return null;
    this.stats.events++;
    return { startTime: e.startTime, endTime: e.endTime, peakPermille: e.peakPermille, peakFrame: e.peakFrame };
  }

  /** Mean luma of four points of each cell (at a quarter and three quarters of its edge). */
  private sample(y: Uint8Array): void {
    const { cellSize: c } = this.cfg;
    const q = c >> 2;
    const W = this.width;
    let i = 0;
    for (let r = 0; r < this.rows; r++) {
      const top = (r * c + q) * W;
      const bottom = (r * c + c - q) * W;
      for (let k = 0; k < this.cols; k++) {
        const left = k * c + q;
        const right = k * c + c - q;
        this.current[i++] = (y[top + left]! + y[top + right]! + y[bottom + left]! + y[bottom + right]!) >> 2;
      }
    }
  }

  /** Move the background toward the current (quiet) frame. */
  private adapt(): void {
    const bg = this.background!;
    const s = this.cfg.adaptShift;
    for (let i = 0; i < bg.length; i++) bg[i]! += ((this.current[i]! << 4) - bg[i]!) >> s;
  }
}

function copyFrame(f: RawFrame): RawFrame {
  return { ...f, data: f.data.slice() };
}
