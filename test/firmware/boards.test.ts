/** Board profiles (boards/*.json, src/device/board.ts): facts, schema file, and a schema fuzz. */
import test from 'ava';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { BOARDS_DIR, boardJsonSchema, listBoardNames, loadBoard, parseBoardProfile } from '../../src/device/board.js';
import { SealcamError } from '../../src/protocol/errors.js';

test('boards/schema.json is the JSON Schema generated from the zod schema (regenerate: npm run boards:schema)', async (t) => {
  const onDisk = JSON.parse(await readFile(`${BOARDS_DIR}schema.json`, 'utf8'));
  t.deepEqual(onDisk, boardJsonSchema());
});

test('every profile loads, and the required boards say what is true of their hardware', async (t) => {
  const names = await listBoardNames();
  for (const n of ['sim', 'rpi-zero-2w', 'rpi-4b', 'rpi-5', 'generic-x64-uvc', 'generic-arm64-uvc', 'rockchip-rk3588', 'nvidia-jetson-orin-nano']) t.true(names.includes(n), n);
  const b = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await loadBoard(n)] as const)));
  const zero = b['rpi-zero-2w']!;
  t.is(zero.ramMB, 512);
  t.is(zero.arch, 'arm64');
  t.is(zero.encoder.strategy, 'passthrough');
  t.deepEqual(zero.capture.command!.slice(0, 1), ['rpicam-vid']);
  t.true(zero.capture.command!.includes('--inline') && zero.capture.command!.join(' ').includes('--codec h264') && zero.capture.command!.at(-1) === '-');
  t.is(b['rpi-4b']!.encoder.socH264Encoder, 'used');
  t.is(b['rpi-5']!.encoder.socH264Encoder, 'absent');
  t.is(b['rpi-5']!.encoder.strategy, 'webcodecs');
  t.regex(b['rpi-5']!.encoder.notes!, /1080p30/);
  t.is(b['nvidia-jetson-orin-nano']!.encoder.socH264Encoder, 'absent');
  t.regex(b['nvidia-jetson-orin-nano']!.encoder.notes!, /no NVENC/);
  t.is(b['rockchip-rk3588']!.encoder.socH264Encoder, 'unused');
  t.regex(b['rockchip-rk3588']!.encoder.notes!, /SOFTWARE/);
  for (const n of ['generic-x64-uvc', 'generic-arm64-uvc']) {
    const cmd = b[n]!.capture.command!.join(' ');
    t.true(cmd.startsWith('ffmpeg') && cmd.includes('-f v4l2') && cmd.includes('-f yuv4mpegpipe'), n);
    t.is(b[n]!.capture.format, 'y4m');
  }
  t.is(b['generic-x64-uvc']!.arch, 'x64');
  t.is(b['generic-arm64-uvc']!.arch, 'arm64');
  for (const board of Object.values(b)) {
    if (board.capture.driver === 'process') t.true(['y4m', 'i420', 'h264'].includes(board.capture.format), `${board.name}: ProcessSource format`);
    if (board.service === 'systemd') t.true(board.memoryMaxMB! < board.ramMB);
  }
  t.is(b['sim']!.capture.driver, 'synthetic');
});

const fieldPaths = ['name', 'description', 'soc', 'arch', 'ramMB', 'capture', 'capture.driver', 'capture.format', 'encoder', 'encoder.strategy', 'encoder.hardwareAcceleration', 'encoder.socH264Encoder', 'video', 'video.width', 'video.height', 'video.fps', 'video.bitrate', 'video.segmentSeconds', 'video.chunkFrames', 'spool', 'spool.dir', 'spool.maxBytes', 'flash', 'flash.method', 'service', 'memoryMaxMB'];
const badValues = fc.oneof(fc.constant(null), fc.constant(-1), fc.constant(0.5), fc.constant(''), fc.constant('???'), fc.constant([]), fc.constant({}), fc.constant(true), fc.constant(1e12), fc.string({ maxLength: 5 }));

test('schema fuzz: a profile with any field set to a wrong value fails with E_BOARD_PROFILE naming that field', async (t) => {
  const base = JSON.parse(await readFile(`${BOARDS_DIR}rpi-5.json`, 'utf8')) as Record<string, unknown>;
  let rejected = 0;
  fc.assert(
    fc.property(fc.constantFrom(...fieldPaths), badValues, fc.boolean(), (path, value, remove) => {
      const profile = structuredClone(base);
      const parts = path.split('.');
      let node = profile as Record<string, unknown>;
      for (const p of parts.slice(0, -1)) node = node[p] as Record<string, unknown>;
      if (remove) delete node[parts.at(-1)!];
      else node[parts.at(-1)!] = value;
      let error: unknown;
      try {
        parseBoardProfile(profile, 'fuzz.json');
      } catch (e) {
        error = e;
      }
      if (error === undefined) return true; // the value happened to be valid (e.g. a valid string, or removing an optional field)
      rejected++;
      if (!SealcamError.is(error, 'E_BOARD_PROFILE')) return false;
      // The message names the field (or its parent object, for a missing nested key).
      return error.message.includes('fuzz.json') && (error.message.includes(`"${path}"`) || error.message.includes(`"${parts.slice(0, -1).join('.')}`) || error.message.includes(`"${parts[0]}`));
    }),
    { seed: 20260101, numRuns: 500 },
  );
  t.true(rejected > 300, `${rejected} rejections`);
});

test('fuzzed unknown fields and junk documents are rejected clearly', (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), (junk) => {
      try {
        parseBoardProfile(junk, 'junk.json');
        return false;
      } catch (e) {
        return SealcamError.is(e, 'E_BOARD_PROFILE') && /junk\.json: field "/.test(e.message);
      }
    }),
    { seed: 7, numRuns: 300 },
  );
  const error = t.throws(() => parseBoardProfile({ ...JSON.parse('{"name":"x"}'), extra: 1 }, 'extra.json'));
  t.regex(error!.message, /E_BOARD_PROFILE: extra\.json: field "/);
});

test('sim stays as it was: synthetic capture, no service, no memoryMaxMB needed', async (t) => {
  const sim = await loadBoard('sim');
  t.is(sim.service, 'none');
  t.is(sim.memoryMaxMB, undefined);
  const error = t.throws(() => parseBoardProfile({ ...sim, service: 'systemd' }, 'sim-systemd.json'));
  t.regex(error!.message, /field "memoryMaxMB"/);
});
