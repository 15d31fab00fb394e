/**
 * `sealcam view --events` and `view --event N --out` (issue 14, PROTOCOL.md §16): the camera seals
 * a motion event and uploads it with its video; the owner lists it, verified and decrypted, gets
 * its thumbnail, and cuts its clip. The relay listed an envelope of kind 3 and nothing else about it.
 */
import test from 'ava';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { pairedOverRelay, streamPaired } from '../helpers/device.js';
import { sealcam } from '../helpers/cli.js';
import { ffprobe } from '../helpers/media.js';
import { requireTool, toolWorks } from '../helpers/tools.js';

test('view --events lists the sealed motion event with its thumbnail, and view --event N --out writes its clip', async (t) => {
  const p = await pairedOverRelay('cli-events', 'porch');
  try {
    const run = await streamPaired(p, 9, { scene: { intruderFromFrame: 4 * 30, intruderUntilFrame: 6 * 30, osd: false }, motion: {} });
    t.is(run.eventsSealed, 1);
    const listed = await p.relay.store.list('home', p.camera.identity.idHex);
    t.deepEqual(listed.filter((s) => s.kind === 'event').length, 1, 'the relay sees one envelope of kind 3');

    const home = p.owner.dir;
    const thumbs = join(p.dir, 'thumbs');
    const r = await sealcam('view', '--home', home, '--camera', 'porch', '--events', '--json', '--thumbnails', thumbs);
    t.is(r.code, 0, r.stderr);
    const { events, rejected } = JSON.parse(r.stdout) as { events: { seq: number; startTime: number; endTime: number; firstSeq: number; lastSeq: number; peakPermille: number; thumbnailBytes: number }[]; rejected: unknown[] };
    t.is(events.length, 1);
    t.deepEqual(rejected, []);
    const e = events[0]!;
    const seconds = (e.endTime - e.startTime) / 1000;
    t.true(seconds >= 1.5 && seconds <= 2.1, `${seconds} s of motion (the rectangle crossed for 2 s)`);
    const png = PNG.sync.read(await readFile(join(thumbs, `event-${e.seq}.png`)));
    t.is(png.width, 320);
    t.is((await stat(join(thumbs, `event-${e.seq}.png`))).mode & 0o777, 0o600, 'a thumbnail is decrypted video: 0600');

    const text = await sealcam('view', '--home', home, '--camera', 'porch', '--events');
    t.regex(text.stdout, new RegExp(`event ${e.seq}: .* of motion, up to [\\d.]+ % of the picture moving; segments ${e.firstSeq}\\.\\.${e.lastSeq}`));

    const clip = join(p.dir, 'clip.mp4');
    const c = await sealcam('view', '--home', home, '--camera', 'porch', '--event', String(e.seq), '--out', clip);
    t.is(c.code, 0, c.stderr);
    t.regex(c.stdout, new RegExp(`the clip of event ${e.seq}`));
    if (!requireTool(t, 'ffprobe (Debian ffmpeg)', toolWorks('ffprobe', ['-version']))) return;
    const probe = ffprobe(clip);
    t.like(probe, { codec: 'h264', width: 640, height: 360 });
    t.true(probe.frames >= 2 * 30 && probe.frames <= (e.lastSeq - e.firstSeq + 1) * 30, `clip frames ${probe.frames} for segments ${e.firstSeq}..${e.lastSeq}`);
    const none = await sealcam('view', '--home', home, '--camera', 'porch', '--event', '99999', '--out', join(p.dir, 'x.mp4'));
    t.not(none.code, 0);
    t.regex(none.stderr, /E_NOT_FOUND/);
  } finally {
    await p.relay.close();
  }
});
