/**
 * The optical half of pairing: qrcode makes the code, zbarimg (an independent reader) reads it
 * back, and the camera's scanner (jsQR on box-downscaled luma) finds it in rendered 1080p frames,
 * raw and after a real H.264 round trip.
 *
 * What the scanner can read at downscale 960 (measured with the version-9 pairing code, 53
 * modules, noise 12, many positions): it needs about 2.5 downscaled pixels a module, i.e. 5 frame
 * pixels a module, a code ~25 % of the frame height. At 4 frame pixels a module (~20 %) it reads
 * only when the modules happen to align with the 2×2 boxes (about half the positions); at ≤ 3
 * (≤ 15 %) almost never. Full resolution reads small codes but costs seconds a frame here.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VideoFrame } from 'node-webcodecs';
import { EncodedVideoChunk, VideoDecoder } from '../../src/media/webcodecs.js';
import { H264Encoder, type EncodedOutput } from '../../src/media/encoder.js';
import { QrScanner, qrLuma, qrMatrix, qrTerminal, scanQr, writeQrPng } from '../../src/media/qr.js';
import { SyntheticScene } from '../../src/media/synthetic.js';
import { codeOf } from '../helpers/codes.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

const W = 1920;
const H = 1080;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A pairing-shaped payload from a seeded generator, so every run encodes the same symbol. */
function payload(chars: number, seed = 1): string {
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8;
  return 'SC1:' + Array.from({ length: chars }, () => BASE32[next() % 32]).join('');
}
const TEXT = payload(230);

/** Render one I420 frame with the code held in front of the lens (scale = frame px a module). */
function frameWithCode(scale: number, x: number, y: number, index = 0): Uint8Array {
  const scene = new SyntheticScene(W, H, 7);
  scene.setOverlay({ ...qrLuma(TEXT), x, y, scale, noise: 12 });
  const frame = new Uint8Array((W * H * 3) / 2);
  scene.render(frame, index, Date.now());
  return frame;
}

const hasZbar = toolWorks('zbarimg', ['--version']);

test('a pairing payload fits version <= 10 at level M in alphanumeric mode; 500 characters are refused', (t) => {
  const m = qrMatrix(TEXT);
  t.is(TEXT.length, 234);
  t.true(m.version <= 10, `version ${m.version}`);
  t.is(m.size, 17 + 4 * m.version);
  t.is(m.modules.length, m.size * m.size);
  t.true(m.modules.every((b) => b === 0 || b === 1));
  t.deepEqual(m.modes, ['Alphanumeric']);
  t.is(codeOf(() => qrMatrix(payload(500))), 'E_CONFIG');
  t.throws(() => qrMatrix(payload(500)), { message: /version 1[1-9].*at most 10/ });
  t.is(codeOf(() => qrLuma(TEXT, { moduleSize: 0 })), 'E_CONFIG');
});

test('zbarimg reads the PNG from writeQrPng and the qrLuma image back to exactly the text', async (t) => {
  if (!requireTool(t, 'zbarimg (Debian zbar-tools)', hasZbar)) return;
  const dir = mkdtempSync(join(tmpdir(), 'sealcam-qr-'));
  try {
    const png = join(dir, 'pair.png');
    await writeQrPng(TEXT, png);
    const img = qrLuma(TEXT, { moduleSize: 4 });
    const pgm = join(dir, 'pair.pgm');
    writeFileSync(pgm, Buffer.concat([Buffer.from(`P5\n${img.width} ${img.height}\n255\n`), img.luma]));
    for (const file of [png, pgm]) {
      const r = spawnSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' });
      t.is(r.status, 0, `${file}: ${r.stderr}`);
      t.is(r.stdout, `${TEXT}\n`, file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the terminal rendering is the same code: parsed back from its half-blocks, it scans', async (t) => {
  const out = await qrTerminal(TEXT);
  // Rebuild the module grid: each character is two rows; '▀'/'▄' are dark only in black ink.
  const rows: number[][] = [];
  for (const line of out.split('\n')) {
    const top: number[] = [];
    const bottom: number[] = [];
    let blackInk = true;
    for (const [, sgr, ch] of line.matchAll(/\x1b\[(\d+)m|(.)/gu)) {
      if (sgr === '30' || sgr === '37') blackInk = sgr === '30';
      if (ch === undefined) continue;
      top.push(ch === '█' || (ch === '▀' && blackInk) ? 1 : 0);
      bottom.push(ch === '█' || (ch === '▄' && blackInk) ? 1 : 0);
    }
    if (top.length) rows.push(top, bottom);
  }
  const m = qrMatrix(TEXT);
  const side = m.size + 8;
  const luma = new Uint8Array(side * side).fill(235);
  rows.forEach((r, y) => r.forEach((dark, x) => dark && y + 3 < side && x + 3 < side && (luma[(y + 3) * side + x + 3] = 16)));
  t.true(rows.length >= m.size + 2 && rows.length <= m.size + 4, `${rows.length} rows for ${m.size} modules`);
  t.is(scanQr(luma, side, side)?.text, TEXT);
});

test('the camera reads a code ~25% of the 1080p frame high, with noise, at several positions', (t) => {
  const { size } = qrMatrix(TEXT);
  const scale = Math.round((0.25 * H) / size); // 5 px a module: 265 px of symbol
  const side = qrLuma(TEXT).width * scale;
  const scanner = new QrScanner(W, H);
  t.is(scanner.factor, 2);
  // Odd positions, so modules straddle the 2x2 boxes as they would through a real lens.
  for (const [x, y] of [[827, 407], [W - side - 1, 101], [1, H - side - 101]] as const) {
    const found = scanner.scan(frameWithCode(scale, x, y));
    t.is(found?.text, TEXT, `code at (${x},${y})`);
    const tl = found!.location.topLeftCorner;
    // Reported in frame pixels: the symbol's corner is one quiet zone in from the overlay's.
    t.true(Math.abs(tl.x - (x + 4 * scale)) < 3 * scale && Math.abs(tl.y - (y + 4 * scale)) < 3 * scale, JSON.stringify(tl));
  }
});

test('a frame without a code gives null, and so does a code ~10% high at downscale 960', (t) => {
  const scanner = new QrScanner(W, H);
  const empty = new Uint8Array((W * H * 3) / 2);
  new SyntheticScene(W, H, 7).render(empty, 0, Date.now());
  t.is(scanner.scan(empty), null);
  // 2 px a module (106 px of symbol): 1 px a module after downscaling, which blurs away.
  const small = frameWithCode(2, 901, 501);
  t.is(scanner.scan(small), null);
  // Full resolution reads it, at a cost (see the timing test).
  t.is(scanQr(small, W, H, { downscaleTo: W })?.text, TEXT);
  t.is(codeOf(() => scanner.scan(new Uint8Array(W * H - 1))), 'E_BAD_ARGUMENT');
  t.is(codeOf(() => new QrScanner(W, H, { downscaleTo: 0 })), 'E_BAD_ARGUMENT');
});

test('the code survives a real H.264 round trip (node-webcodecs, 4 Mbit/s)', async (t) => {
  const frames = [0, 1, 2, 3].map((i) => frameWithCode(5, 827, 407, i));
  const units: EncodedOutput[] = [];
  const encoder = new H264Encoder({ width: W, height: H, fps: 30, bitrate: 4_000_000, keyframeIntervalUs: 2_000_000 }, (u) => units.push(u));
  for (const [index, data] of frames.entries()) {
    await encoder.waitForRoom();
    encoder.encode({ type: 'raw', data, index, timestampUs: Math.round((index * 1e6) / 30), captureTimeMs: 0 });
  }
  await encoder.flush();
  const codec = encoder.codecString!;
  encoder.close();

  const decoded: Promise<Uint8Array>[] = [];
  const decoder = new VideoDecoder({
    output: (frame: VideoFrame) => {
      const buf = new Uint8Array(frame.allocationSize({ format: 'I420' } as never));
      decoded.push(Promise.resolve(frame.copyTo(buf, { format: 'I420' } as never)).then(() => (frame.close(), buf)));
    },
    error: (e: Error) => t.fail(e.message),
  });
  decoder.configure({ codec, codedWidth: W, codedHeight: H, optimizeForLatency: true, hardwareAcceleration: 'prefer-software' } as never);
  for (const u of units) decoder.decode(new EncodedVideoChunk({ type: u.key ? 'key' : 'delta', timestamp: u.timestampUs, data: u.data }));
  await decoder.flush();
  decoder.close();
  const pictures = await Promise.all(decoded);
  t.is(pictures.length, frames.length);
  const scanner = new QrScanner(W, H);
  for (const [i, picture] of pictures.entries()) t.is(scanner.scan(picture)?.text, TEXT, `decoded frame ${i}`);
});

test('scan time per 1080p frame at downscale 960 (measured, not asserted)', (t) => {
  const scanner = new QrScanner(W, H);
  const withCode = frameWithCode(5, 827, 407);
  const without = new Uint8Array((W * H * 3) / 2);
  new SyntheticScene(W, H, 7).render(without, 0, Date.now());
  const median = (frame: Uint8Array) => {
    const ms: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      scanner.scan(frame);
      ms.push(performance.now() - t0);
    }
    return ms.sort((a, b) => a - b)[3]!;
  };
  scanner.scan(withCode); // warm up
  const hit = median(withCode);
  const miss = median(without);
  t.log(`scan 1920x1080 -> 960x540: ${hit.toFixed(1)} ms with a code, ${miss.toFixed(1)} ms without (median of 7)`);
  t.true(hit > 0 && miss > 0);
});
