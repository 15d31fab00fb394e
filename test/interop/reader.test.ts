/**
 * Independent implementation check: test/interop/sealcam_reader.py was written from
 * docs/PROTOCOL.md alone (Python standard library + libsodium via ctypes) and must open, and
 * reject with the same codes, every case in test/vectors/segments.json.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { concatBytes, equalBytes, signRoster, toHex } from '../../src/protocol/index.js';
import { loadBoard } from '../../src/device/board.js';
import { runAgent } from '../../src/device/agent.js';
import { DirectorySink, type SegmentInfo } from '../../src/device/sink.js';
import { pairedDevice } from '../helpers/device.js';

/** Writes the run to a directory, and hands the camera a newer roster once media segment 2 is sealed. */
class RotatingSink extends DirectorySink {
  rotated = false;
  private handler: ((roster: Uint8Array) => void) | null = null;
  constructor(dir: string, private readonly roster: Uint8Array) {
    super(dir);
  }
  onRoster(handler: (roster: Uint8Array) => void): void {
    this.handler = handler;
  }
  override async segment(envelope: Uint8Array, info: SegmentInfo): Promise<void> {
    await super.segment(envelope, info);
    if (!this.rotated && info.kind === 'media' && info.seq >= 2) {
      this.rotated = true;
      this.handler?.(this.roster);
    }
  }
}
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

test('the Python reader opens real camera output (padding, a motion event, an epoch rotation) into the same playable file as the reference', async (t) => {
  if (!requireTool(t, 'python3 with libsodium (Debian libsodium23)', hasPythonWithSodium)) return;
  const { dir, home, owner, viewer } = await pairedDevice('interop-history');
  const out = join(dir, 'out');
  // A second roster mid-run: the camera rotates its epoch and seals its init again (§5.1).
  const roster2 = signRoster(owner, { cameraId: home.identity.id, rosterVersion: 2, issuedAt: Date.now(), viewers: [owner.public] });
  const sink = new RotatingSink(out, roster2);
  await runAgent({
    board: await loadBoard('sim'),
    home,
    sink,
    seconds: 8,
    video: { width: 640, height: 360, bitrate: 600_000, segmentSeconds: 1, padding: 'standard' },
    scene: { intruderFromFrame: 2 * 30, intruderUntilFrame: 4 * 30, osd: false },
    motion: {},
    rosterWaitMs: 0,
  });
  t.true(sink.rotated, 'the roster changed mid-run');
  const mine = join(dir, 'python.mp4');
  const cam = home.identity;
  const r = spawnSync('python3', [READER, '--history', out, toHex(cam.signPublicKey), toHex(cam.boxPublicKey), toHex(owner.id), toHex(owner.box.secretKey), mine], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr || r.stdout);
  const report = JSON.parse(r.stdout) as { announcements: number; opened: number; events: { seq: number }[]; kinds: string[]; final: boolean; mp4Bytes: number };
  t.is(report.announcements, 2, 'two epochs');
  t.is(report.events.length, 1, `events: ${JSON.stringify(report.events)}`);
  t.true(report.final, 'the stream ends with FINAL');
  t.true(report.kinds.filter((k) => k === 'init').length >= 2, `kinds: ${report.kinds.join(' ')}`);
  // The reference viewer builds the same file from the same directory.
  const view = viewer.cameras[0]!;
  const files = (await readdir(out)).sort();
  for (const f of files.filter((n) => n.startsWith('epoch-'))) view.addAnnouncement(new Uint8Array(await readFile(join(out, f))));
  let init: Uint8Array | null = null;
  const media: Uint8Array[] = [];
  for (const f of files.filter((n) => n.startsWith('seg-'))) {
    const o = view.openSegment(new Uint8Array(await readFile(join(out, f))));
    if (o.header.kind === 'init' && (!init || !equalBytes(init, o.payload))) {
      init = o.payload;
      media.length = 0;
    } else if (o.header.kind === 'media') media.push(o.payload);
  }
  const reference = concatBytes(init!, ...media);
  t.deepEqual(new Uint8Array(await readFile(mine)), reference, 'byte for byte the same playable file');
});
