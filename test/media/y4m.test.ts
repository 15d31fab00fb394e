/**
 * Y4mSource: YUV4MPEG2 files and streams written by the test itself, valid and broken, read
 * whole and in tiny pieces. Every invalid case asserts the SealcamError code it must raise.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SealcamError, type ErrorCode } from '../../src/protocol/errors.js';
import { i420Size, type RawFrame } from '../../src/media/source.js';
import { Y4mSource, parseY4mStreamHeader, type Y4mOptions } from '../../src/media/y4m.js';
import { seededRandom } from '../helpers/fixtures.js';

const W = 64;
const H = 48;
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const dir = mkdtempSync(join(tmpdir(), 'sealcam-y4m-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const ascii = (s: string) => Buffer.from(s, 'latin1');

/** Deterministic I420 frames with distinct content per frame. */
function frames(count: number, width = W, height = H): Uint8Array[] {
  const random = seededRandom(`y4m-${width}x${height}`);
  return Array.from({ length: count }, () => random(i420Size(width, height)));
}

function y4m(header: string, payloads: Uint8Array[], frameLine = 'FRAME'): Buffer {
  return Buffer.concat([ascii(`${header}\n`), ...payloads.flatMap((p) => [ascii(`${frameLine}\n`), p])]);
}

let fileCount = 0;
function writeY4m(bytes: Uint8Array): string {
  const path = join(dir, `clip-${fileCount++}.y4m`);
  writeFileSync(path, bytes);
  return path;
}

async function collect(source: Y4mSource): Promise<RawFrame[]> {
  const out: RawFrame[] = [];
  for await (const f of source.units()) out.push(f);
  return out;
}

/** Opens `bytes` as a file and reads every frame; returns the error code raised, if any. */
async function codeOfFile(bytes: Uint8Array, options: Y4mOptions = {}): Promise<{ code: ErrorCode | undefined; message: string }> {
  try {
    const source = await Y4mSource.fromFile(writeY4m(bytes), options);
    await collect(source);
    return { code: undefined, message: '' };
  } catch (e) {
    if (SealcamError.is(e)) return { code: e.code, message: e.message };
    throw e;
  }
}

test('a 2-frame 64×48 file round-trips pixel for pixel with frame-rate timestamps', async (t) => {
  const payloads = frames(2);
  const source = await Y4mSource.fromFile(writeY4m(y4m(`YUV4MPEG2 W${W} H${H} F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG`, payloads)), { startTimeMs: T0 });
  t.deepEqual(source.info, { output: 'raw', width: W, height: H, fps: 25, description: 'y4m file clip-0.y4m' });
  const got = await collect(source);
  t.is(got.length, 2);
  t.deepEqual(got.map((f) => f.data), payloads);
  t.true(got.every((f) => f.data.length === i420Size(W, H) && f.type === 'raw'));
  t.deepEqual(got.map((f) => [f.index, f.timestampUs, f.captureTimeMs]), [[0, 0, T0], [1, 40_000, T0 + 40]]);
  await source.close();
});

test('a stream delivered in tiny random-sized pieces gives identical frames', async (t) => {
  const payloads = frames(3);
  const bytes = y4m(`YUV4MPEG2 W${W} H${H} F30000:1001 Ip`, payloads, 'FRAME Ixyz');
  const random = seededRandom('pieces');
  const pieces: Buffer[] = [];
  for (let off = 0; off < bytes.length; ) {
    const size = 1 + (random(1)[0]! % 13);
    pieces.push(bytes.subarray(off, off + size));
    off += size;
  }
  t.true(pieces.length > 1000);
  const source = await Y4mSource.fromStream(Readable.from(pieces), { startTimeMs: T0 }, 'stdin');
  t.is(source.info.fps, 30000 / 1001);
  t.is(source.info.description, 'stdin');
  const got = await collect(source);
  t.deepEqual(got.map((f) => f.data), payloads);
  t.deepEqual(got.map((f) => f.timestampUs), [0, 33_367, 66_733]);
});

test('the default start time is the clock when frame 0 is read', async (t) => {
  const source = await Y4mSource.fromStream(Readable.from([y4m(`YUV4MPEG2 W${W} H${H} F10:1`, frames(2))]), { now: () => T0 });
  const got = await collect(source);
  t.deepEqual(got.map((f) => f.captureTimeMs), [T0, T0 + 100]);
});

for (const chroma of ['', ' C420', ' C420jpeg', ' C420paldv', ' C420mpeg2']) {
  test(`chroma tag "${chroma.trim() || '(absent)'}" is I420`, async (t) => {
    const payloads = frames(1);
    const source = await Y4mSource.fromStream(Readable.from([y4m(`YUV4MPEG2 W${W} H${H} F30:1${chroma}`, payloads)]));
    t.deepEqual((await collect(source)).map((f) => f.data), payloads);
  });
}

test('maxFrames stops after that many frames and destroys the input stream', async (t) => {
  const payloads = frames(5);
  const input = Readable.from([y4m(`YUV4MPEG2 W${W} H${H} F30:1`, payloads)]);
  const source = await Y4mSource.fromStream(input, { maxFrames: 2 });
  const got = await collect(source);
  t.deepEqual(got.map((f) => f.data), payloads.slice(0, 2));
  t.true(input.destroyed);
});

test('close() during iteration ends it cleanly; units() is single-use', async (t) => {
  const source = await Y4mSource.fromFile(writeY4m(y4m(`YUV4MPEG2 W${W} H${H} F30:1`, frames(4))));
  const got: RawFrame[] = [];
  for await (const f of source.units()) {
    got.push(f);
    await source.close();
  }
  t.is(got.length, 1);
  await source.close();
  t.is(t.throws(() => source.units())?.message.startsWith('E_BAD_ARGUMENT'), true);
});

test('a file that ends mid-frame is E_TRUNCATED_INPUT naming the frame', async (t) => {
  const whole = y4m(`YUV4MPEG2 W${W} H${H} F30:1`, frames(2));
  const r = await codeOfFile(whole.subarray(0, whole.length - 100));
  t.is(r.code, 'E_TRUNCATED_INPUT');
  t.regex(r.message, /frame 1: input ends after 4508 of 4608 bytes/);
});

test('a file that ends inside a FRAME line is E_TRUNCATED_INPUT', async (t) => {
  const whole = y4m(`YUV4MPEG2 W${W} H${H} F30:1`, frames(1));
  const r = await codeOfFile(Buffer.concat([whole, ascii('FRA')]));
  t.is(r.code, 'E_TRUNCATED_INPUT');
  t.regex(r.message, /frame 1/);
});

test('a file that ends inside the stream header is E_TRUNCATED_INPUT', async (t) => {
  t.is((await codeOfFile(ascii(`YUV4MPEG2 W${W} H`))).code, 'E_TRUNCATED_INPUT');
  t.is((await codeOfFile(ascii('YUV4'))).code, 'E_TRUNCATED_INPUT');
});

const headerCases: Array<[string, string, ErrorCode]> = [
  ['4:2:2 chroma', `YUV4MPEG2 W${W} H${H} F30:1 C422`, 'E_UNSUPPORTED_PIXEL_FORMAT'],
  ['4:4:4 chroma', `YUV4MPEG2 W${W} H${H} F30:1 C444`, 'E_UNSUPPORTED_PIXEL_FORMAT'],
  ['monochrome', `YUV4MPEG2 W${W} H${H} F30:1 Cmono`, 'E_UNSUPPORTED_PIXEL_FORMAT'],
  ['10-bit 4:2:0', `YUV4MPEG2 W${W} H${H} F30:1 C420p10`, 'E_UNSUPPORTED_PIXEL_FORMAT'],
  ['top-field-first interlace', `YUV4MPEG2 W${W} H${H} F30:1 It`, 'E_UNSUPPORTED_PIXEL_FORMAT'],
  ['bottom-field-first interlace', `YUV4MPEG2 W${W} H${H} F30:1 Ib`, 'E_UNSUPPORTED_PIXEL_FORMAT'],
  ['mixed interlace', `YUV4MPEG2 W${W} H${H} F30:1 Im`, 'E_UNSUPPORTED_PIXEL_FORMAT'],
  ['odd width', `YUV4MPEG2 W63 H${H} F30:1`, 'E_MEDIA_HEADER'],
  ['odd height', `YUV4MPEG2 W${W} H47 F30:1`, 'E_MEDIA_HEADER'],
  ['missing W', `YUV4MPEG2 H${H} F30:1`, 'E_MEDIA_HEADER'],
  ['missing F', `YUV4MPEG2 W${W} H${H}`, 'E_MEDIA_HEADER'],
  ['zero frame rate', `YUV4MPEG2 W${W} H${H} F0:1`, 'E_MEDIA_HEADER'],
  ['non-numeric width', `YUV4MPEG2 Wabc H${H} F30:1`, 'E_MEDIA_HEADER'],
  ['huge width', `YUV4MPEG2 W100000 H${H} F30:1`, 'E_MEDIA_HEADER'],
  ['unknown tag', `YUV4MPEG2 W${W} H${H} F30:1 Z9`, 'E_MEDIA_HEADER'],
  ['wrong magic', `YUV4MPEG3 W${W} H${H} F30:1`, 'E_MEDIA_HEADER'],
];
for (const [name, header, code] of headerCases) {
  test(`stream header with ${name} is ${code}`, async (t) => {
    t.is((await codeOfFile(y4m(header, frames(1)))).code, code);
    t.is(t.throws(() => parseY4mStreamHeader(header))?.message.split(':')[0], code);
  });
}

test('an empty file, a non-Y4M file and an endless header line are E_MEDIA_HEADER', async (t) => {
  t.is((await codeOfFile(new Uint8Array(0))).code, 'E_MEDIA_HEADER');
  t.is((await codeOfFile(ascii('RIFF\0\0\0\0WAVEfmt '))).code, 'E_MEDIA_HEADER');
  t.is((await codeOfFile(Buffer.concat([ascii('YUV4MPEG2 X'), Buffer.alloc(1 << 20, 0x41)]))).code, 'E_MEDIA_HEADER');
});

test('garbage where a FRAME line belongs is E_MEDIA_HEADER naming the frame', async (t) => {
  const r = await codeOfFile(Buffer.concat([y4m(`YUV4MPEG2 W${W} H${H} F30:1`, frames(1)), ascii('FRAMX\n')]));
  t.is(r.code, 'E_MEDIA_HEADER');
  t.regex(r.message, /frame 1: expected a FRAME line/);
});

test('expectWidth / expectHeight that differ from the header are E_RESOLUTION_MISMATCH', async (t) => {
  const bytes = y4m(`YUV4MPEG2 W${W} H${H} F30:1`, frames(1));
  const r = await codeOfFile(bytes, { expectWidth: 1280, expectHeight: H });
  t.is(r.code, 'E_RESOLUTION_MISMATCH');
  t.regex(r.message, /expected 1280×48, stream header says 64×48/);
  t.is((await codeOfFile(bytes, { expectHeight: 720 })).code, 'E_RESOLUTION_MISMATCH');
  t.is((await codeOfFile(bytes, { expectWidth: W, expectHeight: H })).code, undefined);
});

test('misused options are E_BAD_ARGUMENT', async (t) => {
  const bytes = y4m(`YUV4MPEG2 W${W} H${H} F30:1`, frames(1));
  t.is((await codeOfFile(bytes, { maxFrames: 0 })).code, 'E_BAD_ARGUMENT');
  t.is((await codeOfFile(bytes, { expectWidth: 1.5 })).code, 'E_BAD_ARGUMENT');
});

test('a missing file is E_CAPTURE_FAILED', async (t) => {
  const e = await t.throwsAsync(Y4mSource.fromFile(join(dir, 'no-such.y4m')));
  t.true(SealcamError.is(e, 'E_CAPTURE_FAILED'));
});
