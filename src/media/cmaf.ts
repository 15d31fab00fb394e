/**
 * fMP4 for sealcam: one init segment, then CMAF chunks (ISO/IEC 14496-12 §8.8, ISO/IEC 23000-19).
 *
 * The init segment (ftyp + moov with avcC and mvex) comes from mediabunny, built from the first
 * keyframe. The media chunks are written here, because mediabunny 1.61 starts a fragment only at a
 * keyframe (isobmff-muxer.js, addSampleToTrack) and live view needs chunks far shorter than a GOP.
 * A media segment is a run of chunks that starts at a keyframe; a chunk may start anywhere.
 *
 * One chunk = moof + mdat, every field explicit so no trex default matters:
 *
 *   off  size  box / field
 *   0    4     moof size                    = 8 + 16 + (8 + 16 + 20 + trunSize)
 *   4    4     'moof'
 *   8    16    mfhd: size 16, 'mfhd', version 0 flags 0, sequence_number (1, 2, …)     §8.8.5
 *   24   4     traf size
 *   28   4     'traf'
 *   32   16    tfhd: size 16, 'tfhd', version 0, flags 0x020000 (default-base-is-moof),
 *                    track_ID                                                         §8.8.7
 *   48   20    tfdt: size 20, 'tfdt', version 1, flags 0, baseMediaDecodeTime (u64)    §8.8.12
 *   68   ..    trun: size, 'trun', version 0, flags 0x000701 (data-offset, sample-duration,
 *                    sample-size, sample-flags), sample_count, data_offset (from moof start
 *                    to the first sample byte), then per sample: duration, size, flags   §8.8.8
 *   ..   8     mdat size, 'mdat'                                                        §8.1.1
 *   ..   ..    samples: AVCC (4-byte length-prefixed NAL units), parameter sets removed
 *
 * sample_flags (§8.8.3.1): keyframe 0x02000000 (depends on no other sample, sync);
 * other frames 0x01010000 (depends on others, non-sync).
 */
import { BufferTarget, EncodedPacket, EncodedVideoPacketSource, Mp4OutputFormat, Output } from 'mediabunny';
import { SealcamError } from '../protocol/errors.js';
import { annexBToLengthPrefixed } from './annexb.js';
import { SAMPLE_FLAGS_SYNC, SAMPLE_FLAGS_NON_SYNC, findBox } from '../protocol/cmaf-read.js';
export { parseChunk, parseInitSegment, type InitInfo, type ParsedSample } from '../protocol/cmaf-read.js';

const TRUN_FLAGS = 0x000701;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

export interface InitSegment {
  /** ftyp + moov */
  bytes: Uint8Array;
  /** media timescale of the video track (mdhd), ticks per second */
  timescale: number;
  trackId: number;
  codec: string;
  width: number;
  height: number;
}

/** Build the init segment from the stream's first keyframe (Annex-B, with SPS and PPS). */
export async function buildInitSegment(firstKey: Uint8Array, video: { codec: string; width: number; height: number; fps: number }): Promise<InitSegment> {
  const boxes: Uint8Array[] = [];
  const output = new Output({
    format: new Mp4OutputFormat({
      fastStart: 'fragmented',
      onFtyp: (data) => boxes.push(data.slice()),
      onMoov: (data) => boxes.push(data.slice()),
    }),
    target: new BufferTarget(),
  });
  const source = new EncodedVideoPacketSource('avc');
  output.addVideoTrack(source, { frameRate: video.fps });
  await output.start();
  await source.add(new EncodedPacket(firstKey, 'key', 0, 1 / video.fps), {
    decoderConfig: {
      codec: video.codec,
      codedWidth: video.width,
      codedHeight: video.height,
      // node-webcodecs reports sRGB for I420 input, which is wrong; the camera sends BT.709 video range.
      colorSpace: { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709', fullRange: false },
    },
  });
  await output.finalize();
  if (boxes.length !== 2) throw new SealcamError('E_ENCODER', `init segment: expected ftyp and moov from the muxer, got ${boxes.length} boxes`);
  const bytes = new Uint8Array(boxes[0]!.length + boxes[1]!.length);
  bytes.set(boxes[0]!, 0);
  bytes.set(boxes[1]!, boxes[0]!.length);
  const moov = boxes[1]!;
  const trak = findBox(moov, 8, moov.length, ['trak']);
  const tkhd = findBox(moov, trak.start, trak.end, ['tkhd']);
  const mdhd = findBox(moov, trak.start, trak.end, ['mdia', 'mdhd']);
  findBox(moov, 8, moov.length, ['mvex', 'trex']); // fragments need it
  const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);
  const tkhdVersion = moov[tkhd.start]!;
  const trackId = view.getUint32(tkhd.start + 4 + (tkhdVersion === 1 ? 16 : 8));
  const mdhdVersion = moov[mdhd.start]!;
  const timescale = view.getUint32(mdhd.start + 4 + (mdhdVersion === 1 ? 16 : 8));
  return { bytes, timescale, trackId, codec: video.codec, width: video.width, height: video.height };
}

export interface ChunkSample {
  /** Annex-B access unit */
  data: Uint8Array;
  key: boolean;
  /** presentation = decode time (no B-frames), microseconds from the start of the stream */
  timestampUs: number;
  /** microseconds */
  durationUs: number;
}

/** Writes moof+mdat chunks for one track; sequence numbers continue across calls. */
export class ChunkWriter {
  private sequence = 0;
  constructor(private readonly init: Pick<InitSegment, 'timescale' | 'trackId'>) {}

  write(samples: ChunkSample[]): Uint8Array {
    if (samples.length === 0) throw new SealcamError('E_BAD_ARGUMENT', 'chunk: at least one sample');
    const ts = this.init.timescale;
    const payloads = samples.map((s) => annexBToLengthPrefixed(s.data, { dropParameterSets: true }));
    const trunSize = 20 + 12 * samples.length;
    const trafSize = 8 + 16 + 20 + trunSize;
    const moofSize = 8 + 16 + trafSize;
    const mdatSize = 8 + payloads.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(moofSize + mdatSize);
    const v = new DataView(out.buffer);
    let o = 0;
    const box = (size: number, type: string) => {
      v.setUint32(o, size);
      for (let i = 0; i < 4; i++) out[o + 4 + i] = type.charCodeAt(i);
      o += 8;
    };
    const u32 = (x: number) => {
      v.setUint32(o, x);
      o += 4;
    };
    box(moofSize, 'moof');
    box(16, 'mfhd');
    u32(0);
    u32(++this.sequence);
    box(trafSize, 'traf');
    box(16, 'tfhd');
    u32(TFHD_DEFAULT_BASE_IS_MOOF);
    u32(this.init.trackId);
    box(20, 'tfdt');
    u32(0x0100_0000); // version 1, flags 0
    v.setBigUint64(o, BigInt(Math.round((samples[0]!.timestampUs * ts) / 1e6)));
    o += 8;
    box(trunSize, 'trun');
    u32(TRUN_FLAGS);
    u32(samples.length);
    u32(moofSize + 8);
    samples.forEach((s, i) => {
      u32(Math.max(1, Math.round((s.durationUs * ts) / 1e6)));
      u32(payloads[i]!.length);
      u32(s.key ? SAMPLE_FLAGS_SYNC : SAMPLE_FLAGS_NON_SYNC);
    });
    box(mdatSize, 'mdat');
    for (const p of payloads) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

