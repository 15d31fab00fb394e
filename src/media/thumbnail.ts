/**
 * An event's thumbnail (PROTOCOL.md §16): the frame with the most motion, scaled down to at most
 * 320 pixels wide (nearest neighbour from I420, BT.601 to RGB) and written as PNG. PNG rather than
 * an H.264 keyframe: it needs no second encoder on a small board, any viewer (a browser's <img>,
 * an OS preview) shows it without a video decoder, and it is made once per event, not per frame.
 */
import type { RawFrame } from './source.js';

export const THUMBNAIL_MAX_WIDTH = 320;

export async function thumbnailPng(frame: RawFrame, width: number, height: number, maxWidth = THUMBNAIL_MAX_WIDTH): Promise<Uint8Array> {
  const { PNG } = await import('pngjs'); // loaded at the first event, not at every start
  const tw = Math.min(maxWidth, width);
  const th = Math.max(1, Math.round((height * tw) / width));
  const png = new PNG({ width: tw, height: th, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  const rgb = Buffer.alloc(tw * th * 3);
  const y = frame.data;
  const u0 = width * height;
  const v0 = u0 + (width >> 1) * (height >> 1);
  const cw = width >> 1;
  for (let ty = 0; ty < th; ty++) {
    const sy = Math.min(height - 1, Math.floor((ty * height) / th));
    for (let tx = 0; tx < tw; tx++) {
      const sx = Math.min(width - 1, Math.floor((tx * width) / tw));
      const Y = y[sy * width + sx]! - 16;
      const c = (sy >> 1) * cw + (sx >> 1);
      const U = y[u0 + c]! - 128;
      const V = y[v0 + c]! - 128;
      const o = (ty * tw + tx) * 3;
      rgb[o] = clamp((298 * Y + 409 * V + 128) >> 8);
      rgb[o + 1] = clamp((298 * Y - 100 * U - 208 * V + 128) >> 8);
      rgb[o + 2] = clamp((298 * Y + 516 * U + 128) >> 8);
    }
  }
  png.data = rgb;
  return new Uint8Array(PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
