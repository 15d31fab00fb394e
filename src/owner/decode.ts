/**
 * Decode an MP4 the viewer assembled, frame by frame, with node-webcodecs (demuxed by mediabunny),
 * to prove what the owner gets is playable — and, for the synthetic camera, which frames they are
 * (each carries its frame number as a code in its pixels).
 */
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from 'mediabunny';
import type { VideoFrame } from 'node-webcodecs';
import { EncodedVideoChunk, VideoDecoder, flushAll } from '../media/webcodecs.js';
import { readFrameCode } from '../media/synthetic.js';

/** Decode every frame; returns each frame's synthetic frame code (null where there is none). */
export async function decodeFrameCodes(mp4: Uint8Array): Promise<(number | null)[]> {
  const input = new Input({ source: new BufferSource(mp4), formats: ALL_FORMATS });
  const track = await input.getPrimaryVideoTrack();
  if (!track) throw new Error('no video track');
  const config = await track.getDecoderConfig();
  if (!config) throw new Error('no decoder config');
  const codes: (number | null)[] = [];
  const pending: Promise<void>[] = [];
  let failure: Error | null = null;
  let submitted = 0;
  let outputs = 0;
  const decoder = new VideoDecoder({
    output: (frame: VideoFrame) => {
      outputs++;
      const buf = new Uint8Array(frame.allocationSize({ format: 'I420' } as never));
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
  for await (const packet of new EncodedPacketSink(track).packets()) {
    decoder.decode(new EncodedVideoChunk({ type: packet.type, timestamp: Math.round(packet.timestamp * 1e6), duration: Math.round(packet.duration * 1e6), data: packet.data }));
    submitted++;
  }
  await flushAll(decoder, () => outputs >= submitted || failure !== null);
  await Promise.all(pending);
  decoder.close();
  if (failure) throw failure;
  return codes;
}
