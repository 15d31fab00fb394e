/**
 * The optical half of pairing (DESIGN "Pairing", step 1–2): the owner's screen shows a QR code,
 * the camera reads it through its own lens.
 *
 * - Generate with `qrcode` at error-correction level M, version ≤ 10 (ISO/IEC 18004 §7.4 modes:
 *   our `SC1:` + base32 payloads fit the alphanumeric set, 5.5 bits a character).
 * - Scan with `jsqr` on the luma plane, box-downscaled by an integer factor first: jsQR costs
 *   126–208 ms on a 1080p frame but ~50 ms at 960×540, which still reads a code a quarter of the
 *   frame high (DESIGN field notes, jsQR). Dark-on-light only (`inversionAttempts: 'dontInvert'`).
 */
import QRCode from 'qrcode';
import jsQRModule, { type QRCode as JsQrResult } from 'jsqr';
import { SealcamError } from '../protocol/errors.js';
import { writeFileAtomic } from './atomic-file.js';

// jsqr is CommonJS with `export default` in its types: under NodeNext the function is `.default`.
const jsQR = jsQRModule.default;

export type QrMode = 'Numeric' | 'Alphanumeric' | 'Byte' | 'Kanji';

export interface QrMatrix {
  /** symbol version, 1..40 */
  readonly version: number;
  /** modules per side (17 + 4·version) */
  readonly size: number;
  /** size × size, row-major, 1 = dark */
  readonly modules: Uint8Array;
  /** the mode of each segment qrcode chose, in order */
  readonly modes: readonly QrMode[];
}

/** An 8-bit luma image, shaped to spread into `SyntheticScene.setOverlay`. */
export interface QrImage {
  readonly luma: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Corner and finder-pattern positions, in pixels of the frame that was scanned. */
export type QrLocation = JsQrResult['location'];

export interface QrScanResult {
  readonly text: string;
  readonly location: QrLocation;
}

export const QR_ERROR_CORRECTION = 'M';
export const QR_MAX_VERSION = 10;
const LUMA_DARK = 16;
const LUMA_LIGHT = 235;

/** Encode `text` at level M; refuses (E_CONFIG) a symbol larger than `maxVersion`. */
export function qrMatrix(text: string, { maxVersion = QR_MAX_VERSION }: { maxVersion?: number } = {}): QrMatrix {
  if (!Number.isInteger(maxVersion) || maxVersion < 1 || maxVersion > 40) {
    throw new SealcamError('E_CONFIG', `qr: maxVersion ${maxVersion} is not an integer in 1..40`);
  }
  let code: QRCode.QRCode;
  try {
    code = QRCode.create(text, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  } catch (e) {
    throw new SealcamError('E_CONFIG', `qr: ${text.length} characters do not fit any QR version at level M`, { cause: e });
  }
  if (code.version > maxVersion) {
    throw new SealcamError('E_CONFIG', `qr: ${text.length} characters need version ${code.version} at level M; at most ${maxVersion} allowed`);
  }
  const { size, data } = code.modules;
  return { version: code.version, size, modules: Uint8Array.from(data, (m) => (m ? 1 : 0)), modes: code.segments.map((s) => s.mode.id) };
}

/** The code as a phone screen shows it: dark 16 on light 235, `moduleSize` px a module, with a quiet zone. */
export function qrLuma(text: string, { moduleSize = 1, quietZone = 4, maxVersion = QR_MAX_VERSION }: { moduleSize?: number; quietZone?: number; maxVersion?: number } = {}): QrImage {
  if (!Number.isInteger(moduleSize) || moduleSize < 1) throw new SealcamError('E_CONFIG', `qr: moduleSize ${moduleSize} must be a positive integer`);
  if (!Number.isInteger(quietZone) || quietZone < 0) throw new SealcamError('E_CONFIG', `qr: quietZone ${quietZone} must be a non-negative integer`);
  const { size, modules } = qrMatrix(text, { maxVersion });
  const side = (size + 2 * quietZone) * moduleSize;
  const luma = new Uint8Array(side * side).fill(LUMA_LIGHT);
  for (let my = 0; my < size; my++) {
    for (let mx = 0; mx < size; mx++) {
      if (!modules[my * size + mx]) continue;
      const x0 = (mx + quietZone) * moduleSize;
      for (let y = (my + quietZone) * moduleSize, yEnd = y + moduleSize; y < yEnd; y++) luma.fill(LUMA_DARK, y * side + x0, y * side + x0 + moduleSize);
    }
  }
  return { luma, width: side, height: side };
}

/** Write the code as a PNG (for `sealcam owner pair --qr-png`), mode 0600. */
export async function writeQrPng(text: string, path: string, { maxVersion = QR_MAX_VERSION }: { maxVersion?: number } = {}): Promise<void> {
  const { version } = qrMatrix(text, { maxVersion });
  // The code carries the pairing secret and a provisioning token: mode 0600, written atomically.
  await writeFileAtomic(path, await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: QR_ERROR_CORRECTION, version, margin: 4, scale: 8 }), 0o600);
}

/**
 * The code as terminal text: half-block characters with explicit black-on-white ANSI colours, so
 * it reads the right way round on dark terminals too. Its quiet zone is one module (qrcode's
 * small renderer), which phone readers accept.
 */
export async function qrTerminal(text: string, { maxVersion = QR_MAX_VERSION }: { maxVersion?: number } = {}): Promise<string> {
  const { version } = qrMatrix(text, { maxVersion });
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: QR_ERROR_CORRECTION, version });
}

/**
 * Scans frames of one size. Owns its downscaled RGBA buffer, so a scanner on the camera's
 * pairing loop allocates nothing of its own per frame (jsQR still allocates internally).
 */
export class QrScanner {
  /** integer box-filter factor: the scanned image is width/factor × height/factor */
  readonly factor: number;
  private readonly sw: number;
  private readonly sh: number;
  private readonly rgba: Uint8ClampedArray;

  constructor(
    readonly width: number,
    readonly height: number,
    { downscaleTo = 960 }: { downscaleTo?: number } = {},
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 21 || height < 21) {
      throw new SealcamError('E_BAD_ARGUMENT', `qr scanner: ${width}x${height} is not an integer size of at least 21x21`);
    }
    if (!Number.isInteger(downscaleTo) || downscaleTo < 21) throw new SealcamError('E_BAD_ARGUMENT', `qr scanner: downscaleTo ${downscaleTo} must be an integer >= 21`);
    this.factor = Math.ceil(width / downscaleTo);
    this.sw = Math.floor(width / this.factor);
    this.sh = Math.floor(height / this.factor);
    this.rgba = new Uint8ClampedArray(this.sw * this.sh * 4).fill(255);
  }

  /** Scan an I420 frame or a bare luma plane (only the first width×height bytes are read). */
  scan(frame: Uint8Array): QrScanResult | null {
    const { width, factor: f, sw, sh, rgba } = this;
    if (frame.length < width * this.height) {
      throw new SealcamError('E_BAD_ARGUMENT', `qr scanner: frame has ${frame.length} bytes, a ${width}x${this.height} luma plane needs ${width * this.height}`);
    }
    const area = f * f;
    for (let y = 0; y < sh; y++) {
      for (let x = 0; x < sw; x++) {
        let sum = 0;
        for (let dy = 0; dy < f; dy++) {
          const row = (y * f + dy) * width + x * f;
          for (let dx = 0; dx < f; dx++) sum += frame[row + dx]!;
        }
        const o = (y * sw + x) * 4;
        rgba[o] = rgba[o + 1] = rgba[o + 2] = sum / area; // a clamped array rounds; alpha stays 255
      }
    }
    const found = jsQR(rgba, sw, sh, { inversionAttempts: 'dontInvert' });
    if (!found) return null;
    const scaleUp = (p: { x: number; y: number }) => ({ x: p.x * f, y: p.y * f });
    const location = Object.fromEntries(Object.entries(found.location).map(([k, p]) => [k, p && scaleUp(p)])) as QrLocation;
    return { text: found.data, location };
  }
}

/** One-shot scan; a loop over frames should keep a `QrScanner`. */
export function scanQr(frame: Uint8Array, width: number, height: number, options: { downscaleTo?: number } = {}): QrScanResult | null {
  return new QrScanner(width, height, options).scan(frame);
}

/** Scan a PNG file (a photo or screenshot of a code) at full resolution; null if none is found. */
export async function scanQrPng(path: string): Promise<QrScanResult | null> {
  const { readFile } = await import('node:fs/promises');
  const { PNG } = await import('pngjs');
  const bytes = await readFile(path); // a missing or unreadable file fails here with its errno
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new SealcamError('E_QR_FORMAT', `${path} is not a PNG image: give a PNG photo or screenshot of the code`, { cause: e });
  }
  const luma = new Uint8Array(png.width * png.height);
  for (let i = 0; i < luma.length; i++) luma[i] = (png.data[4 * i]! * 299 + png.data[4 * i + 1]! * 587 + png.data[4 * i + 2]! * 114) / 1000;
  return new QrScanner(png.width, png.height, { downscaleTo: Math.max(21, png.width) }).scan(luma);
}
