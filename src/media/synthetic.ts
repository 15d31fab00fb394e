/**
 * The synthetic camera (the `sim` board's lens): a 1080p30 scene with real motion and texture —
 * a slowly panning textured background, a band of sensor-like noise that changes every frame,
 * bouncing objects, a burned-in clock and frame counter — plus an optional overlay such as a QR
 * code held in front of the lens, with scale, position and mild noise.
 *
 * Every frame also carries a machine-readable frame code (FRAME_CODE_* below): the frame index
 * as 24 bits plus an 8-bit check, drawn as big black/white cells that survive H.264. Tests and
 * the latency benchmark read it back from decoded pixels with `readFrameCode`.
 *
 * Rendering reuses a small ring of buffers: a frame's `data` stays valid until the consumer has
 * pulled RING_SIZE more frames. Copy it to keep it longer.
 */
import { SealcamError } from '../protocol/errors.js';
import { i420Size, type CaptureSource, type RawFrame, type SourceInfo } from './source.js';

export interface Clock {
  /** ms since the Unix epoch */
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export interface Overlay {
  /** 8-bit luma, row-major, `width × height`. Dark pixels (< 128) of a QR code are modules. */
  readonly luma: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** top-left position in the frame, pixels */
  readonly x: number;
  readonly y: number;
  /** nearest-neighbour scale factor (>= 1 for QR codes) */
  readonly scale: number;
  /** amplitude of uniform noise added to the overlay, 0..64 */
  readonly noise?: number;
}

/** SyntheticScene.setStill: a quiet scene, and when something enters it. */
export interface StillScene {
  /** from this frame on, a dark rectangle crosses the scene */
  intruderFromFrame?: number;
  /** and from this frame on it is gone again */
  intruderUntilFrame?: number;
  /** the burned-in clock and frame code (default true) */
  osd?: boolean;
}

export interface SyntheticOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** stop after this many frames (default: never) */
  maxFrames?: number;
  /** pace frames at `fps` in real time (a live camera); otherwise as fast as they are pulled */
  realtime?: boolean;
  clock?: Clock;
  /** seed for the texture and motion, so runs are reproducible */
  seed?: number;
}

const RING_SIZE = 2;
export const FRAME_CODE_BITS = 32;
export const FRAME_CODE_CELL = 24;
const FRAME_CODE_X = 32;
const FRAME_CODE_Y_FROM_BOTTOM = 64;
const LUMA_BLACK = 16;
const LUMA_WHITE = 235;

/** xorshift32: small, fast, seeded. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** 8-bit check for the frame code: a byte mix of the 24-bit index. */
function frameCodeCheck(index24: number): number {
  return ((index24 & 0xff) ^ ((index24 >>> 8) & 0xff) ^ ((index24 >>> 16) & 0xff) ^ 0xa5) & 0xff;
}

function frameCodeOrigin(height: number): { x: number; y: number } {
  return { x: FRAME_CODE_X, y: height - FRAME_CODE_Y_FROM_BOTTOM };
}

/** Cell size: 24 px where it fits, smaller on narrow frames (18 px at 640 wide). */
function frameCodeCell(width: number): number {
  return Math.min(FRAME_CODE_CELL, Math.floor((width - 2 * FRAME_CODE_X) / FRAME_CODE_BITS));
}

/**
 * Read the frame index from a decoded luma plane (`stride` bytes per row). Returns null if the
 * check byte does not match (not a synthetic frame, or too damaged to trust).
 */
export function readFrameCode(luma: Uint8Array, stride: number, height: number, width = stride): number | null {
  const { x, y } = frameCodeOrigin(height);
  const cell = frameCodeCell(width);
  let value = 0;
  for (let bit = 0; bit < FRAME_CODE_BITS; bit++) {
    const cx = x + bit * cell + (cell >> 1);
    const cy = y + (cell >> 1);
    let sum = 0;
    for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) sum += luma[(cy + dy) * stride + cx + dx]!;
    value = (value << 1) | (sum / 49 > 128 ? 1 : 0);
  }
  value >>>= 0;
  const index = value >>> 8;
  return frameCodeCheck(index) === (value & 0xff) ? index : null;
}

// 7-segment glyphs for the burned-in clock: bits a b c d e f g.
const SEGMENTS: Record<string, number> = {
  '0': 0b1111110, '1': 0b0110000, '2': 0b1101101, '3': 0b1111001, '4': 0b0110011,
  '5': 0b1011011, '6': 0b1011111, '7': 0b1110000, '8': 0b1111111, '9': 0b1111011,
  ':': 0, '.': 0, '#': 0, ' ': 0,
};

interface MovingObject {
  x: number;
  y: number;
  w: number;
  h: number;
  vx: number;
  vy: number;
  luma: number;
  u: number;
  v: number;
}

/** The renderer, separate from the source so it can be benchmarked and tested on its own. */
export class SyntheticScene {
  readonly width: number;
  readonly height: number;
  private readonly texY: Uint8Array;
  private readonly texU: Uint8Array;
  private readonly texV: Uint8Array;
  private readonly texW: number;
  private readonly texH: number;
  private readonly objects: MovingObject[];
  private readonly rand: () => number;
  private overlay: (Overlay & { scaled: Uint8Array; sw: number; sh: number }) | null = null;
  private still: StillScene | null = null;

  constructor(width: number, height: number, seed = 1) {
    if (width % 16 !== 0 || height % 2 !== 0 || width < 640 || height < 360) {
      throw new SealcamError('E_CONFIG', `synthetic scene: ${width}x${height} must be at least 640x360, width a multiple of 16, height even`);
    }
    this.width = width;
    this.height = height;
    this.rand = prng(seed);
    // A texture larger than the frame: smooth gradients, blobs and grain, panned over time.
    this.texW = width + 256;
    this.texH = height + 256;
    this.texY = new Uint8Array(this.texW * this.texH);
    this.texU = new Uint8Array((this.texW >> 1) * (this.texH >> 1));
    this.texV = new Uint8Array((this.texW >> 1) * (this.texH >> 1));
    for (let y = 0; y < this.texH; y++) {
      for (let x = 0; x < this.texW; x++) {
        const base = 96 + 40 * Math.sin(x / 97) * Math.cos(y / 71) + 20 * Math.sin((x + y) / 23);
        this.texY[y * this.texW + x] = Math.max(16, Math.min(235, base + ((this.rand() & 31) - 16)));
      }
    }
    const cw = this.texW >> 1;
    for (let y = 0; y < this.texH >> 1; y++) {
      for (let x = 0; x < cw; x++) {
        this.texU[y * cw + x] = 128 + 24 * Math.sin(x / 53) + ((this.rand() & 7) - 4);
        this.texV[y * cw + x] = 128 + 24 * Math.cos(y / 41) + ((this.rand() & 7) - 4);
      }
    }
    this.objects = Array.from({ length: 5 }, (_, i) => ({
      x: (this.rand() % (width - 300)) + 50,
      y: (this.rand() % (height - 300)) + 50,
      w: 120 + (this.rand() % 180),
      h: 90 + (this.rand() % 160),
      vx: ((this.rand() % 13) + 4) * (i % 2 ? 1 : -1),
      vy: ((this.rand() % 9) + 3) * (i % 3 ? 1 : -1),
      luma: 40 + (this.rand() % 180),
      u: 60 + (this.rand() % 136),
      v: 60 + (this.rand() % 136),
    }));
  }

  /** Hold an image in front of the lens (or remove it with null). */
  setOverlay(overlay: Overlay | null): void {
    if (!overlay) {
      this.overlay = null;
      return;
    }
    const { luma, width, height, scale } = overlay;
    if (luma.length !== width * height || !Number.isInteger(scale) || scale < 1) {
      throw new SealcamError('E_CONFIG', 'overlay: luma must be width*height bytes and scale a positive integer');
    }
    const sw = width * scale;
    const sh = height * scale;
    if (overlay.x < 0 || overlay.y < 0 || overlay.x + sw > this.width || overlay.y + sh > this.height) {
      throw new SealcamError('E_CONFIG', `overlay: ${sw}x${sh} at (${overlay.x},${overlay.y}) does not fit in ${this.width}x${this.height}`);
    }
    const scaled = new Uint8Array(sw * sh);
    for (let y = 0; y < sh; y++) {
      const srcRow = Math.floor(y / scale) * width;
      for (let x = 0; x < sw; x++) scaled[y * sw + x] = luma[srcRow + Math.floor(x / scale)]!;
    }
    this.overlay = { ...overlay, scaled, sw, sh };
  }

  /**
   * A quiet room instead of the busy default (for motion detection): the background stands still,
   * no noise band, no moving objects; from frame `intruderFromFrame` on one dark rectangle
   * (a quarter of the frame's width and height) crosses it; `osd: false` also leaves out the
   * burned-in clock and frame code. null: the busy default again.
   */
  setStill(still: StillScene | null): void {
    this.still = still;
  }

  /** Render frame `index` into `out` (I420, width*height*3/2 bytes). */
  render(out: Uint8Array, index: number, captureTimeMs: number): void {
    const { width: W, height: H } = this;
    const Y = out.subarray(0, W * H);
    const U = out.subarray(W * H, W * H + (W >> 1) * (H >> 1));
    const V = out.subarray(W * H + (W >> 1) * (H >> 1));
    if (this.still) return this.renderStill(Y, U, V, index, captureTimeMs, this.still);
    this.renderBackground(Y, U, V, index);
    this.renderNoiseBand(Y);
    this.renderObjects(Y, U, V, index);
    this.renderOverlay(Y);
    this.renderClock(Y, index, captureTimeMs);
    this.renderFrameCode(Y, index);
  }

  private renderStill(Y: Uint8Array, U: Uint8Array, V: Uint8Array, index: number, captureTimeMs: number, still: StillScene): void {
    const { width: W, height: H } = this;
    this.renderBackground(Y, U, V, 0);
    const from = still.intruderFromFrame;
    if (from !== undefined && index >= from && (still.intruderUntilFrame === undefined || index < still.intruderUntilFrame)) {
      const w = W >> 2;
      const h = H >> 2;
      const px = bounce(16 * (index - from), W - w);
      const py = H >> 1;
      for (let y = py; y < py + h; y++) Y.fill(24, y * W + px, y * W + px + w);
    }
    this.renderOverlay(Y);
    if (still.osd !== false) {
      this.renderClock(Y, index, captureTimeMs);
      this.renderFrameCode(Y, index);
    }
  }

  private renderBackground(Y: Uint8Array, U: Uint8Array, V: Uint8Array, index: number): void {
    const { width: W, height: H, texW } = this;
    const ox = (index * 2) % 256;
    const oy = Math.floor(index / 3) % 256;
    for (let y = 0; y < H; y++) {
      const src = (y + oy) * texW + ox;
      Y.set(this.texY.subarray(src, src + W), y * W);
    }
    const cw = texW >> 1;
    const hw = W >> 1;
    for (let y = 0; y < H >> 1; y++) {
      const src = (y + (oy >> 1)) * cw + (ox >> 1);
      U.set(this.texU.subarray(src, src + hw), y * hw);
      V.set(this.texV.subarray(src, src + hw), y * hw);
    }
  }

  /** A 96-row band whose grain changes every frame, like sensor noise in a dark area. */
  private renderNoiseBand(Y: Uint8Array): void {
    const { width: W, texW } = this;
    const top = Math.floor(this.height * 0.55);
    for (let y = 0; y < 96; y++) {
      const src = ((y * 7 + (this.rand() & 127)) % this.texH) * texW + (this.rand() & 127);
      Y.set(this.texY.subarray(src, src + W), (top + y) * W);
    }
  }

  private renderObjects(Y: Uint8Array, U: Uint8Array, V: Uint8Array, index: number): void {
    const { width: W, height: H } = this;
    const hw = W >> 1;
    for (const o of this.objects) {
      // Position at frame `index`, bouncing off the edges (a triangle wave per axis).
      const px = bounce(o.x + o.vx * index, W - o.w);
      const py = bounce(o.y + o.vy * index, H - o.h);
      for (let y = py; y < py + o.h; y++) Y.fill(o.luma, y * W + px, y * W + px + o.w);
      for (let y = py >> 1; y < (py + o.h) >> 1; y++) {
        U.fill(o.u, y * hw + (px >> 1), y * hw + ((px + o.w) >> 1));
        V.fill(o.v, y * hw + (px >> 1), y * hw + ((px + o.w) >> 1));
      }
    }
  }

  private renderOverlay(Y: Uint8Array): void {
    const o = this.overlay;
    if (!o) return;
    const W = this.width;
    const amp = Math.max(0, Math.min(64, o.noise ?? 0));
    for (let y = 0; y < o.sh; y++) {
      const dst = (o.y + y) * W + o.x;
      if (amp === 0) {
        Y.set(o.scaled.subarray(y * o.sw, (y + 1) * o.sw), dst);
        continue;
      }
      for (let x = 0; x < o.sw; x++) {
        const n = (this.rand() % (2 * amp + 1)) - amp;
        Y[dst + x] = Math.max(0, Math.min(255, o.scaled[y * o.sw + x]! + n));
      }
    }
  }

  private renderClock(Y: Uint8Array, index: number, captureTimeMs: number): void {
    const d = new Date(captureTimeMs);
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const text = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)} #${pad(index, 6)}`;
    const gw = 28;
    const gh = 48;
    const x0 = 32;
    const y0 = 32;
    const W = this.width;
    // A dark plate so the digits stay legible over the moving scene.
    for (let y = y0 - 8; y < y0 + gh + 8; y++) Y.fill(LUMA_BLACK, y * W + x0 - 8, y * W + x0 + text.length * (gw + 8) + 8);
    text.split('').forEach((ch, i) => drawGlyph(Y, W, x0 + i * (gw + 8), y0, gw, gh, ch));
  }

  private renderFrameCode(Y: Uint8Array, index: number): void {
    const index24 = index & 0xff_ffff;
    const value = ((index24 << 8) | frameCodeCheck(index24)) >>> 0;
    const { x, y } = frameCodeOrigin(this.height);
    const W = this.width;
    const cell = frameCodeCell(W);
    for (let bit = 0; bit < FRAME_CODE_BITS; bit++) {
      const on = (value >>> (FRAME_CODE_BITS - 1 - bit)) & 1;
      const cx = x + bit * cell;
      for (let yy = y; yy < y + cell; yy++) Y.fill(on ? LUMA_WHITE : LUMA_BLACK, yy * W + cx, yy * W + cx + cell);
    }
  }
}

function bounce(pos: number, span: number): number {
  const period = 2 * span;
  const p = ((Math.round(pos) % period) + period) % period;
  return p <= span ? p : period - p;
}

function drawGlyph(Y: Uint8Array, W: number, x: number, y: number, w: number, h: number, ch: string): void {
  const t = 5;
  const rect = (rx: number, ry: number, rw: number, rh: number) => {
    for (let yy = ry; yy < ry + rh; yy++) Y.fill(LUMA_WHITE, yy * W + rx, yy * W + rx + rw);
  };
  if (ch === ':') {
    rect(x + w / 2 - 3, y + h / 3, 6, 6);
    rect(x + w / 2 - 3, y + (2 * h) / 3, 6, 6);
    return;
  }
  if (ch === '.') return rect(x + w / 2 - 3, y + h - 6, 6, 6);
  if (ch === '#') {
    rect(x + 6, y + 8, t, h - 16);
    rect(x + w - 12, y + 8, t, h - 16);
    rect(x, y + h / 3, w, t);
    rect(x, y + (2 * h) / 3, w, t);
    return;
  }
  const s = SEGMENTS[ch] ?? 0;
  const half = Math.floor(h / 2);
  if (s & 0b1000000) rect(x, y, w, t); // a
  if (s & 0b0100000) rect(x + w - t, y, t, half); // b
  if (s & 0b0010000) rect(x + w - t, y + half, t, half); // c
  if (s & 0b0001000) rect(x, y + h - t, w, t); // d
  if (s & 0b0000100) rect(x, y + half, t, half); // e
  if (s & 0b0000010) rect(x, y, t, half); // f
  if (s & 0b0000001) rect(x, y + half - 2, w, t); // g
}

/** The synthetic camera as a CaptureSource. */
export class SyntheticSource implements CaptureSource {
  readonly info: SourceInfo;
  readonly scene: SyntheticScene;
  private readonly ring: Uint8Array[];
  private readonly options: Required<Omit<SyntheticOptions, 'maxFrames'>> & { maxFrames: number };
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(options: SyntheticOptions = {}) {
    const width = options.width ?? 1920;
    const height = options.height ?? 1080;
    const fps = options.fps ?? 30;
    if (!(fps > 0 && fps <= 120)) throw new SealcamError('E_CONFIG', `synthetic source: fps ${fps} outside (0, 120]`);
    this.options = { width, height, fps, realtime: options.realtime ?? false, clock: options.clock ?? systemClock, seed: options.seed ?? 1, maxFrames: options.maxFrames ?? Number.POSITIVE_INFINITY };
    this.scene = new SyntheticScene(width, height, this.options.seed);
    this.ring = Array.from({ length: RING_SIZE }, () => new Uint8Array(i420Size(width, height)));
    this.info = { output: 'raw', width, height, fps, description: `synthetic ${width}x${height}@${fps}${this.options.realtime ? ' (real time)' : ''}` };
  }

  async *units(): AsyncGenerator<RawFrame> {
    const { fps, realtime, clock, maxFrames } = this.options;
    const start = clock.now();
    for (let index = 0; index < maxFrames && !this.closed; index++) {
      const timestampUs = Math.round((index * 1e6) / fps);
      if (realtime) {
        const due = start + timestampUs / 1000;
        const wait = due - clock.now();
        if (wait > 0) await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (this.closed) return;
      }
      const captureTimeMs = realtime ? clock.now() : start + timestampUs / 1000;
      const data = this.ring[index % RING_SIZE]!;
      this.scene.render(data, index, captureTimeMs);
      yield { type: 'raw', data, index, timestampUs, captureTimeMs };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
  }
}
