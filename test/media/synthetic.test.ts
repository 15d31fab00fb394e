import test from 'ava';
import { FRAME_CODE_BITS, SyntheticScene, SyntheticSource, readFrameCode } from '../../src/media/synthetic.js';
import { i420Size } from '../../src/media/source.js';
import { codeOf } from '../helpers/codes.js';

const W = 1920;
const H = 1080;

test('frames carry their own index in the frame code, and timestamps follow the frame rate', async (t) => {
  const source = new SyntheticSource({ maxFrames: 40, clock: { now: () => 1_700_000_000_000 } });
  t.like(source.info, { output: 'raw', width: W, height: H, fps: 30 });
  const seen: number[] = [];
  for await (const f of source.units()) {
    t.is(f.data.length, i420Size(W, H));
    t.is(readFrameCode(f.data, W, H), f.index);
    t.is(f.timestampUs, Math.round((f.index * 1e6) / 30));
    t.is(f.captureTimeMs, 1_700_000_000_000 + f.timestampUs / 1000);
    seen.push(f.index);
  }
  t.deepEqual(seen, [...Array(40).keys()]);
});

test('the scene really moves: consecutive frames differ across the picture, not only in the counter', (t) => {
  const scene = new SyntheticScene(W, H, 7);
  const a = new Uint8Array(i420Size(W, H));
  const b = new Uint8Array(i420Size(W, H));
  scene.render(a, 10, 0);
  scene.render(b, 11, 0);
  // Compare the middle of the picture, away from the clock and frame code.
  let changed = 0;
  for (let y = 200; y < 800; y += 4) for (let x = 0; x < W; x += 4) if (a[y * W + x] !== b[y * W + x]) changed++;
  const sampled = (600 / 4) * (W / 4);
  t.true(changed / sampled > 0.3, `only ${((100 * changed) / sampled).toFixed(1)} % of the picture changed`);
  // Texture: no flat gradient — many distinct luma values in a row.
  t.true(new Set(a.subarray(500 * W, 501 * W)).size > 60);
});

test('an overlay is drawn at its position and scale, with bounded noise', (t) => {
  const scene = new SyntheticScene(W, H, 3);
  const luma = new Uint8Array(4 * 4).map((_, i) => ((i + (i >> 2)) % 2 ? 0 : 255)); // a 4x4 checkerboard
  scene.setOverlay({ luma, width: 4, height: 4, x: 800, y: 300, scale: 10, noise: 8 });
  const f = new Uint8Array(i420Size(W, H));
  scene.render(f, 0, 0);
  for (let my = 0; my < 4; my++) {
    for (let mx = 0; mx < 4; mx++) {
      const v = f[(300 + my * 10 + 5) * W + 800 + mx * 10 + 5]!;
      const expected = luma[my * 4 + mx]!;
      t.true(Math.abs(v - expected) <= 8, `module ${mx},${my}: ${v} vs ${expected}`);
    }
  }
  t.is(codeOf(() => scene.setOverlay({ luma, width: 4, height: 4, x: 1900, y: 0, scale: 10 })), 'E_CONFIG');
  t.is(codeOf(() => scene.setOverlay({ luma, width: 5, height: 4, x: 0, y: 0, scale: 1 })), 'E_CONFIG');
  scene.setOverlay(null);
});

test('readFrameCode refuses pictures without a valid code', (t) => {
  t.is(readFrameCode(new Uint8Array(W * H), W, H), null);
  t.is(FRAME_CODE_BITS, 32);
});

test('bad synthetic settings are refused with E_CONFIG', (t) => {
  t.is(codeOf(() => new SyntheticSource({ width: 100, height: 100 })), 'E_CONFIG');
  t.is(codeOf(() => new SyntheticSource({ fps: 0 })), 'E_CONFIG');
});

test('a real-time source paces frames at its rate and stops promptly on close', async (t) => {
  const source = new SyntheticSource({ width: 640, height: 360, fps: 20, realtime: true });
  const t0 = Date.now();
  let n = 0;
  for await (const f of source.units()) {
    n++;
    if (f.index === 9) void source.close();
  }
  const elapsed = Date.now() - t0;
  t.is(n, 10);
  // 10 frames at 20 fps: frame 9 is due at 450 ms.
  t.true(elapsed >= 400, `took ${elapsed} ms`);
});
