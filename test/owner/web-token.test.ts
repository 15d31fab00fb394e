/**
 * Issue 12 row 10: the local page of `view --live --web` hands out the owner's long-term secret
 * and relay password. Its link's token must open that config once (a reload by the same browser
 * works through its session cookie), only for the Host the CLI printed, never for another origin.
 */
import test from 'ava';
import { request } from 'node:http';
import { Identity, systemRandom } from '../../src/protocol/index.js';
import { startWebViewer, type WebViewer } from '../../src/owner/web/server.js';

interface Reply {
  status: number;
  body: string;
  cookie: string | null;
}

/** GET with raw headers (fetch does not let a caller set Host). */
function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cookie: res.headers['set-cookie']?.[0]?.split(';')[0] ?? null }));
    });
    req.on('error', reject);
    req.end();
  });
}

const owner = Identity.generate(systemRandom);
const login = { httpUrl: 'http://127.0.0.1:1', account: 'home', username: 'home-viewer', password: 'relay-password-1234' };

async function viewer(): Promise<{ web: WebViewer; configUrl: string; host: string }> {
  const web = await startWebViewer({ identity: owner, camera: Identity.generate(systemRandom).public, cameraName: 'hall', login, wsUrl: 'ws://127.0.0.1:1' });
  const page = new URL(web.url);
  return { web, configUrl: `${page.origin}/config.json${page.search}`, host: page.host };
}

const leaks = (r: Reply) => r.body.includes(login.password) || r.body.includes(Buffer.from(owner.exportSecret()).toString('hex'));

test('the web viewer link replayed (a second use of its one-time token) gets no secret; the browser that used it can reload', async (t) => {
  const { web, configUrl } = await viewer();
  t.teardown(() => web.close());
  const first = await get(configUrl);
  t.is(first.status, 200);
  t.true(leaks(first), 'the first use gets the config');
  const replay = await get(configUrl);
  t.is(replay.status, 403, `a second use of the token: HTTP ${replay.status}`);
  t.false(leaks(replay), 'no secret in the refusal');
  t.truthy(first.cookie, 'the first use set a session cookie');
  const reload = await get(configUrl, { cookie: first.cookie! });
  t.is(reload.status, 200, `the same browser reloading: HTTP ${reload.status}`);
});

test('DNS rebinding: a request with another Host (a hostile name resolving to 127.0.0.1) gets no secret, even with a fresh token', async (t) => {
  const { web, configUrl, host } = await viewer();
  t.teardown(() => web.close());
  const port = host.split(':')[1];
  for (const evil of [`evil.example:${port}`, `localhost:${port}`, '127.0.0.1', `127.0.0.1:${Number(port) + 1}`]) {
    const r = await get(configUrl, { host: evil });
    t.not(r.status, 200, `Host ${evil}: HTTP ${r.status}`);
    t.false(leaks(r), `Host ${evil}: no secret`);
  }
  t.is((await get(configUrl)).status, 200, 'the refused requests did not use up the token');
});

test('a cross-origin page (Origin or Sec-Fetch-Site of another site) gets no secret, even with a fresh token', async (t) => {
  const { web, configUrl } = await viewer();
  t.teardown(() => web.close());
  for (const headers of [{ origin: 'http://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }] as Record<string, string>[]) {
    const r = await get(configUrl, headers);
    t.is(r.status, 403, `${JSON.stringify(headers)}: HTTP ${r.status}`);
    t.false(leaks(r), `${JSON.stringify(headers)}: no secret`);
  }
  t.is((await get(configUrl, { 'sec-fetch-site': 'same-origin' })).status, 200, 'the page itself still gets it');
});
