/**
 * H.264 passthrough, as on boards whose hardware encoder does the work (rpicam-vid --codec h264):
 * the board profile's capture command produces Annex-B, node-webcodecs is skipped, and the
 * segments still open into an MP4 that ffprobe counts frame for frame. ffmpeg's libx264 plays the
 * hardware encoder here (no B-frames, as on the Pi's encoder).
 */
import test from 'ava';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBoardProfile, loadBoard } from '../../src/device/board.js';
import { runAgent } from '../../src/device/agent.js';
import { DirectorySink } from '../../src/device/sink.js';
import { concatBytes } from '../../src/protocol/index.js';
import { pairedDevice } from '../helpers/device.js';
import { ffprobe } from '../helpers/media.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

test('a board whose camera outputs H.264 is passed through, segmented on its own GOPs and sealed', async (t) => {
  if (!requireTool(t, 'ffmpeg (Debian ffmpeg)', toolWorks('ffmpeg', ['-version']))) return;
  const sim = await loadBoard('sim');
  const board = parseBoardProfile(
    {
      ...sim,
      name: 'test-hw-h264',
      capture: {
        driver: 'process',
        format: 'h264',
        command: ['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-frames:v', '150', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-f', 'h264', '-'],
      },
      encoder: { strategy: 'passthrough' },
      video: { ...sim.video, width: 1280, height: 720 },
    },
    'test board',
  );
  const { dir, home, viewer } = await pairedDevice('passthrough');
  const out = join(dir, 'out');
  const result = await runAgent({ board, home, sink: new DirectorySink(out), seconds: 60 });
  t.is(result.encoder, null, 'node-webcodecs was not used');
  t.is(result.framesCaptured, 150);
  t.is(result.segmenter.frames, 150);
  t.is(result.segmentsSealed, 1 + 3);

  const files = (await readdir(out)).sort();
  const view = viewer.cameras[0]!;
  view.addAnnouncement(new Uint8Array(await readFile(join(out, files.find((f) => f.startsWith('epoch-'))!))));
  const opened = [];
  for (const f of files.filter((x) => x.startsWith('seg-'))) opened.push(view.openSegment(new Uint8Array(await readFile(join(out, f)))));
  t.deepEqual(opened.slice(1).map((o) => o.header.durationMs), [2000, 2000, 1000]);
  const path = join(dir, 'passthrough.mp4');
  await writeFile(path, concatBytes(...opened.map((o) => o.payload)));
  t.like(ffprobe(path), { codec: 'h264', width: 1280, height: 720, frames: 150 });
});
