import test from 'ava';
import { Backoff } from '../../src/device/backoff.js';

test('backoff grows exponentially to its cap, with full jitter, and resets', (t) => {
  const ceilings: number[] = [];
  const b = new Backoff({ baseMs: 500, capMs: 8000, random: () => 0.999999 });
  for (let i = 0; i < 7; i++) ceilings.push(b.next());
  t.deepEqual(ceilings, [499, 999, 1999, 3999, 7999, 7999, 7999]);
  b.reset();
  t.is(b.next(), 499);
  const low = new Backoff({ baseMs: 500, capMs: 8000, random: () => 0 });
  t.is(low.next(), 50, 'never below 50 ms');
});

test('a fleet that loses the broker together does not come back in one burst', (t) => {
  // 1000 cameras, seeded jitter: their 4th reconnect attempts spread over the whole window.
  let s = 12345;
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const delays = Array.from({ length: 1000 }, () => {
    const b = new Backoff({ baseMs: 500, capMs: 60_000, random });
    let d = 0;
    for (let i = 0; i < 4; i++) d = b.next();
    return d;
  });
  const buckets = new Array(8).fill(0);
  for (const d of delays) buckets[Math.min(7, Math.floor(d / 500))]++;
  t.true(Math.max(...buckets) < 200, `busiest 500 ms bucket holds ${Math.max(...buckets)} of 1000: ${buckets.join(',')}`);
});
