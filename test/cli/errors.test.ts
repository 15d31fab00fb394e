/**
 * Every command, tried as a new user would get it wrong: the relay down, a relay that never
 * answers, a missing or unreadable file, a wrong password, replies that are not JSON, `{}` or 401.
 * Each run must exit by itself (a kill timer catches a hang), non-zero, with a stable E_… code on
 * stderr and no stack trace, and leave nothing half-written (no relay.json from a failed login or
 * pairing, no output from a refused run).
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Identity, createPairingOffer, encodeQrPayload, systemRandom } from '../../src/protocol/index.js';
import { OwnerHome } from '../../src/owner/home.js';
import { sealcamBounded, type BoundedRun } from '../helpers/cli.js';
import { pairedDevice } from '../helpers/device.js';
import { embeddedRelay, freePort, tempDir } from '../helpers/relay.js';

/** A run that outlives this was hung: it is killed and the case fails. */
const KILL_AFTER_MS = 40_000;
/** CLI runs at once (a 2-core machine: each is a Node process with tsx). */
const POOL = 4;

interface Case {
  name: string;
  args: string[];
  /** the code stderr must name */
  code: RegExp;
  input?: string;
  /** also checked after the run: nothing half-written, the right next step */
  after?: (t: ExecutionContext, r: BoundedRun) => unknown;
}

/** A stand-in for the relay's HTTP API on 127.0.0.1 that answers every request with `reply` (or never). */
async function fakeRelay(reply: ((req: IncomingMessage, res: ServerResponse) => void) | 'never'): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (reply !== 'never') reply(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const LOGIN = { account: 'home', username: 'home-viewer', password: 'not-the-password' };

/** An owner home logged in to `url` (with `login`), with one pinned camera named "cam". */
async function ownerHome(dir: string, name: string, url: string, login = LOGIN): Promise<string> {
  const home = await OwnerHome.init(join(dir, name));
  await home.setRelay({ httpUrl: url, ...login });
  await home.pinCamera({ name: 'cam', camera: Identity.generate(systemRandom).public, rosterVersion: 1 });
  return home.dir;
}

/** A fresh, valid pairing code that sends the camera to `url`. */
function codeFor(url: string): string {
  const offer = createPairingOffer({ owner: Identity.generate(systemRandom), relayUrl: url, account: 'home', provisionToken: new Uint8Array(randomBytes(16)), expiresAt: Date.now() + 10 * 60_000 }, systemRandom);
  return encodeQrPayload(offer);
}

const exists = (p: string) => stat(p).then(() => true, () => false);

const noFile = (path: string, what: string) => async (t: ExecutionContext) => {
  t.false(await exists(path), `${what} (${path}) must not be written by a failed command`);
};

function checkRun(t: ExecutionContext, c: Case, r: BoundedRun): void {
  const where = `${c.name} (sealcam ${c.args.join(' ')}), exit ${r.code}, signal ${r.signal}, ${r.ms} ms; stderr:\n${r.stderr.slice(-1500)}`;
  t.is(r.signal, null, `it must exit by itself within ${KILL_AFTER_MS} ms: ${where}`);
  t.true(r.code !== null && r.code !== 0, `exit code ≠ 0: ${where}`);
  t.regex(r.stderr, /\bE_[A-Z_]+\b/, `an E_… code on stderr: ${where}`);
  t.regex(r.stderr, c.code, `the expected code ${c.code}: ${where}`);
  t.notRegex(r.stderr, /^\s+at /m, `no stack trace: ${where}`);
  t.notRegex(r.stderr, /TypeError|node:internal/, `no raw Node error: ${where}`);
}

/** At most POOL runs at once, across all the tests of this file. */
let running = 0;
const waiting: (() => void)[] = [];
async function pooled<T>(f: () => Promise<T>): Promise<T> {
  if (running >= POOL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

async function runCase(t: ExecutionContext, c: Case): Promise<void> {
  const r = await pooled(() => sealcamBounded(c.args, { killAfterMs: KILL_AFTER_MS, ...(c.input !== undefined ? { input: c.input } : {}) }));
  checkRun(t, c, r);
  await c.after?.(t, r);
}

// Everyone's fixtures, made once: fake relays, a real one, owner and camera homes.
const dir = await tempDir('cli-errors');
const down = `http://127.0.0.1:${await freePort()}`;
const notJson = await fakeRelay((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>a captive portal</html>'));
const empty = await fakeRelay((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
const unauthorized = await fakeRelay((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}'));
const silent = await fakeRelay('never');
const relay = await embeddedRelay(join(dir, 'relay'));
const real = await relay.accounts.addAccount('home');
const wrongLogin = { ...real, password: 'wrong-password' };
await writeFile(join(dir, 'wrong-pw'), 'wrong-password\n', { mode: 0o600 });
await writeFile(join(dir, 'not-a-png.png'), 'this is text, not a PNG');
await mkdir(join(dir, 'a-directory'));
const missing = join(dir, 'missing.file');

const homes = {
  down: await ownerHome(dir, 'o-down', down),
  notJson: await ownerHome(dir, 'o-notjson', notJson.url),
  empty: await ownerHome(dir, 'o-empty', empty.url),
  unauthorized: await ownerHome(dir, 'o-401', unauthorized.url),
  silent: await ownerHome(dir, 'o-silent', silent.url),
  wrongPassword: await ownerHome(dir, 'o-wrong', relay.httpUrl, wrongLogin),
  damaged: await ownerHome(dir, 'o-damaged', down),
  emptyLogin: await ownerHome(dir, 'o-emptylogin', down),
};
await writeFile(join(homes.damaged, 'relay.json'), 'not json', { mode: 0o600 });
await writeFile(join(homes.emptyLogin, 'relay.json'), '{}', { mode: 0o600 });

// A paired camera and a y4m larger than any H.264 level takes (8192×4320, one frame).
const { home: paired } = await pairedDevice('cli-errors-big');
const big = join(dir, 'big.y4m');
const fh = await open(big, 'w');
await fh.write(`YUV4MPEG2 W8192 H4320 F30:1 Ip C420jpeg\nFRAME\n`);
await fh.truncate(Buffer.byteLength('YUV4MPEG2 W8192 H4320 F30:1 Ip C420jpeg\nFRAME\n') + (8192 * 4320 * 3) / 2);
await fh.close();

// Owner homes with no login yet, one per case that must not store one.
const fresh: string[] = await Promise.all(Array.from({ length: 8 }, async (_, i) => (await OwnerHome.init(join(dir, `o-fresh-${i}`))).dir));
const f = (i: number) => fresh[i]!;
let n = 0;
const camera = () => join(dir, `camera-${n++}`);
const view = (home: string, ...mode: string[]) => ['view', '--home', home, '--camera', 'cam', ...mode];
const out = () => join(dir, `out-${n++}.mp4`);
const ownerPair = (home: string, ...extra: string[]) => ['owner', 'pair', '--home', home, '--name', 'porch', '--timeout', '5', ...extra];
const login = (home: string, url: string, pwFile = join(dir, 'wrong-pw')) => ['owner', 'login', '--home', home, '--relay', url, '--account', 'home', '--username', real.username, '--password-file', pwFile];
const nothingStored = (home: string) => noFile(join(home, 'relay.json'), 'a relay login');
const LOGIN_AGAIN = /sealcam owner login/;

/** device pair --code against `url`: the camera's home must not gain a relay login. */
const devicePair = (name: string, url: string, code: RegExp): Case => {
  const home = camera();
  return { name, args: ['device', 'pair', '--board', 'sim', '--home', home, '--code', codeFor(url), '--timeout', '4'], code, after: noFile(join(home, 'relay.json'), "the camera's relay login") };
};
const viewOut = (name: string, home: string, code: RegExp, after?: Case['after']): Case => {
  const file = out();
  return {
    name,
    args: view(home, '--out', file),
    code,
    after: async (t, r) => {
      await noFile(file, 'the MP4')(t);
      await after?.(t, r);
    },
  };
};

const cases: Case[] = [
  // The relay is not running.
  viewOut('view --out, relay down', homes.down, /E_RELAY_UNREACHABLE/, (t, r) => t.regex(r.stderr, /sealcam relay/)),
  { name: 'view --live, relay down', args: view(homes.down, '--live', '--seconds', '2'), code: /E_RELAY_UNREACHABLE/ },
  { name: 'view --live --web, relay down', args: view(homes.down, '--live', '--web', '--seconds', '2'), code: /E_RELAY_UNREACHABLE/ },
  { name: 'owner pair, relay down', args: ownerPair(homes.down), code: /E_RELAY_UNREACHABLE/ },
  { name: 'owner pair --relay URL, relay down', args: ownerPair(f(0), '--relay', down), code: /E_RELAY_UNREACHABLE|E_CONFIG/, after: nothingStored(f(0)) },
  { name: 'owner login, relay down', args: login(f(1), down), code: /E_RELAY_UNREACHABLE/, after: nothingStored(f(1)) },
  devicePair('device pair, relay down', down, /E_RELAY_UNREACHABLE/),
  // A relay that accepts the connection and never answers: --timeout bounds every wait.
  devicePair('device pair --timeout 4, relay never answers', silent.url, /E_RELAY_UNREACHABLE|E_PAIRING_EXPIRED/),
  { name: 'owner pair --timeout 5, relay never answers', args: ownerPair(homes.silent), code: /E_RELAY_UNREACHABLE|E_PAIRING_EXPIRED/ },
  // Missing, unreadable or wrong files.
  { name: 'inspect, missing file', args: ['inspect', missing], code: /E_FILE/ },
  { name: 'inspect, a directory', args: ['inspect', join(dir, 'a-directory')], code: /E_FILE/ },
  { name: 'device pair --qr-image, missing file', args: ['device', 'pair', '--board', 'sim', '--home', camera(), '--qr-image', missing], code: /E_FILE/ },
  { name: 'device pair --qr-image, not a PNG', args: ['device', 'pair', '--board', 'sim', '--home', camera(), '--qr-image', join(dir, 'not-a-png.png')], code: /E_QR_FORMAT/ },
  { name: 'owner add-viewer --qr-image, missing file', args: ['owner', 'add-viewer', '--home', homes.down, '--camera', 'cam', '--qr-image', missing], code: /E_FILE/ },
  { name: 'owner login --password-file, missing file', args: login(f(2), relay.httpUrl, missing), code: /E_FILE/, after: nothingStored(f(2)) },
  { name: 'device run --y4m, missing file', args: ['device', 'run', '--board', 'sim', '--home', paired.dir, '--y4m', missing, '--out', join(dir, 'run-missing')], code: /E_FILE|E_CAPTURE_FAILED/ },
  { name: 'firmware verify, missing image', args: ['firmware', 'verify', '--image', missing, '--pubkey', missing], code: /E_FILE|E_BAD_ARGUMENT/ },
  { name: 'view, a damaged relay.json', args: view(homes.damaged, '--out', out()), code: /E_CONFIG/ },
  { name: 'view, relay.json of {}', args: view(homes.emptyLogin, '--out', out()), code: /E_CONFIG/, after: (t, r) => t.regex(r.stderr, LOGIN_AGAIN) },
  // A wrong password: refused before it is stored; later 401s say to log in again.
  { name: 'owner login, wrong password', args: login(f(3), relay.httpUrl), code: /E_AUTH/, after: nothingStored(f(3)) },
  viewOut('view --out, stored password wrong (401)', homes.wrongPassword, /E_AUTH/, (t, r) => t.regex(r.stderr, LOGIN_AGAIN)),
  { name: 'owner pair, stored password wrong (401)', args: ownerPair(homes.wrongPassword), code: /E_AUTH/, after: (t, r) => t.regex(r.stderr, LOGIN_AGAIN) },
  viewOut('view --out, relay answers 401', homes.unauthorized, /E_AUTH/, (t, r) => t.regex(r.stderr, LOGIN_AGAIN)),
  // Replies that are not the API's: never used, never stored.
  viewOut('view --out, reply not JSON', homes.notJson, /E_RELAY_REPLY/),
  { name: 'view --live, reply not JSON', args: view(homes.notJson, '--live', '--seconds', '2'), code: /E_RELAY_REPLY/ },
  { name: 'owner pair, reply not JSON', args: ownerPair(homes.notJson), code: /E_RELAY_REPLY/ },
  { name: 'owner login, reply not JSON', args: login(f(4), notJson.url), code: /E_RELAY_REPLY/, after: nothingStored(f(4)) },
  devicePair('device pair, reply not JSON', notJson.url, /E_RELAY_REPLY/),
  viewOut('view --out, reply {}', homes.empty, /E_RELAY_REPLY/),
  { name: 'view --live, reply {}', args: view(homes.empty, '--live', '--seconds', '2'), code: /E_RELAY_REPLY/ },
  { name: 'owner pair, reply {}', args: ownerPair(homes.empty), code: /E_RELAY_REPLY/ },
  { name: 'owner login, reply {}', args: login(f(5), empty.url), code: /E_RELAY_REPLY/, after: nothingStored(f(5)) },
  devicePair('device pair, reply {} (no damaged relay.json)', empty.url, /E_RELAY_REPLY/),
  // Boards and inputs the agent cannot use.
  { name: 'device pair --board generic-x64-uvc (no webcam here)', args: ['device', 'pair', '--board', 'generic-x64-uvc', '--home', camera(), '--timeout', '3'], code: /E_CAPTURE_FAILED|E_PAIRING_EXPIRED/ },
  {
    name: 'device run --y4m 8192x4320',
    args: ['device', 'run', '--board', 'sim', '--home', paired.dir, '--y4m', big, '--out', join(dir, 'run-big')],
    code: /E_ENCODER|E_RESOLUTION|E_BOARD_PROFILE/,
    after: noFile(join(dir, 'run-big'), 'the output of a refused run'),
  },
];
for (const c of cases) test(`${c.name}: a stable code, a next step, no stack trace, nothing half-written`, (t) => runCase(t, c));

test.after.always(async () => {
  for (const s of [notJson, empty, unauthorized, silent]) {
    s.server.closeAllConnections();
    s.server.close();
  }
  await relay.close();
});

test("a camera refuses the owner's code once the owner has stopped waiting: no camera login is made, no long wait", async (t) => {
  const dir = await tempDir('cli-errors-expired');
  const relay = await embeddedRelay(join(dir, 'relay'));
  try {
    const login = await relay.accounts.addAccount('home');
    const owner = await ownerHome(dir, 'owner', relay.httpUrl, login);
    const ownerRun = await sealcamBounded(['owner', 'pair', '--home', owner, '--name', 'porch', '--timeout', '2'], { killAfterMs: KILL_AFTER_MS });
    checkRun(t, { name: 'owner pair --timeout 2, no camera', args: [], code: /E_PAIRING_EXPIRED/ }, ownerRun);
    const code = /--code (SC1:[A-Z2-7]+)/.exec(ownerRun.stdout)?.[1];
    if (!code) return t.fail(`owner pair printed no code: ${ownerRun.stdout}`);
    const home = join(dir, 'camera');
    const c: Case = { name: 'device pair with the code after the owner gave up', args: ['device', 'pair', '--board', 'sim', '--home', home, '--code', code, '--timeout', '20'], code: /E_PAIRING_EXPIRED/ };
    const r = await sealcamBounded(c.args, { killAfterMs: KILL_AFTER_MS });
    checkRun(t, c, r);
    t.false(await exists(join(home, 'relay.json')), 'the camera redeemed the token of an expired code (an orphan camera login)');
    t.deepEqual((await readdir(home).catch(() => [])).filter((f) => f === 'relay.json' || f === 'owner.json'), []);
  } finally {
    await relay.close();
  }
});
