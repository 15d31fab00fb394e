/** `sealcam relay …` as an operator runs it. */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { connectMqtt } from '../../src/media/mqtt.js';
import { tlsOptionsFor } from '../../src/media/pinned-tls.js';
import { relayTls } from '../../src/relay/tls.js';
import { tempDir } from '../helpers/relay.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/sealcam.js', import.meta.url).pathname;
const sealcam = (...args: string[]) => run(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('account add prints a login once, stores only hashes, and the relay accepts it', async (t) => {
  const dir = await tempDir('cli-relay');
  const data = join(dir, 'data');
  const { stdout } = await sealcam('relay', 'account', 'add', 'family', '--data', data, '--json');
  const creds = JSON.parse(stdout) as { username: string; password: string; account: string };
  t.is(creds.account, 'family');
  const stored = await readFile(join(data, 'accounts.json'), 'utf8');
  t.false(stored.includes(creds.password), 'the password is not stored');
  t.is((await stat(join(data, 'accounts.json'))).mode & 0o777, 0o600);
  await t.throwsAsync(sealcam('relay', 'account', 'add', 'family', '--data', data), { message: /already exists/ });
  await t.throwsAsync(sealcam('relay', 'account', 'add', 'pair', '--data', data), { message: /E_BAD_ARGUMENT/ });

  // TLS by default: a self-signed certificate made in <data>/tls/, its key fingerprint printed.
  const relay = spawn(process.execPath, [BIN, 'relay', '--data', data, '--port', '0', '--ws-port', '0', '--http-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const out = await untilPrinted(relay, /relay key fingerprint: (sha256\/\S+)/);
    const url = /mqtt (mqtts:\/\/[\d.]+:\d+)/.exec(out)?.[1];
    const fingerprint = /relay key fingerprint: (sha256\/\S+)/.exec(out)![1]!;
    t.truthy(url, `an mqtts:// address in: ${out}`);
    t.regex(out, /http https:\/\/127\.0\.0\.1:\d+/);
    t.is(fingerprint, (await relayTls({ dataDir: data, hosts: [] })).fingerprint, 'the printed fingerprint is the kept certificate\'s');
    const ok = await connectMqtt(url!, { username: creds.username, password: creds.password, fingerprint });
    await ok.endAsync();
    const tls = await tlsOptionsFor(url!, fingerprint);
    const bad = mqtt.connect(url!, { ...tls, protocolVersion: 4, username: creds.username, password: 'wrong', reconnectPeriod: 0 });
    const err = await new Promise<Error>((resolve) => bad.once('error', resolve));
    t.regex(err.message, /Bad username or password/);
    bad.end(true);
    const anonymous = mqtt.connect(url!, { ...tls, protocolVersion: 4, reconnectPeriod: 0 });
    t.regex((await new Promise<Error>((resolve) => anonymous.once('error', resolve))).message, /Bad username or password/);
    anonymous.end(true);
  } finally {
    relay.kill('SIGTERM');
  }
  // --plaintext: no TLS, and a warning only when not on the loopback address.
  const plain = spawn(process.execPath, [BIN, 'relay', '--data', data, '--plaintext', '--port', '0', '--ws-port', '0', '--http-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const out = await untilPrinted(plain, /relay up: .*\n/);
    t.regex(out, /mqtt mqtt:\/\/127\.0\.0\.1:\d+, websocket ws:\/\/127\.0\.0\.1:\d+, http http:\/\/127\.0\.0\.1:\d+/);
    t.notRegex(out, /fingerprint/);
  } finally {
    plain.kill('SIGTERM');
  }
});

/** What the child printed on stdout up to the first match of `re`. */
function untilPrinted(child: ReturnType<typeof spawn>, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`relay exited ${code} before printing ${re}: ${out}${err}`)));
  });
}

test('mosquitto-config writes passwd (hashes only), acl and conf, and the store login', async (t) => {
  const dir = await tempDir('cli-mosq');
  const data = join(dir, 'data');
  const creds = JSON.parse((await sealcam('relay', 'account', 'add', 'family', '--data', data, '--json')).stdout) as { username: string; password: string };
  await sealcam('relay', 'mosquitto-config', '--data', data, '--out', join(dir, 'mosq'), '--port', '18830');
  const passwd = await readFile(join(dir, 'mosq', 'passwd'), 'utf8');
  t.regex(passwd, new RegExp(`^${creds.username}:\\$7\\$50000\\$`, 'm'));
  t.false(passwd.includes(creds.password));
  const acl = await readFile(join(dir, 'mosq', 'acl'), 'utf8');
  t.regex(acl, /user family-owner\ntopic read sc\/v1\/family\/#/);
  t.regex(acl, /user sealcam-store-[0-9a-f]{12}\ntopic read sc\/v1\/\+\/\+\/seg/);
  t.regex(await readFile(join(dir, 'mosq', 'mosquitto.conf'), 'utf8'), /listener 18830 127\.0\.0\.1\nallow_anonymous false|allow_anonymous false/);
  const store = JSON.parse(await readFile(join(data, 'store-credentials.json'), 'utf8')) as { username: string };
  t.regex(store.username, /^sealcam-store-[0-9a-f]{12}$/);
  t.is((await stat(join(data, 'store-credentials.json'))).mode & 0o777, 0o600);
});
