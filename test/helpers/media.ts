/** Media checks with independent tools: ffprobe, and node-webcodecs' decoder over a mediabunny demux. */
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

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

/**
 * Plaintext at rest: none of `files` holds an H.264 start code (SPS, PPS, IDR), an MP4 box name
 * (outside the JSON files, where base64 could spell one by chance), or any of 400 windows of 24
 * bytes taken across `plainMp4`, the decrypted video.
 */
export async function assertCiphertextOnly(t: ExecutionContext, files: string[], plainMp4: Uint8Array): Promise<void> {
  const all = await Promise.all(files.map(async (f) => ({ f, bytes: await readFile(f) })));
  const stored = Buffer.concat(all.map((x) => x.bytes));
  const binary = Buffer.concat(all.filter((x) => !x.f.endsWith('.json')).map((x) => x.bytes));
  for (const pattern of [[0, 0, 0, 1, 0x67], [0, 0, 0, 1, 0x68], [0, 0, 1, 0x65], [0, 0, 0, 1, 0x65]]) t.is(stored.indexOf(Buffer.from(pattern)), -1, `start code ${Buffer.from(pattern).toString('hex')}`);
  for (const box of ['ftyp', 'moov', 'moof', 'mdat', 'avcC']) t.is(binary.indexOf(Buffer.from(box)), -1, `MP4 box ${box}`);
  let found = 0;
  for (let i = 0; i < 400; i++) {
    const at = Math.floor((i / 400) * (plainMp4.length - 24));
    if (stored.indexOf(Buffer.from(plainMp4.subarray(at, at + 24))) !== -1) found++;
  }
  t.is(found, 0, 'windows of the decrypted video found in the store');
}

/** Every file under `dir`, recursively. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
