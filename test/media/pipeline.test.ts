/**
 * The camera pipeline end to end: synthetic 1080p30 → node-webcodecs H.264 → CMAF segments →
 * sealed envelopes on disk; then the owner opens them, and ffprobe and node-webcodecs' decoder
 * check the MP4 that init + media segments make.
 */
import test from 'ava';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadBoard } from '../../src/device/board.js';
import { runAgent } from '../../src/device/agent.js';
import { DirectorySink } from '../../src/device/sink.js';
import { concatBytes, type OpenedSegment } from '../../src/protocol/index.js';
import { pairedDevice } from '../helpers/device.js';
import { decodeFrameCodes, ffprobe } from '../helpers/media.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

test('3 s of sim camera: every frame captured is in the owner\'s MP4, ffprobe and the decoder agree', async (t) => {
  const { dir, home, viewer } = await pairedDevice('pipeline');
  const out = join(dir, 'out');
  const board = await loadBoard('sim');
  const result = await runAgent({ board, home, sink: new DirectorySink(out), seconds: 3 });
  t.is(result.framesCaptured, 90);
  t.is(result.encoder!.dropped, 0);
  t.is(result.encoder!.encoded, 90);
  t.is(result.codec, 'avc1.42C028');
  t.is(result.segmentsSealed, 1 + 2); // init + two media segments (2 s + 1 s, the last FINAL)

  const files = (await readdir(out)).sort();
  const announcement = files.find((f) => f.startsWith('epoch-'))!;
  const view = viewer.cameras[0]!;
  view.addAnnouncement(new Uint8Array(await readFile(join(out, announcement))));
  const opened: OpenedSegment[] = [];
  for (const f of files.filter((f) => f.startsWith('seg-'))) opened.push(view.openSegment(new Uint8Array(await readFile(join(out, f)))));
  t.deepEqual(opened.map((o) => o.header.kind), ['init', 'media', 'media']);
  t.true(opened.at(-1)!.header.final);
  t.notThrows(() => view.stream.assertComplete());
  // A chunk per frame, plus the empty chunk that closes each segment.
  t.is(opened[1]!.header.chunkCount, 60 + 1);
  t.is(opened[1]!.header.durationMs, 2000);
  t.is(result.liveChunks, 90 + 2);

  const mp4 = concatBytes(...opened.map((o) => o.payload));
  const mp4Path = join(dir, 'owner.mp4');
  await writeFile(mp4Path, mp4);
  // node-webcodecs decodes every frame, in order, and each shows its own frame number.
  const codes = await decodeFrameCodes(mp4);
  t.deepEqual(codes, [...Array(90).keys()]);
  if (!requireTool(t, 'ffprobe (Debian ffmpeg)', toolWorks('ffprobe', ['-version']))) return;
  const probe = ffprobe(mp4Path);
  t.like(probe, { codec: 'h264', width: 1920, height: 1080, frames: 90 });
});

test('device run refuses to stream before the camera is paired', async (t) => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { DeviceHome } = await import('../../src/device/home.js');
  const home = await DeviceHome.open(join(await mkdtemp(join(tmpdir(), 'sealcam-unpaired-')), 'home'));
  const err = await t.throwsAsync(runAgent({ board: await loadBoard('sim'), home, sink: new DirectorySink(join(home.dir, 'out')), seconds: 1 }));
  t.is((err as { code?: string }).code, 'E_NOT_PAIRED');
  t.deepEqual(await readdir(home.dir).then((f) => f.filter((x) => x === 'out')), []);
});
