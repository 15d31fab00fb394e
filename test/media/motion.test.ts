/**
 * Motion detection (issue 14) on the synthetic camera: a quiet room with its burned-in clock
 * running, then a dark rectangle crossing it, then quiet again.
 */
import test from 'ava';
import { SyntheticScene } from '../../src/media/synthetic.js';
import { MotionDetector } from '../../src/media/motion.js';
import { codeOf } from '../helpers/codes.js';

const FPS = 30;
const T0 = 1_800_000_000_000;

/** Run `frames` frames of a scene through a detector; the events and the detector. */
function run(scene: SyntheticScene, frames: number, config = {}) {
  const detector = new MotionDetector(scene.width, scene.height, config);
  const data = new Uint8Array((scene.width * scene.height * 3) / 2);
  const events = [];
  for (let i = 0; i < frames; i++) {
    const captureTimeMs = T0 + Math.round((i * 1000) / FPS);
    // Only analysed frames need pixels: the detector looks at one in `everyNth` (3).
    if (i % 3 === 0) scene.render(data, i, captureTimeMs);
    const e = detector.push({ type: 'raw', data, index: i, timestampUs: Math.round((i * 1e6) / FPS), captureTimeMs });
    if (e) events.push(e);
  }
  const last = detector.flush();
  if (last) events.push(last);
  return { events, detector };
}

test('still for 10 s, a rectangle crosses for 4 s, still again: exactly one event, with the right times', (t) => {
  const scene = new SyntheticScene(1280, 720, 3);
  scene.setStill({ intruderFromFrame: 10 * FPS, intruderUntilFrame: 14 * FPS }); // the clock keeps running
  const { events, detector } = run(scene, 20 * FPS);
  t.is(events.length, 1, `events: ${JSON.stringify(events.map((e) => ({ start: e.startTime - T0, end: e.endTime - T0, peak: e.peakPermille })))}`);
  const e = events[0]!;
  const start = e.startTime - T0;
  const end = e.endTime - T0;
  t.true(start >= 10_000 && start <= 10_300, `start ${start} ms (the rectangle entered at 10 000 ms)`);
  t.true(end >= 13_700 && end <= 14_000, `end ${end} ms (the rectangle left at 14 000 ms)`);
  t.true(e.peakPermille >= 50, `peak area ${e.peakPermille} ‰`);
  t.is(e.peakFrame.data.length, (1280 * 720 * 3) / 2, 'the peak frame is a whole copied frame');
  t.is(detector.stats.framesAnalysed, 200, `frames analysed: ${detector.stats.framesAnalysed} of 600`);
});

test('the busy default scene is motion from start to end; a still scene with its clock running is never motion', (t) => {
  const busy = run(new SyntheticScene(640, 360, 1), 3 * FPS);
  t.is(busy.events.length, 1);
  const still = new SyntheticScene(1280, 720, 1);
  still.setStill({}); // the burned-in clock and frame code change every frame: under 2 % of the picture, below the minimum area
  t.is(run(still, 10 * FPS).events.length, 0);
  const quiet = new SyntheticScene(640, 360, 1);
  quiet.setStill({ osd: false });
  t.is(run(quiet, 5 * FPS).events.length, 0);
});

test('motion settings out of range are E_CONFIG', (t) => {
  t.is(codeOf(() => new MotionDetector(1920, 1080, { noiseFloor: 0 })), 'E_CONFIG');
  t.is(codeOf(() => new MotionDetector(1920, 1080, { minAreaPermille: 1001 })), 'E_CONFIG');
  t.is(codeOf(() => new MotionDetector(32, 32)), 'E_CONFIG');
});
