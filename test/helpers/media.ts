/** Media checks with independent tools: ffprobe, and node-webcodecs' decoder over a mediabunny demux. */
import { spawnSync } from 'node:child_process';
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from 'mediabunny';
import { VideoDecoder, EncodedVideoChunk, type VideoFrame } from 'node-webcodecs';
import { readFrameCode } from '../../src/media/synthetic.js';

export interface ProbeResult {
  codec: string;
  width: number;
  height: number;
  frames: number;
  profile: string;
}

/** ffprobe with -count_frames: decodes the whole file. */
export function ffprobe(path: string): ProbeResult {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames,profile', '-of', 'json', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  const s = (JSON.parse(r.stdout) as { streams: Record<string, string | number>[] }).streams[0]!;
  return { codec: String(s.codec_name), width: Number(s.width), height: Number(s.height), frames: Number(s.nb_read_frames), profile: String(s.profile) };
}

/** Decode every frame of an MP4 with node-webcodecs and read the synthetic frame code of each. */
export async function decodeFrameCodes(mp4: Uint8Array): Promise<(number | null)[]> {
  const input = new Input({ source: new BufferSource(mp4), formats: ALL_FORMATS });
  const track = await input.getPrimaryVideoTrack();
  if (!track) throw new Error('no video track');
  const config = await track.getDecoderConfig();
  if (!config) throw new Error('no decoder config');
  const codes: (number | null)[] = [];
  const pending: Promise<void>[] = [];
  let failure: Error | null = null;
  const decoder = new VideoDecoder({
    output: (frame: VideoFrame) => {
      const size = frame.allocationSize({ format: 'I420' } as never);
      const buf = new Uint8Array(size);
      pending.push(
        Promise.resolve(frame.copyTo(buf, { format: 'I420' } as never)).then(() => {
          codes.push(readFrameCode(buf, frame.codedWidth, frame.codedHeight));
          frame.close();
        }),
      );
    },
    error: (e: Error) => {
      failure = e;
    },
  });
  decoder.configure({ ...config, optimizeForLatency: true, hardwareAcceleration: 'prefer-software' } as never);
  const sink = new EncodedPacketSink(track);
  for await (const packet of sink.packets()) {
    decoder.decode(new EncodedVideoChunk({ type: packet.type, timestamp: Math.round(packet.timestamp * 1e6), duration: Math.round(packet.duration * 1e6), data: packet.data }));
  }
  await decoder.flush();
  await Promise.all(pending);
  decoder.close();
  if (failure) throw failure;
  return codes;
}
