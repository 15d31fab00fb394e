/**
 * Reading sealcam's fMP4 back (viewer side, Node and browser alike: no Node or mediabunny imports):
 * the codec, avcC and timescale of an init segment, and the samples of a chunk written by
 * ChunkWriter (layout in media/cmaf.ts). It lives in src/protocol, pure and importing nothing but
 * errors, because every viewer (the CLI, the page, the phone app) reads the payloads the protocol
 * carries with it (PROTOCOL.md §15.7), and src/app may import src/protocol only.
 */
import { SealcamError } from './errors.js';

export const SAMPLE_FLAGS_SYNC = 0x0200_0000;
export const SAMPLE_FLAGS_NON_SYNC = 0x0101_0000;

/** Find a nested box by path within [start, end) of `buf`; returns its payload range. */
export function findBox(buf: Uint8Array, start: number, end: number, path: string[]): { start: number; end: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let s = start;
  let e = end;
  for (const name of path) {
    let found: { start: number; end: number } | null = null;
    for (let off = s; off + 8 <= e; ) {
      const size = view.getUint32(off);
      const type = String.fromCharCode(buf[off + 4]!, buf[off + 5]!, buf[off + 6]!, buf[off + 7]!);
      if (size < 8 || off + size > e) break;
      if (type === name) {
        found = { start: off + 8, end: off + size };
        break;
      }
      off += size;
    }
    if (!found) throw new SealcamError('E_ENCODER', `init segment: box ${path.join('/')} not found`);
    s = found.start;
    e = found.end;
  }
  return { start: s, end: e };
}


export interface ParsedSample {
  /** AVCC (length-prefixed) access unit, as stored in the mdat */
  data: Uint8Array;
  key: boolean;
  /** decode = presentation time, microseconds */
  timestampUs: number;
  durationUs: number;
}

export interface InitInfo {
  codec: string;
  /** the avcC box payload: the decoder configuration record (ISO/IEC 14496-15 §5.3.3.1) */
  description: Uint8Array;
  timescale: number;
}

/** Codec string, avcC and timescale from an init segment (ftyp + moov). */
export function parseInitSegment(init: Uint8Array): InitInfo {
  const moov = findBox(init, 0, init.length, ['moov']);
  const trak = findBox(init, moov.start, moov.end, ['trak']);
  const mdhd = findBox(init, trak.start, trak.end, ['mdia', 'mdhd']);
  const view = new DataView(init.buffer, init.byteOffset, init.byteLength);
  const timescale = view.getUint32(mdhd.start + 4 + (init[mdhd.start] === 1 ? 16 : 8));
  const stsd = findBox(init, trak.start, trak.end, ['mdia', 'minf', 'stbl', 'stsd']);
  // stsd: version/flags(4) entry_count(4), then the avc1 sample entry: 8-byte box header, 78 bytes of VisualSampleEntry, then boxes.
  const avc1 = { start: stsd.start + 8 + 8, end: stsd.end };
  const avcC = findBox(init, avc1.start + 78, avc1.end, ['avcC']);
  const description = init.slice(avcC.start, avcC.end);
  const hex = (b: number) => b.toString(16).padStart(2, '0').toUpperCase();
  return { codec: `avc1.${hex(description[1]!)}${hex(description[2]!)}${hex(description[3]!)}`, description, timescale };
}

/** The samples of one chunk written by ChunkWriter (moof + mdat; see the table at the top). */
export function parseChunk(chunk: Uint8Array, timescale: number): ParsedSample[] {
  if (chunk.length === 0) return [];
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const moofSize = view.getUint32(0);
  const traf = findBox(chunk, 8, moofSize, ['traf']);
  const tfdt = findBox(chunk, traf.start, traf.end, ['tfdt']);
  const trun = findBox(chunk, traf.start, traf.end, ['trun']);
  let t = Number(view.getBigUint64(tfdt.start + 4));
  const count = view.getUint32(trun.start + 4);
  let dataAt = view.getUint32(trun.start + 8);
  const out: ParsedSample[] = [];
  for (let i = 0; i < count; i++) {
    const at = trun.start + 12 + 12 * i;
    const duration = view.getUint32(at);
    const size = view.getUint32(at + 4);
    const flags = view.getUint32(at + 8);
    if (dataAt + size > chunk.length) throw new SealcamError('E_BITSTREAM', 'chunk: sample runs past the end');
    out.push({ data: chunk.subarray(dataAt, dataAt + size), key: flags === SAMPLE_FLAGS_SYNC, timestampUs: Math.round((t * 1e6) / timescale), durationUs: Math.round((duration * 1e6) / timescale) });
    dataAt += size;
    t += duration;
  }
  return out;
}
