/**
 * Independent implementation check: test/interop/sealcam_reader.py was written from
 * docs/PROTOCOL.md alone (Python standard library + libsodium via ctypes) and must open, and
 * reject with the same codes, every case in test/vectors/segments.json.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, toolWorks } from '../helpers/tools.js';

const READER = new URL('./sealcam_reader.py', import.meta.url).pathname;
const VECTORS = new URL('../vectors/segments.json', import.meta.url).pathname;
const PAIRING = new URL('../vectors/pairing.json', import.meta.url).pathname;
const hasPythonWithSodium = toolWorks('python3', ['-c', "import ctypes, ctypes.util, sys; n = ctypes.util.find_library('sodium') or 'libsodium.so.23'; ctypes.CDLL(n)"]);

interface Report {
  valid: { name: string; ok: boolean }[];
  live: { ok: boolean };
  transport: { ok: boolean };
  recipients: { name: string; ok: boolean }[];
  padded: { ok: boolean; detail: string };
  event: { ok: boolean; detail: string };
  sessions: { name: string; ok: boolean; detail: string }[];
  pairing: { name: string; expected: string | null; got: string | null; ok: boolean; detail?: string }[];
  invalid: { name: string; expected: string; got: string | null; ok: boolean }[];
  passed: number;
  failed: number;
}

test('the Python/libsodium reader agrees with every vector', (t) => {
  if (!requireTool(t, 'python3 with libsodium (Debian libsodium23)', hasPythonWithSodium)) return;
  const r = spawnSync('python3', [READER, VECTORS, PAIRING], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  const pairing = JSON.parse(readFileSync(PAIRING, 'utf8')) as { invalid: { error: string }[] };
  t.is(report.pairing[0]!.name, 'the handshake');
  t.true(report.pairing[0]!.ok, report.pairing[0]!.detail);
  t.deepEqual(
    report.pairing.slice(1).map((c) => c.got),
    pairing.invalid.map((c) => c.error),
  );
  const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as { valid: unknown[]; invalid: { error: string }[] };
  t.is(report.failed, 0);
  t.is(report.valid.length, vectors.valid.length);
  t.true(report.valid.every((v) => v.ok));
  t.true(report.live.ok);
  t.true(report.transport.ok);
  t.deepEqual(report.recipients.map((r) => [r.name, r.ok]), [['viewer', true], ['stranger', true]]);
  t.true(report.padded.ok, report.padded.detail);
  t.true(report.event.ok, report.event.detail);
  const sessions = (JSON.parse(readFileSync(VECTORS, 'utf8')) as { sessions: unknown[] }).sessions;
  t.is(report.sessions.length, sessions.length);
  for (const s of report.sessions) t.true(s.ok, `${s.name}: ${s.detail}`);
  t.deepEqual(
    report.invalid.map((c) => c.got),
    vectors.invalid.map((c) => c.error),
  );
});

test('the reader is not a rubber stamp: a vector with a wrong expected code makes it fail', (t) => {
  if (!requireTool(t, 'python3 with libsodium (Debian libsodium23)', hasPythonWithSodium)) return;
  const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as { invalid: { error: string }[]; valid: { expect: { chunks: string[] } }[] };
  vectors.invalid[0]!.error = 'E_NOT_A_CODE';
  vectors.valid[0]!.expect.chunks[0] = '00';
  const file = join(mkdtempSync(join(tmpdir(), 'sealcam-vectors-')), 'broken.json');
  writeFileSync(file, JSON.stringify(vectors));
  const r = spawnSync('python3', [READER, file], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  t.is(report.failed, 2);
});
