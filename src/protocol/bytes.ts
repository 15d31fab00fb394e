/** Byte helpers shared by every wire format. All integers on the wire are big-endian. */
import { SealcamError, ensure } from './errors.js';

export const MAX_U32 = 0xffff_ffff;

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function asciiBytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string, expectedLength?: number, what = 'hex'): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) {
    throw new SealcamError('E_BAD_ARGUMENT', `${what}: expected hex, got ${JSON.stringify(hex.slice(0, 16))}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new SealcamError('E_BAD_ARGUMENT', `${what}: expected ${expectedLength} bytes, got ${out.length}`);
  }
  return out;
}

/** Constant-time equality for secrets and MACs; lengths are public. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]!;
  return acc === 0;
}

/** Overwrite a secret in place. */
export function wipe(a: Uint8Array): void {
  a.fill(0);
}

/** Sequential big-endian writer over a fixed-size buffer. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private off = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  private range(v: number, max: number, what: string): void {
    ensure(Number.isInteger(v) && v >= 0 && v <= max, 'E_BAD_ARGUMENT', `${what} field: expected an integer in 0..${max}, got ${v}`);
  }
  u8(v: number): this {
    this.range(v, 0xff, 'u8');
    this.view.setUint8(this.off, v);
    this.off += 1;
    return this;
  }
  u16(v: number): this {
    this.range(v, 0xffff, 'u16');
    this.view.setUint16(this.off, v);
    this.off += 2;
    return this;
  }
  u32(v: number): this {
    this.range(v, MAX_U32, 'u32');
    this.view.setUint32(this.off, v);
    this.off += 4;
    return this;
  }
  /** u64 limited to JavaScript's safe integers (2^53 - 1). */
  u64(v: number): this {
    ensure(Number.isSafeInteger(v) && v >= 0, 'E_BAD_ARGUMENT', `u64 field: expected a safe non-negative integer, got ${v}`);
    this.view.setBigUint64(this.off, BigInt(v));
    this.off += 8;
    return this;
  }
  raw(b: Uint8Array, length = b.length): this {
    ensure(b.length === length, 'E_BAD_ARGUMENT', `raw field: expected ${length} bytes, got ${b.length}`);
    this.bytes.set(b, this.off);
    this.off += b.length;
    return this;
  }
  /** Returns the buffer, checking that exactly `size` bytes were written. */
  done(): Uint8Array {
    ensure(this.off === this.bytes.length, 'E_BAD_ARGUMENT', `writer: wrote ${this.off} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

/** Sequential big-endian reader; any read past the end is `E_MALFORMED` naming `what`. */
export class ByteReader {
  private readonly view: DataView;
  private off = 0;

  constructor(
    readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.off;
  }
  get remaining(): number {
    return this.bytes.length - this.off;
  }

  private need(n: number): void {
    if (this.remaining < n) {
      throw new SealcamError('E_MALFORMED', `${this.what}: truncated at byte ${this.off}, needed ${n} more, have ${this.remaining}`);
    }
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.off++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new SealcamError('E_MALFORMED', `${this.what}: u64 at byte ${this.off - 8} exceeds 2^53-1`);
    }
    return Number(v);
  }
  /** A copy of the next `n` bytes. */
  raw(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
  /** A view (no copy) of the next `n` bytes. */
  view_(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  rest(): Uint8Array {
    return this.view_(this.remaining);
  }
  end(): void {
    if (this.remaining !== 0) {
      throw new SealcamError('E_MALFORMED', `${this.what}: ${this.remaining} unexpected trailing bytes at byte ${this.off}`);
    }
  }
}
