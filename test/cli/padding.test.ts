/**
 * `device run --pad` (PROTOCOL.md §6.5) as a user runs it: the sealed files the relay would store
 * show only buckets, and the owner still gets a playable file out of them.
 */
import test from 'ava';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SEAL_BYTES, STANDARD_PADDING, concatBytes, parseEnvelope } from '../../src/protocol/index.js';
import { pairedDevice } from '../helpers/device.js';
import { sealcam } from '../helpers/cli.js';
import { ffprobe } from '../helpers/media.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

test('device run --pad standard: every body is a multiple of 64 KiB, every chunk a bucket, and the owner plays it', async (t) => {
  const { dir, home, viewer } = await pairedDevice('cli-pad');
  const out = join(dir, 'out');
  const r = await sealcam('device', 'run', '--board', 'sim', '--home', home.dir, '--out', out, '--seconds', '2.5', '--pad', 'standard', '--json');
  t.is(r.code, 0, r.stderr);
  const files = (await readdir(out)).sort();
  const view = viewer.cameras[0]!;
  view.addAnnouncement(new Uint8Array(await readFile(join(out, files.find((f) => f.startsWith('epoch-'))!))));
  const parts: Uint8Array[] = [];
  const segments = files.filter((f) => f.startsWith('seg-'));
  t.true(segments.length >= 3, `${segments.length} segments`);
  for (const f of segments) {
    const envelope = new Uint8Array(await readFile(join(out, f)));
    const body = envelope.length - SEAL_BYTES;
    t.is(body % STANDARD_PADDING.segmentMultiple, 0, `${f}: body ${body} is a multiple of ${STANDARD_PADDING.segmentMultiple}`);
    // Every frame but the last (which fills up the segment multiple) is a bucket.
    const { chunkCount } = parseEnvelope(envelope).header;
    let at = SEAL_BYTES;
    for (let i = 0; i < chunkCount - 1; i++) {
      const ct = new DataView(envelope.buffer, envelope.byteOffset + at, 4).getUint32(0);
      t.true(STANDARD_PADDING.chunkBuckets.includes(ct) || ct % 262144 === 0, `${f} chunk ${i}: ct ${ct} is a bucket`);
      at += 4 + ct;
    }
    parts.push(view.openSegment(envelope).payload);
  }
  view.stream.assertComplete();
  if (!requireTool(t, 'ffprobe (Debian ffmpeg)', toolWorks('ffprobe', ['-version']))) return;
  const path = join(dir, 'owner.mp4');
  await writeFile(path, concatBytes(...parts));
  t.like(ffprobe(path), { codec: 'h264', width: 1920, height: 1080, frames: 75 });
});

test('device run --pad with a bad policy is E_CONFIG before anything is captured', async (t) => {
  const { dir, home } = await pairedDevice('cli-pad-bad');
  const out = join(dir, 'out');
  const r = await sealcam('device', 'run', '--board', 'sim', '--home', home.dir, '--out', out, '--seconds', '1', '--pad', 'chunks=4K,1K');
  t.not(r.code, 0);
  t.regex(r.stderr, /E_CONFIG/);
  t.notRegex(r.stderr, /^\s+at /m);
  t.is((await readdir(out).catch(() => [])).length, 0, 'nothing written');
});
