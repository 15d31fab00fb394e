/** Each frame's capture time for glass-to-glass latency, at any frame rate and chunk size. */
import test from 'ava';
import { CaptureClock } from '../../src/protocol/capture-clock.js';

test('a frame is captured at its segment\'s signed time plus its media offset from chunk 0 (25 fps, 2 frames a chunk)', (t) => {
  const clock = new CaptureClock();
  const t0 = 1_800_000_000_000;
  const frameUs = 40_000; // 25 fps
  const base = 10_000_000; // the run's media time of this segment's first frame
  const got = [0, 1, 2].flatMap((chunk) => [0, 1].map((k) => clock.at(7, chunk, t0, base + (2 * chunk + k) * frameUs)));
  t.deepEqual(got, [t0, t0 + 40, t0 + 80, t0 + 120, t0 + 160, t0 + 200]);
});

test('a segment whose chunk 0 was missed has no capture time (no guessed latency), and only recent segments are kept', (t) => {
  const clock = new CaptureClock();
  t.is(clock.at(3, 4, 1000, 5_000_000), undefined);
  for (let seq = 10; seq < 30; seq++) clock.at(seq, 0, seq * 1000, seq * 1_000_000);
  t.is(clock.at(29, 1, 29_000, 29_033_333), 29_000 + 33.333);
  t.is(clock.at(10, 1, 10_000, 10_033_333), undefined, 'seq 10 was forgotten after 8 newer segments');
});
