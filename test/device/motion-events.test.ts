/**
 * Motion events end to end on the camera (issue 14, PROTOCOL.md §16): the sim camera sees a quiet
 * room for 10 s, then a rectangle crosses it for 4 s, then quiet again. The agent seals exactly one
 * event, between its media segments, with the right times and seq range, and a thumbnail that
 * decodes; the owner opens it like any segment and cuts a playable clip from its seq range.
 */
import test from 'ava';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { concatBytes, decodeEvent, encodeEvent } from '../../src/protocol/index.js';
import { loadBoard } from '../../src/device/board.js';
import { runAgent } from '../../src/device/agent.js';
import { DirectorySink } from '../../src/device/sink.js';
import { pairedDevice } from '../helpers/device.js';
import { ffprobe } from '../helpers/media.js';
import { requireTool, toolWorks } from '../helpers/tools.js';
import { codeOf } from '../helpers/codes.js';

const FPS = 30;

test('quiet 10 s, a rectangle for 4 s, quiet again: one sealed event with its times, seq range and a thumbnail; its clip plays', async (t) => {
  const { dir, home, viewer } = await pairedDevice('motion');
  const out = join(dir, 'out');
  const sink = new DirectorySink(out);
  const result = await runAgent({
    board: await loadBoard('sim'),
    home,
    sink,
    seconds: 18,
    video: { width: 640, height: 360, bitrate: 600_000, segmentSeconds: 2 },
    // At 640x360 the burned-in clock covers more than the minimum area: leave it out.
    scene: { intruderFromFrame: 10 * FPS, intruderUntilFrame: 14 * FPS, osd: false },
    motion: {},
  });
  t.is(result.eventsSealed, 1, `events sealed: ${result.eventsSealed}`);

  const files = (await readdir(out)).sort();
  const view = viewer.cameras[0]!;
  for (const f of files.filter((x) => x.startsWith('epoch-'))) view.addAnnouncement(new Uint8Array(await readFile(join(out, f))));
  const opened = [];
  for (const f of files.filter((x) => x.startsWith('seg-'))) opened.push(view.openSegment(new Uint8Array(await readFile(join(out, f)))));
  view.stream.assertComplete();
  const events = opened.filter((o) => o.header.kind === 'event');
  t.is(events.length, 1, `kinds: ${opened.map((o) => o.header.kind).join(' ')}`);
  const media = opened.filter((o) => o.header.kind === 'media');
  const t0 = media[0]!.header.captureTime; // frame 0
  const e = decodeEvent(events[0]!.payload);
  const start = e.startTime - t0;
  const end = e.endTime - t0;
  t.true(start >= 10_000 && start <= 10_400, `event start ${start} ms after frame 0 (the rectangle entered at 10 000 ms)`);
  t.true(end >= 13_600 && end <= 14_000, `event end ${end} ms (the rectangle left at 14 000 ms)`);
  t.is(events[0]!.header.captureTime, e.startTime, 'the envelope header carries the start');
  t.is(events[0]!.header.durationMs, e.endTime - e.startTime);
  // The seq range: the media segments holding the start and the end.
  const holding = (ms: number) => media.filter((m) => m.header.captureTime <= ms).at(-1)!.header.seq;
  t.deepEqual({ firstSeq: e.firstSeq, lastSeq: e.lastSeq }, { firstSeq: holding(e.startTime), lastSeq: holding(e.endTime) });
  t.true(events[0]!.header.seq > e.lastSeq, 'the event is sealed after the segment holding its end');
  // The thumbnail: a PNG at most 320 pixels wide.
  const png = PNG.sync.read(Buffer.from(e.thumbnail!.bytes));
  t.deepEqual({ width: png.width, height: png.height }, { width: 320, height: 180 });

  // The clip: the run's init and the media segments of the event's seq range.
  const init = opened.find((o) => o.header.kind === 'init')!.payload;
  const clip = concatBytes(init, ...media.filter((m) => m.header.seq >= e.firstSeq && m.header.seq <= e.lastSeq).map((m) => m.payload));
  if (!requireTool(t, 'ffprobe (Debian ffmpeg)', toolWorks('ffprobe', ['-version']))) return;
  const path = join(dir, 'event.mp4');
  await writeFile(path, clip);
  const probe = ffprobe(path);
  t.like(probe, { codec: 'h264', width: 640, height: 360 });
  t.true(probe.frames >= 4 * FPS, `clip frames: ${probe.frames} (the event lasted 4 s)`);
});

test('an event record that is not one is refused with a stable code', (t) => {
  const good = { startTime: 1000, endTime: 2000, peakPermille: 80, firstSeq: 3, lastSeq: 4, thumbnail: null };
  const bytes = encodeEvent(good);
  t.deepEqual(decodeEvent(bytes), good);
  const flip = (at: number, v: number) => {
    const c = bytes.slice();
    c[at] = v;
    return c;
  };
  t.is(codeOf(() => decodeEvent(flip(0, 0))), 'E_BAD_MAGIC');
  t.is(codeOf(() => decodeEvent(flip(4, 2))), 'E_UNSUPPORTED_VERSION');
  t.is(codeOf(() => decodeEvent(flip(5, 9))), 'E_UNKNOWN_KIND');
  t.is(codeOf(() => decodeEvent(bytes.subarray(0, 43))), 'E_MALFORMED');
  t.is(codeOf(() => decodeEvent(concatBytes(bytes, new Uint8Array(1)))), 'E_MALFORMED');
  t.is(codeOf(() => decodeEvent(flip(6, 0xff))), 'E_MALFORMED', 'peakPermille over 1000');
  t.is(codeOf(() => encodeEvent({ ...good, endTime: 999 })), 'E_BAD_ARGUMENT');
});
