/**
 * The HTTP API shares the broker's login guard (issue 12 row 5): a flood of bad passwords from one
 * address is refused with 429 before any password is hashed, and the owner, logging in from an
 * address it used before, keeps working while it lasts (its username's bucket is drained by the
 * flood, but a known (address, username) pair does not depend on it).
 */
import test from 'ava';
import { request } from 'node:http';
import { join } from 'node:path';
import { embeddedRelay, tempDir } from '../helpers/relay.js';

/** GET `url` with Basic auth from `localAddress`; resolves with the status. */
function get(url: string, login: { username: string; password: string }, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers: { authorization: `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('40 concurrent bad-password requests from one address: most refused with 429 before hashing, and the owner still logs in', async (t) => {
  const relay = await embeddedRelay(join(await tempDir('http-flood'), 'relay'));
  try {
    const owner = await relay.accounts.addAccount('home');
    const url = `${relay.httpUrl}/v1/accounts/home/cameras`;
    t.is(await get(url, owner, '127.0.0.1'), 200, 'the owner has logged in from this address before');
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(url, { username: owner.username, password: 'wrong' }, '127.0.0.2')));
    await relay.accounts.addAccount('neighbour'); // accounts.json changes: the login cache is dropped, so the next login is checked again
    const legit = await get(url, owner, '127.0.0.1');
    const count = (s: number) => statuses.filter((x) => x === s).length;
    const hashed = relay.broker!.loginGuard.stats.failed;
    t.log(`flood of 40: ${count(401)} × 401 (hashed), ${count(429)} × 429 (refused before hashing), ${count(503)} × 503; the owner's login: ${legit}`);
    t.is(count(401) + count(429) + count(503), 40, `every attempt refused: ${JSON.stringify(statuses)}`);
    t.true(count(429) >= 25, `429s: ${count(429)} (expected ≥ 25: the per-source burst is 10)`);
    t.true(hashed <= 10, `password checks run for the flood: ${hashed} (expected ≤ 10)`);
    t.is(legit, 200, `the owner's own login during the flood: HTTP ${legit}`);
  } finally {
    await relay.close();
  }
});
