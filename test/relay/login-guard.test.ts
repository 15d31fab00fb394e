/** The login guard's rules with an injected clock (PROTOCOL.md §11.3): buckets, trust, the hashing pool. */
import test from 'ava';
import { SealcamError } from '../../src/protocol/errors.js';
import { LoginGuard } from '../../src/relay/login-guard.js';

const bad = () => Promise.resolve(null);
const good = () => Promise.resolve('ok');
const codeOf = (e: unknown) => (SealcamError.is(e) ? e.code : String(e));

test('failed logins drain the source bucket; it refills at its rate; successes cost nothing', async (t) => {
  let now = 0;
  const g = new LoginGuard({ perSource: { burst: 3, perMinute: 6 }, perUsername: { burst: 100, perMinute: 100 } }, () => now);
  for (let i = 0; i < 5; i++) t.is(await g.attempt('10.0.0.1', 'u', good), 'ok', 'successes are refunded');
  for (let i = 0; i < 3; i++) t.is(await g.attempt('10.0.0.1', `u${i}`, bad), null);
  const e = await t.throwsAsync(g.attempt('10.0.0.1', 'u9', good));
  t.is(codeOf(e), 'E_RATE_LIMITED', e?.message);
  t.regex(e!.message, /retry in 10 s/);
  t.is(await g.attempt('10.0.0.2', 'u9', good), 'ok', 'another source is not limited');
  now += 10_000; // one token back (6 per minute)
  t.is(await g.attempt('10.0.0.1', 'u9', good), 'ok');
  t.deepEqual({ failed: g.stats.failed, rateLimited: g.stats.rateLimited }, { failed: 3, rateLimited: 1 });
});

test('a flood on one username from elsewhere does not lock out a source that logged in as it before', async (t) => {
  const now = 0;
  const g = new LoginGuard({ perSource: { burst: 100, perMinute: 1 }, perUsername: { burst: 2, perMinute: 1 } }, () => now);
  t.is(await g.attempt('camera-home', 'cam-1', good), 'ok');
  for (let i = 0; i < 2; i++) t.is(await g.attempt(`attacker${i}`, 'cam-1', bad), null);
  t.is(codeOf(await t.throwsAsync(g.attempt('attacker9', 'cam-1', bad))), 'E_RATE_LIMITED');
  t.is(codeOf(await t.throwsAsync(g.attempt('new-place', 'cam-1', good))), 'E_RATE_LIMITED', 'an untrusted source waits like everyone');
  t.is(await g.attempt('camera-home', 'cam-1', good), 'ok', 'the trusted source still logs in');
});

test('the hashing pool runs a bounded number at once, refuses fast when its queue is full, and serves trusted logins first', async (t) => {
  const g = new LoginGuard({ hashConcurrency: 1, hashQueue: 2, perSource: { burst: 100, perMinute: 1 }, perUsername: { burst: 100, perMinute: 1 } });
  t.is(await g.attempt('home', 'cam', good), 'ok'); // trusted from now on
  const order: string[] = [];
  let release!: () => void;
  const held = new Promise<null>((r) => (release = () => r(null)));
  let started = 0;
  const slow = (name: string) => () => {
    started++;
    order.push(name);
    return name === 'first' ? held : Promise.resolve(null);
  };
  const first = g.attempt('a', 'x', slow('first'));
  const queued = [g.attempt('b', 'x', slow('b')), g.attempt('c', 'x', slow('c'))];
  const over = await t.throwsAsync(g.attempt('d', 'x', slow('d')));
  t.is(codeOf(over), 'E_OVERLOADED', over?.message);
  const trusted = g.attempt('home', 'cam', async () => (order.push('trusted'), 'ok'));
  t.is(started, 1, 'one check at a time');
  t.is(g.stats.queued, 3);
  release();
  await Promise.all([first, ...queued, trusted]);
  t.deepEqual(order, ['first', 'trusted', 'b', 'c']);
  t.deepEqual({ running: g.stats.running, queued: g.stats.queued, overloaded: g.stats.overloaded }, { running: 0, queued: 0, overloaded: 1 });
});
