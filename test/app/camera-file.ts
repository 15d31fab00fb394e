/**
 * A file Chromium plays as the phone's camera (`--use-file-for-fake-video-capture`): a viewer's
 * code, as the viewer's screen shows it (src/media/qr.ts), held in front of the lens. YUV4MPEG2,
 * 640x480, 4:2:0: the code centred on a grey background, two frames (Chromium loops the file).
 */
import { writeFile } from 'node:fs/promises';
import { qrLuma } from '../../src/media/qr.js';

const W = 640;
const H = 480;
const BACKGROUND = 180;
const NEUTRAL_CHROMA = 128;

export async function writeCodeCameraFile(text: string, path: string): Promise<void> {
  const code = qrLuma(text, { moduleSize: 5 });
  if (code.width > W || code.height > H) throw new Error(`camera file: a ${code.width}px code does not fit ${W}x${H}`);
  const y = new Uint8Array(W * H).fill(BACKGROUND);
  const x0 = (W - code.width) >> 1;
  const y0 = (H - code.height) >> 1;
  for (let r = 0; r < code.height; r++) y.set(code.luma.subarray(r * code.width, (r + 1) * code.width), (y0 + r) * W + x0);
  const chroma = new Uint8Array((W / 2) * (H / 2) * 2).fill(NEUTRAL_CHROMA);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma]);
  await writeFile(path, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\n`), frame, frame]));
}
