/**
 * The on-board agent, wired from its parts:
 *   board profile (board.ts) → camera home: identity, pairing, counters (home.ts)
 *   → capture source (media/synthetic.ts, media/process-source.ts)
 *   → epoch keys for the roster (protocol/epoch.ts) → sealer (protocol/seal.ts)
 *   → pipeline: encode, segment, seal (pipeline.ts) → sink (sink.ts; the MQTT uploader later).
 */
import { CameraEpochs, SealcamError, SegmentSealer, systemRandom, type RandomSource } from '../protocol/index.js';
import { ProcessSource } from '../media/process-source.js';
import { SyntheticSource, type Clock, type Overlay } from '../media/synthetic.js';
import { Y4mSource } from '../media/y4m.js';
import type { CaptureSource } from '../media/source.js';
import type { BoardProfile } from './board.js';
import { DeviceHome } from './home.js';
import { runPipeline, type PipelineProgress, type PipelineResult } from './pipeline.js';
import type { EnvelopeSink } from './sink.js';

export interface AgentOptions {
  board: BoardProfile;
  home: DeviceHome;
  sink: EnvelopeSink;
  /** stop after this many seconds of video */
  seconds: number;
  /** overrides of the board's video settings */
  video?: Partial<BoardProfile['video']>;
  /** pace the synthetic camera in real time (a live camera) instead of as fast as it encodes */
  realtime?: boolean;
  overlay?: Overlay;
  /** read video from this YUV4MPEG2 file ('-' for stdin) instead of the board's camera */
  y4m?: string;
  clock?: Clock;
  random?: RandomSource;
  onProgress?: (p: PipelineProgress) => void;
  onRosterChange?: (rosterVersion: number, epoch: number) => void;
  onRosterRefused?: (e: SealcamError) => void;
}

export interface AgentResult extends PipelineResult {
  cameraId: string;
  epoch: number;
  firstSeq: number;
  nextSeq: number;
}

export async function openCaptureSource(board: BoardProfile, video: BoardProfile['video'], maxFrames: number, options: { realtime?: boolean; overlay?: Overlay; clock?: Clock } = {}): Promise<CaptureSource> {
  const { width, height, fps } = video;
  if (board.capture.driver === 'synthetic') {
    const source = new SyntheticSource({ width, height, fps, maxFrames, realtime: options.realtime ?? false, ...(options.clock ? { clock: options.clock } : {}) });
    if (options.overlay) source.scene.setOverlay(options.overlay);
    return source;
  }
  const format = board.capture.format === 'raw' ? 'i420' : board.capture.format;
  return ProcessSource.start({ command: board.capture.command!, format, width, height, fps, maxFrames });
}

export async function runAgent(o: AgentOptions): Promise<AgentResult> {
  const video = { ...o.board.video, ...o.video };
  const random = o.random ?? systemRandom;
  const pairing = await o.home.pairing();
  const epochs = new CameraEpochs(o.home.identity, random, o.home.lastEpoch);
  // The epoch number is persisted before its key is used, so a reboot never reuses it.
  await o.home.recordEpoch(o.home.lastEpoch + 1);
  const announcement = epochs.rotate(pairing.roster, Date.now());
  await o.sink.announce(announcement, epochs.epoch.epoch);
  // A newer owner-signed roster (a viewer added or revoked) starts a new epoch at once (PROTOCOL.md §5).
  let rosterChain = Promise.resolve();
  o.sink.onRoster?.((bytes) => {
    rosterChain = rosterChain.then(async () => {
      try {
        const roster = await o.home.updateRoster(bytes);
        await o.home.recordEpoch(epochs.epoch.epoch + 1);
        const next = epochs.rotate(roster, Date.now());
        await o.sink.announce(next, epochs.epoch.epoch);
        o.onRosterChange?.(roster.rosterVersion, epochs.epoch.epoch);
      } catch (e) {
        if (!SealcamError.is(e)) throw e;
        o.onRosterRefused?.(e); // stale (a replayed retained roster) or not signed by the owner
      }
    });
  });

  const first = o.home.nextSeq;
  const sealer = new SegmentSealer(o.home.identity, epochs, random, first);
  const source = o.y4m
    ? await (o.y4m === '-' ? Y4mSource.fromStream(process.stdin, {}, 'y4m on stdin') : Y4mSource.fromFile(o.y4m))
    : await openCaptureSource(o.board, video, Math.round(o.seconds * video.fps), { realtime: o.realtime, overlay: o.overlay, clock: o.clock });
  const maxFrames = Math.round(o.seconds * source.info.fps);
  const result = await runPipeline({
    source,
    sealer,
    sink: o.sink,
    bitrate: video.bitrate,
    segmentSeconds: video.segmentSeconds,
    chunkFrames: video.chunkFrames,
    hardwareAcceleration: o.board.encoder.hardwareAcceleration,
    dropWhenBehind: o.realtime ?? false,
    maxFrames,
    beforeSegment: () => o.home.useSeq(sealer.nextSeq),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  await rosterChain;
  // The sink belongs to the caller: an uploader still has a spool to drain.
  return { ...result, cameraId: o.home.identity.idHex, epoch: epochs.epoch.epoch, firstSeq: first, nextSeq: sealer.nextSeq };
}
