/** `sealcam device …`: the on-board agent. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { positiveInt, positiveNumber } from './options.js';
import { loadBoard } from '../device/board.js';
import { DeviceHome } from '../device/home.js';
import { openCaptureSource, runAgent } from '../device/agent.js';
import { codeFromImage, pairAsCamera, scanForCode } from '../device/pair.js';
import { DirectorySink, withHeartbeat, type EnvelopeSink } from '../device/sink.js';
import { ServiceNotifier } from '../device/service-notify.js';
import type { BoardProfile } from '../device/board.js';
import { reportError } from './report-error.js';
import { Spool } from '../device/spool.js';
import { MqttUploader } from '../device/uploader.js';
import { SealcamError } from '../protocol/errors.js';
import { parseFirmwarePublicKey } from '../protocol/firmware-image.js';
import { formatPaddingPolicy, parsePaddingPolicy } from '../protocol/padding.js';
import { OtaClient, MqttUpdateTransport } from '../device/ota.js';
import { SlotStore } from '../device/slots.js';
import { readFile } from 'node:fs/promises';
import { connectMqtt } from '../media/mqtt.js';
import { Y4mSource } from '../media/y4m.js';


interface RunOptions {
  board: string;
  home: string;
  out: string;
  seconds?: number;
  bitrate?: number;
  segmentSeconds?: number;
  chunkFrames?: number;
  pad?: string;
  motion?: boolean;
  realtime?: boolean;
  y4m?: string;
  upload?: boolean;
  spoolBytes?: number;
  uploadTimeout: number;
  json?: boolean;
}

export function registerDevice(program: Command): void {
  const device = program.command('device').description('the camera-side agent');
  device
    .command('pair')
    .description("pair this camera with its owner: read the owner's code through the board's camera (or --qr-image / --code), answer over the relay, pin the owner")
    .requiredOption('--board <name>', 'board profile (its capture source is scanned for the code)')
    .option('--home <dir>', 'camera home (created on first run, mode 0700)', 'sealcam-device')
    .option('--qr-image <file>', 'read the code from a PNG instead of the camera')
    .option('--code <text>', 'take the code as text (SC1:…) instead of the camera')
    .option('--timeout <seconds>', 'how long to look for a code and wait for the owner', positiveNumber, 300)
    .action(async (opts: { board: string; home: string; qrImage?: string; code?: string; timeout: number }) => {
      const board = await loadBoard(opts.board);
      const home = await DeviceHome.open(resolve(opts.home));
      // --timeout bounds the whole pairing: looking for the code, the relay, the owner's answer.
      const deadline = Date.now() + opts.timeout * 1000;
      let text = opts.code;
      if (!text && opts.qrImage) text = await codeFromImage(opts.qrImage);
      if (!text) {
        process.stderr.write(`looking for a pairing code through the ${board.name} camera…\n`);
        const frames = Math.ceil(opts.timeout * board.video.fps);
        text = await scanForCode(await openCaptureSource(board, board.video, frames, { realtime: true }), { timeoutMs: opts.timeout * 1000 });
      }
      const r = await pairAsCamera(home, text, { timeoutMs: Math.max(1, deadline - Date.now()), onIgnored: (e) => process.stderr.write(`ignored a message on the pairing topic: ${e.message}\n`) });
      process.stderr.write(`${r.ignored} invalid messages on the pairing topic ignored\n`);
      process.stdout.write(`camera ${home.identity.idHex} paired with owner ${Buffer.from(r.offer.owner.id).toString('hex')} (account ${r.account})\nconfirmation code ${r.code}\n`);
    });
  device
    .command('update-watch')
    .description('the OTA client: listen (with the camera\'s relay login) for signed firmware announcements for this board, verify with the pinned firmware key, install into the inactive slot, health-check, confirm or roll back. Runs as the privileged update service, not as the agent')
    .requiredOption('--board <name>', 'this board (announcements for other boards are refused)')
    .requiredOption('--root <dir>', 'the installation root holding slots/ and current (e.g. /opt/sealcam)')
    .requiredOption('--pubkey <file>', 'the pinned firmware public key (KEY.pub)')
    .option('--home <dir>', 'camera home (for its relay login)', 'sealcam-device')
    .option('--once', 'apply the current announcement (if any) and exit')
    .action(async (opts: { board: string; root: string; pubkey: string; home: string; once?: boolean }) => {
      const home = await DeviceHome.open(resolve(opts.home));
      const login = await home.relay();
      if (!login) throw new SealcamError('E_NOT_PAIRED', 'no relay login: pair the camera first');
      const publicKey = parseFirmwarePublicKey(await readFile(opts.pubkey, 'utf8'), opts.pubkey);
      const client = await connectMqtt(login.url, login, { reconnectPeriod: 5000 });
      const ota = new OtaClient({ board: opts.board, publicKey, slots: new SlotStore(resolve(opts.root)), transport: new MqttUpdateTransport(client) });
      let done!: () => void;
      const first = new Promise<void>((r) => (done = r));
      const stop = await ota.listen((outcome) => {
        if (outcome instanceof Error) process.stderr.write(`update refused: ${outcome.message}\n`);
        else if (outcome.kind === 'current') process.stdout.write(`firmware ${outcome.announcement.version} is current\n`);
        else process.stdout.write(`installed firmware ${outcome.announcement.version} into slot ${outcome.result.slot}\n`);
        done();
      });
      process.stderr.write(`watching sc/v1/fw/${opts.board}/announce\n`);
      if (opts.once) {
        await Promise.race([first, new Promise((r) => setTimeout(r, 10_000))]);
        await stop();
        await client.endAsync();
      }
    });
  device
    .command('reset')
    .description("factory reset: erase the camera's keys, owner, roster and relay login; it must be paired again (old codes stay refused)")
    .option('--home <dir>', 'camera home', 'sealcam-device')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .action(async (opts: { home: string }) => {
      const home = await DeviceHome.open(resolve(opts.home));
      const old = home.identity.idHex;
      await home.erase();
      process.stdout.write(`camera ${old} erased; a new identity is made at the next start, and it must be paired again\n`);
    });
  device
    .command('run')
    .description(
      'capture, encode (H.264), cut fMP4 segments and seal each one for the paired owner, writing sealed envelopes to --out (or uploading them). ' +
        'Runs until SIGINT/SIGTERM (or --seconds): the last segment is closed with FINAL. Under systemd (Type=notify) it reports READY, WATCHDOG and STOPPING. ' +
        'The camera must be paired: it never produces unsealed output',
    )
    .requiredOption('--board <name>', 'board profile from boards/ (e.g. sim) or a path to a profile .json')
    .option('--home <dir>', 'camera home: identity, pairing, counters (created on first run, mode 0700)', 'sealcam-device')
    .option('--out <dir>', 'directory for sealed envelopes (epoch-*.sck, seg-*.scs) when not uploading', 'sealcam-out')
    .option('--upload', "upload to the relay with the camera's own login (relay.json in --home, from pairing), through the on-disk spool")
    .option('--spool-bytes <n>', "spool cap in bytes (default: the board profile)", positiveInt)
    .option('--upload-timeout <seconds>', `with --upload: how long to wait at the end for the spool to drain; if it does not, the run exits ${EXIT_SPOOL_PENDING} (E_SPOOL) and the spool uploads at the next start`, positiveNumber, 60)
    .option('--seconds <n>', 'seconds of video to capture (default: until SIGINT/SIGTERM, or the end of --y4m)', positiveNumber)
    .option('--bitrate <bps>', 'H.264 bitrate in bits per second (default: the board profile)', positiveInt)
    .option('--segment-seconds <n>', 'media segment length (default: the board profile)', positiveNumber)
    .option('--chunk-frames <n>', 'frames per live chunk (default: the board profile)', positiveInt)
    .option('--motion', "detect motion on the captured frames and seal each event (times, moving area, its segments, a thumbnail) like video (PROTOCOL.md §16; default: the board profile's motion section, else off); --no-motion turns it off")
    .option('--no-motion', 'no motion detection, whatever the board profile says')
    .option('--pad <policy>', 'size padding inside the ciphertext, so the relay learns only a size bucket (PROTOCOL.md §6.5): off, standard (every half power of two from 1K to 256K; segment=64K), or chunks=SIZE,…[;segment=SIZE] (default: the board profile, else off)')
    .option('--y4m <file>', "read YUV4MPEG2 video from a file, or '-' for stdin (e.g. ffmpeg -f v4l2 -i /dev/video0 -f yuv4mpegpipe -), instead of the board's camera")
    .option('--realtime', 'pace the sim camera in real time and drop frames the encoder cannot keep up with, like a live camera')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: RunOptions) => {
      const board = await loadBoard(opts.board);
      const padding = opts.pad !== undefined ? formatPaddingPolicy(parsePaddingPolicy(opts.pad)) : undefined; // E_CONFIG before anything starts
      if (opts.y4m && opts.y4m !== '-') await checkEncodable(opts.y4m);
      const home = await DeviceHome.open(resolve(opts.home));
      const notifier = new ServiceNotifier({ log: (m) => process.stderr.write(`  systemd: ${m}\n`) });
      const stop = stopOnSignals(notifier);
      try {
        await runDevice(opts, { board, home, padding }, notifier, stop.signal);
      } finally {
        stop.dispose();
        notifier.unwatch();
        await notifier.settled();
      }
    });
}

/**
 * Exit status of a run that stopped with envelopes still in the spool (the relay did not take them
 * within --upload-timeout): EX_TEMPFAIL of sysexits.h. Nothing is lost: they upload at the next start.
 */
export const EXIT_SPOOL_PENDING = 75;

/**
 * SIGINT and SIGTERM abort the run: the agent closes the current segment with FINAL, and the spool
 * drains within --upload-timeout. A second signal exits at once (the spool keeps what it holds).
 */
function stopOnSignals(notifier: ServiceNotifier): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`  ${sig} again: stopping now; what the spool holds uploads at the next start\n`);
      process.exit(EXIT_SPOOL_PENDING);
    }
    process.stderr.write(`  ${sig}: closing the current segment (FINAL), then draining the spool\n`);
    void notifier.stopping(`stopping (${sig}): closing the current segment`);
    controller.abort();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSignal).off('SIGTERM', onSignal) };
}

async function runDevice(opts: RunOptions, { board, home, padding }: { board: BoardProfile; home: DeviceHome; padding: string | undefined }, notifier: ServiceNotifier, signal: AbortSignal): Promise<void> {
  let sink: EnvelopeSink;
  let uploader: MqttUploader | null = null;
  let spool: Spool | null = null;
  if (opts.upload) {
    const login = await home.relay();
    if (!login) throw new SealcamError('E_NOT_PAIRED', `no relay login in ${home.dir}/relay.json: pair the camera with a relay first`);
    spool = await Spool.open(resolve(home.dir, board.spool.dir), opts.spoolBytes ?? board.spool.maxBytes);
    uploader = new MqttUploader({ ...login, cameraId: home.identity.idHex, spool, log: (m) => process.stderr.write(`  relay: ${m}\n`) });
    // Do not wait for the relay to stream: the spool holds everything until it is reachable.
    const first = uploader.start();
    const reachable = await Promise.race([first.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    if (!reachable) process.stderr.write(`  relay ${login.url} not reachable yet: spooling to ${spool.dir}\n`);
    sink = uploader;
  } else {
    sink = new DirectorySink(resolve(opts.out));
  }
  const started = Date.now();
  const video = {
    ...(opts.bitrate ? { bitrate: opts.bitrate } : {}),
    ...(opts.segmentSeconds ? { segmentSeconds: opts.segmentSeconds } : {}),
    ...(opts.chunkFrames ? { chunkFrames: opts.chunkFrames } : {}),
    ...(padding !== undefined ? { padding } : {}),
  };
  const total = opts.seconds === undefined ? null : Math.round(opts.seconds * board.video.fps);
  // The service's view of the run: READY=1 at the first sealed envelope, WATCHDOG=1 while chunks flow.
  const live = { chunks: 0, segments: 0, lastSeq: -1 };
  const statusLine = () =>
    `${live.segments} segments sealed (last seq ${live.lastSeq}), ${live.chunks} chunks` +
    (uploader ? `; relay ${uploader.isConnected ? 'connected' : 'offline'}, ${spool!.pending().length} envelopes spooled, ${spool!.status.evicted} evicted` : '');
  const watched = withHeartbeat(sink, (what, info) => {
    if (what === 'live') live.chunks++;
    else {
      live.segments++;
      live.lastSeq = info!.seq;
      if (live.segments === 1) void notifier.markReady(`running: ${statusLine()}`);
    }
  });
  notifier.watch(() => live.chunks + live.segments, () => `running: ${statusLine()}`);
  const result = await runAgent({
    board,
    home,
    sink: watched,
    ...(opts.seconds !== undefined ? { seconds: opts.seconds } : {}),
    signal,
    video,
    realtime: opts.realtime ?? false,
    ...(opts.y4m ? { y4m: opts.y4m } : {}),
    ...(opts.motion === true ? { motion: {} } : opts.motion === false ? { motion: null } : {}),
    onProgress: (p) => {
      const fps = p.framesCaptured / ((Date.now() - started) / 1000);
      process.stderr.write(
        `  frames ${p.framesCaptured}${total === null ? '' : `/${total}`} captured, ${p.encoder?.encoded ?? p.segmenter.frames} encoded, ${p.encoder?.dropped ?? 0} dropped · ${p.segmentsSealed} segments sealed · ${fps.toFixed(1)} fps\n`,
      );
    },
  });
  notifier.unwatch();
  if (!signal.aborted) void notifier.stopping(`stopping: ${statusLine()}`);
  let spooled = 0;
  if (!uploader) await sink.close();
  if (uploader) {
    void notifier.status(`draining the spool: ${statusLine()}`);
    await uploader.flush(opts.uploadTimeout * 1000).catch(() => (spooled = spool!.pending().length));
    await uploader.close();
  }
  const summary = {
    cameraId: result.cameraId,
    board: board.name,
    codec: result.codec,
    epoch: result.epoch,
    framesCaptured: result.framesCaptured,
    framesEncoded: result.encoder?.encoded ?? result.segmenter.frames,
    framesDropped: result.encoder?.dropped ?? 0,
    framesSegmented: result.segmenter.frames,
    segmentsSealed: result.segmentsSealed,
    liveChunks: result.liveChunks,
    bytesSealed: result.bytesSealed,
    seqs: [result.firstSeq, result.nextSeq - 1],
    stoppedBy: signal.aborted ? 'signal' : 'end',
    out: sink instanceof DirectorySink ? sink.dir : null,
    upload: uploader ? { ...uploader.stats, spooled, evicted: spool!.status.evicted } : null,
    seconds: (Date.now() - started) / 1000,
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    process.stdout.write(
      [
        `camera ${summary.cameraId} (${summary.board}), ${summary.codec ?? 'h264'}, epoch ${summary.epoch}`,
        `  frames   ${summary.framesCaptured} captured, ${summary.framesEncoded} encoded, ${summary.framesDropped} dropped`,
        `  sealed   ${summary.segmentsSealed} segments (seq ${summary.seqs[0]}..${summary.seqs[1]}), ${summary.liveChunks} live chunks, ${summary.bytesSealed} bytes`,
        summary.out ? `  written  ${summary.out}` : `  uploaded ${uploader!.stats.envelopesUploaded} envelopes in ${uploader!.stats.piecesPublished} messages, ${uploader!.stats.liveSent} live chunks sent`,
        '',
      ].join('\n'),
    );
  }
  if (spooled > 0) {
    reportError(new SealcamError('E_SPOOL', `${spooled} envelopes stay spooled in ${spool!.dir}: the relay did not take them within --upload-timeout ${opts.uploadTimeout} s; they upload at the next start`));
    process.exitCode = EXIT_SPOOL_PENDING;
  }
}

/**
 * The largest frame the H.264 encoder takes: MaxFS of level 5.1/5.2, 36 864 macroblocks of 16×16
 * (ITU-T H.264 Table A-1), which openh264 enforces. Checked before anything is encoded or written.
 */
const H264_MAX_FRAME_PIXELS = 36_864 * 16 * 16;

async function checkEncodable(y4m: string): Promise<void> {
  const source = await Y4mSource.fromFile(y4m);
  const { width, height } = source.info;
  await source.close();
  if (width * height > H264_MAX_FRAME_PIXELS) {
    throw new SealcamError('E_ENCODER', `${y4m} is ${width}x${height}: the H.264 encoder takes at most ${H264_MAX_FRAME_PIXELS} pixels a frame (e.g. 4096x2304); scale it first, e.g. ffmpeg -i IN -vf scale=1920:-2 -f yuv4mpegpipe OUT`);
  }
}
