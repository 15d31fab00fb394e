/** Media checks with independent tools: ffprobe, and node-webcodecs' decoder over a mediabunny demux. */
import { spawnSync } from 'node:child_process';

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

export { decodeFrameCodes } from '../../src/owner/decode.js';
