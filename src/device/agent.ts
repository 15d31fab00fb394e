/**
 * The on-board agent, wired from its parts:
 *   board profile (board.ts) → camera home: identity, pairing, counters (home.ts)
 *   → capture source (media/synthetic.ts, media/process-source.ts)
 *   → epoch keys for the roster (protocol/epoch.ts) → sealer (protocol/seal.ts)
 *   → pipeline: encode, segment, seal (pipeline.ts) → sink (sink.ts; the MQTT uploader later).
 */
import { CameraEpochs, SealcamError, SegmentSealer, equalBytes, parsePaddingPolicy, systemRandom, type RandomSource, type Roster } from '../protocol/index.js';
import { ProcessSource } from '../media/process-source.js';
import { SyntheticSource, type Clock, type Overlay, type StillScene } from '../media/synthetic.js';
import { MotionDetector, type MotionConfig } from '../media/motion.js';
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
  /** stop after this many seconds of video (default: when the source ends or `signal` aborts) */
  seconds?: number;
  /** stop when aborted (the last segment still carries FINAL) */
  signal?: AbortSignal;
  /** overrides of the board's video settings */
  video?: Partial<BoardProfile['video']>;
  /** pace the synthetic camera in real time (a live camera) instead of as fast as it encodes */
  realtime?: boolean;
  overlay?: Overlay;
  /** the sim camera's scene: a quiet room, and when something crosses it (motion tests) */
  scene?: StillScene;
  /**
   * motion detection (PROTOCOL.md §16): settings over the board profile's `motion`; null: off
   * whatever the profile says; absent: as the profile says (off when it has no `motion`)
   */
  motion?: Partial<MotionConfig> | null;
  /** read video from this YUV4MPEG2 file ('-' for stdin) instead of the board's camera */
  y4m?: string;
  clock?: Clock;
  random?: RandomSource;
  onProgress?: (p: PipelineProgress) => void;
  onRosterChange?: (rosterVersion: number, epoch: number) => void;
  onRosterRefused?: (e: SealcamError) => void;
  /** how long to wait for the relay's retained roster before the first epoch (default 5 s) */
  rosterWaitMs?: number;
  /** which roster the run is sealed for: the relay's retained one, or the one on disk after the wait */
  onRosterSync?: (r: { rosterVersion: number; fromRelay: boolean; waitedMs: number }) => void;
}

export const DEFAULT_ROSTER_WAIT_MS = 5_000;

async function sameAsHeld(home: DeviceHome, bytes: Uint8Array): Promise<boolean> {
  return equalBytes((await home.pairing()).rosterBytes, bytes);
}

export interface AgentResult extends PipelineResult {
  cameraId: string;
  epoch: number;
  firstSeq: number;
  nextSeq: number;
}

/** `maxFrames` undefined: the source runs until it is closed (a camera) or ends (a file). */
export async function openCaptureSource(board: BoardProfile, video: BoardProfile['video'], maxFrames: number | undefined, options: { realtime?: boolean; overlay?: Overlay; clock?: Clock; scene?: StillScene } = {}): Promise<CaptureSource> {
  const { width, height, fps } = video;
  if (board.capture.driver === 'synthetic') {
    const source = new SyntheticSource({ width, height, fps, ...(maxFrames !== undefined ? { maxFrames } : {}), realtime: options.realtime ?? false, ...(options.clock ? { clock: options.clock } : {}) });
    if (options.overlay) source.scene.setOverlay(options.overlay);
    if (options.scene) source.scene.setStill(options.scene);
    return source;
  }
  const format = board.capture.format === 'raw' ? 'i420' : board.capture.format;
  return ProcessSource.start({ command: board.capture.command!, format, width, height, fps, ...(maxFrames !== undefined ? { maxFrames } : {}) });
}

/** A board profile's motion settings without their on/off switch. */
function withoutEnabled(m: Partial<MotionConfig> & { enabled?: boolean }): Partial<MotionConfig> {
  const { enabled: _enabled, ...config } = m;
  return config;
}

export async function runAgent(o: AgentOptions): Promise<AgentResult> {
  const video = { ...o.board.video, ...o.video };
  const random = o.random ?? systemRandom;
  await o.home.pairing(); // E_NOT_PAIRED before anything starts
  const epochs = new CameraEpochs(o.home.identity, random, o.home.lastEpoch);
  let sealing = false;
  // A new epoch: its number is persisted before its key exists, so a reboot never reuses it, and
  // its announcement is handed to the sink before the first chunk is sealed under it (§5.1).
  const startEpoch = async (roster: Roster): Promise<number> => {
    await o.home.recordEpoch(o.home.lastEpoch + 1);
    const next = epochs.prepare(roster, Date.now());
    await o.sink.announce(next.announcement, next.epoch);
    epochs.activate(next);
    return next.epoch;
  };
  // A newer owner-signed roster (a viewer added or revoked) starts a new epoch at once (PROTOCOL.md §5).
  let rosterChain = Promise.resolve();
  let rosterSeen = false;
  o.sink.onRoster?.((bytes) => {
    rosterChain = rosterChain.then(async () => {
      rosterSeen = true;
      try {
        const roster = await o.home.updateRoster(bytes);
        if (!sealing) return; // before the first epoch: the wait below picks it up
        const epoch = await startEpoch(roster);
        o.onRosterChange?.(roster.rosterVersion, epoch);
      } catch (e) {
        if (!SealcamError.is(e)) throw e;
        if (SealcamError.is(e, 'E_STALE_ROSTER') && (await sameAsHeld(o.home, bytes))) return; // the retained copy of the roster we hold
        o.onRosterRefused?.(e); // stale (a replayed retained roster) or not signed by the owner
      }
    });
  });
  // Never seal a run for a roster the owner has already replaced: wait (bounded) for the roster
  // the relay retains, and say which roster the run is sealed for (§5.1, THREAT-MODEL R2).
  const t0 = Date.now();
  const waited = o.sink.onRoster !== undefined && o.sink.rosterArrived !== undefined;
  if (waited) {
    await o.sink.rosterArrived!(o.rosterWaitMs ?? DEFAULT_ROSTER_WAIT_MS);
    await rosterChain;
  }
  const { roster } = await o.home.pairing();
  if (waited) o.onRosterSync?.({ rosterVersion: roster.rosterVersion, fromRelay: rosterSeen, waitedMs: Date.now() - t0 });
  await startEpoch(roster);
  sealing = true;

  const first = o.home.nextSeq;
  const sealer = new SegmentSealer(o.home.identity, epochs, random, first, { padding: parsePaddingPolicy(video.padding ?? 'off') });
  const source = o.y4m
    ? await (o.y4m === '-' ? Y4mSource.fromStream(process.stdin, {}, 'y4m on stdin') : Y4mSource.fromFile(o.y4m))
    : await openCaptureSource(o.board, video, o.seconds === undefined ? undefined : Math.round(o.seconds * video.fps), { realtime: o.realtime, overlay: o.overlay, clock: o.clock, scene: o.scene });
  const maxFrames = o.seconds === undefined ? undefined : Math.round(o.seconds * source.info.fps);
  const motionConfig = o.motion === null ? null : o.motion !== undefined ? { ...o.board.motion, ...o.motion } : o.board.motion?.enabled ? o.board.motion : null;
  if (motionConfig && source.info.output !== 'raw') {
    await source.close();
    throw new SealcamError('E_CONFIG', `motion detection needs raw frames, but ${o.board.name} passes its camera's H.264 through: turn motion off for this board`);
  }
  const motion = motionConfig ? new MotionDetector(source.info.width, source.info.height, withoutEnabled(motionConfig)) : undefined;
  const result = await runPipeline({
    source,
    sealer,
    sink: o.sink,
    bitrate: video.bitrate,
    segmentSeconds: video.segmentSeconds,
    chunkFrames: video.chunkFrames,
    hardwareAcceleration: o.board.encoder.hardwareAcceleration,
    dropWhenBehind: o.realtime ?? false,
    ...(maxFrames !== undefined ? { maxFrames } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    beforeSegment: () => o.home.useSeq(sealer.nextSeq),
    ...(motion ? { motion } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  await rosterChain;
  // The sink belongs to the caller: an uploader still has a spool to drain.
  return { ...result, cameraId: o.home.identity.idHex, epoch: epochs.epoch.epoch, firstSeq: first, nextSeq: sealer.nextSeq };
}
