/**
 * A canvas's luma (BT.601), base64, for tests that read the synthetic camera's frame number back
 * in Node (readFrameCode in src/media/synthetic.ts): the page itself never decodes it.
 */
export function canvasLuma(c: HTMLCanvasElement): { width: number; height: number; luma: string } {
  const img = c.getContext('2d', { willReadFrequently: true })!.getImageData(0, 0, c.width, c.height).data;
  const luma = new Uint8Array(c.width * c.height);
  for (let i = 0; i < luma.length; i++) luma[i] = (img[4 * i]! * 66 + img[4 * i + 1]! * 129 + img[4 * i + 2]! * 25 + 4096) >> 8;
  let s = '';
  for (let i = 0; i < luma.length; i += 8192) s += String.fromCharCode(...luma.subarray(i, i + 8192));
  return { width: c.width, height: c.height, luma: btoa(s) };
}
