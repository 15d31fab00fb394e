/**
 * The owner's live view in Node: MQTT messages of one camera → LiveSession (verify, hold, join,
 * confirm; PROTOCOL.md §7.5) → LiveDecoder (node-webcodecs). Used by `sealcam view --live` and
 * the demo. It keeps the stream state across restarts through `onSnapshot`, and reports what a
 * user needs to trust what they see: frames decoded, time to the first frame, chunks confirmed by
 * the camera's signature and chunks still unconfirmed, rejections by code, the camera's last-seen
 * time, alarms.
 */
import { LiveSession, SealcamError, cameraTopic, toHex, type ExpectedRoster, type Identity, type LiveEvent, type PublicIdentity, type StreamSnapshot } from '../protocol/index.js';
import { parseInitSegment } from '../media/cmaf.js';
import { connectMqtt } from '../media/mqtt.js';
import type { OwnerHome, PinnedCamera } from './home.js';
import type { RelayLogin } from './history.js';
import { LiveDecoder } from './live-decoder.js';

export interface LiveWatchOptions {
  identity: Identity;
  camera: PublicIdentity;
  snapshot?: StreamSnapshot;
  expectedRoster?: ExpectedRoster;
  maxAgeMs?: number;
  now?: () => number;
  /** called after each confirmed segment with the state to persist */
  onSnapshot?: (s: StreamSnapshot) => void;
  onEvent?: (e: LiveEvent) => void;
}

export interface LiveSummary {
  framesDecoded: number;
  msToFirstFrame: number | null;
  chunksAccepted: number;
  chunksConfirmed: number;
  chunksUnconfirmed: number;
  segmentsConfirmed: number;
  skippedBeforeJoin: number;
  rejected: Record<string, number>;
  alarms: string[];
  gaps: { from: number; to: number }[];
  /** ISO time of the newest chunk's capture (the camera's last-seen time), or null */
  cameraLastSeen: string | null;
  cameraStatus: string | null;
  /** glass to glass: capture → decoded frame, over every frame decoded (null: none) */
  glassToGlassMs: { p50: number | null; p95: number | null };
}

/** The p-th percentile (0..1) of `xs`, or null when empty. */
export const percentile = (xs: readonly number[], p: number): number | null => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : null);

export class LiveWatch {
  readonly session: LiveSession;
  private decoder: LiveDecoder | null = null;
  private readonly started: number;
  private firstFrameAt: number | null = null;
  private framesDecoded = 0;
  private readonly alarms: string[] = [];
  private readonly latencies: number[] = [];
  private status: string | null = null;
  private readonly now: () => number;

  constructor(private readonly o: LiveWatchOptions) {
    this.now = o.now ?? Date.now;
    this.started = this.now();
    this.session = new LiveSession(o.camera, o.identity, {
      now: this.now,
      ...(o.snapshot ? { snapshot: o.snapshot } : {}),
      ...(o.expectedRoster ? { expectedRoster: o.expectedRoster } : {}),
      ...(o.maxAgeMs !== undefined ? { maxAgeMs: o.maxAgeMs } : {}),
    });
  }

  /** One MQTT message of this camera (topic …/keys, …/live or …/status). */
  handle(topic: string, payload: Uint8Array): void {
    if (topic.endsWith('/status')) {
      this.status = new TextDecoder().decode(payload);
      return;
    }
    const channel = topic.endsWith('/keys') ? 'keys' : topic.endsWith('/live') ? 'live' : null;
    if (channel) for (const e of this.session.handle(channel, payload)) this.take(e);
  }

  /** Call about once a second: expires messages that waited too long for their keys. */
  tick(): void {
    for (const e of this.session.tick()) this.take(e);
  }

  private take(e: LiveEvent): void {
    this.o.onEvent?.(e);
    if (e.type === 'init' && (e.changed || !this.decoder)) {
      void this.decoder?.close();
      this.decoder = new LiveDecoder(parseInitSegment(e.payload), (_ts, captured) => {
        this.framesDecoded++;
        this.firstFrameAt ??= this.now();
        if (captured !== undefined) this.latencies.push(this.now() - captured);
      });
    } else if (e.type === 'chunk' && this.decoder && e.chunk.payload.length) {
      try {
        this.decoder.push(e.chunk.payload, e.chunk);
      } catch (err) {
        if (!SealcamError.is(err)) throw err;
        this.session.stats.rejected[err.code] = (this.session.stats.rejected[err.code] ?? 0) + 1;
      }
    } else if (e.type === 'confirmed') {
      this.o.onSnapshot?.(this.session.snapshot());
    } else if (e.type === 'alarm') {
      this.alarms.push(`${e.code}: ${e.message}`);
    }
  }

  /** Decode what is queued and stop. */
  async close(): Promise<void> {
    await this.decoder?.close();
  }

  summary(): LiveSummary {
    const s = this.session.stats;
    return {
      framesDecoded: this.framesDecoded,
      msToFirstFrame: this.firstFrameAt === null ? null : this.firstFrameAt - this.started,
      chunksAccepted: s.chunksAccepted,
      chunksConfirmed: s.chunksConfirmed,
      chunksUnconfirmed: this.session.chunksUnconfirmed,
      segmentsConfirmed: s.segmentsConfirmed,
      skippedBeforeJoin: s.skippedBeforeJoin,
      rejected: { ...s.rejected } as Record<string, number>,
      alarms: [...this.alarms],
      gaps: [...s.gaps],
      cameraLastSeen: s.lastCaptureTime === null ? null : new Date(s.lastCaptureTime).toISOString(),
      cameraStatus: this.status,
      glassToGlassMs: { p50: percentile(this.latencies, 0.5), p95: percentile(this.latencies, 0.95) },
    };
  }
}

export interface WatchLiveOptions {
  home: OwnerHome;
  cam: PinnedCamera;
  login: RelayLogin;
  mqttUrl: string;
  /** stop after this many seconds */
  seconds: number;
  maxAgeMs?: number;
  log?: (m: string) => void;
}

/**
 * `sealcam view --live`: subscribe to the camera's keys, live and status topics, watch for
 * `seconds`, persist the stream state after every confirmed segment, and return the summary.
 */
export async function watchLive(o: WatchLiveOptions): Promise<LiveSummary> {
  const cameraId = toHex(o.cam.camera.id);
  let saving = Promise.resolve();
  const watch = new LiveWatch({
    identity: o.home.identity,
    camera: o.cam.camera,
    ...(o.maxAgeMs !== undefined ? { maxAgeMs: o.maxAgeMs } : {}),
    snapshot: (await o.home.streamState(cameraId)) ?? undefined,
    expectedRoster: o.home.expectedRoster(o.cam),
    onSnapshot: (s) => {
      saving = saving.then(() => o.home.saveStreamState(cameraId, s));
    },
    onEvent: (e) => {
      if (e.type === 'alarm') o.log?.(`ALARM ${e.code}: ${e.message}`);
    },
  });
  const client = await connectMqtt(o.mqttUrl, o.login, { reconnectPeriod: 1000 });
  try {
    client.on('message', (topic, payload) => watch.handle(topic, new Uint8Array(payload)));
    await client.subscribeAsync(['keys', 'live', 'status'].map((ch) => cameraTopic(o.login.account, cameraId, ch as 'keys')), { qos: 1 });
    const timer = setInterval(() => {
      watch.tick();
      const s = watch.summary();
      o.log?.(`  live: ${s.framesDecoded} frames decoded, ${s.chunksConfirmed} chunks confirmed, ${s.chunksUnconfirmed} unconfirmed, rejected ${JSON.stringify(s.rejected)}`);
    }, 1000);
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    clearInterval(timer);
  } finally {
    await client.endAsync();
  }
  watch.tick();
  await watch.close();
  await saving;
  return watch.summary();
}

/** The summary as a person reads it. */
export function describeLive(s: LiveSummary): string {
  const lines = [
    `live: ${s.framesDecoded} frames decoded; first frame after ${s.msToFirstFrame === null ? 'n/a (none)' : `${s.msToFirstFrame} ms`}`,
    `  chunks: ${s.chunksConfirmed} confirmed by the camera's signature, ${s.chunksUnconfirmed} unconfirmed, ${s.skippedBeforeJoin} skipped while joining mid-segment`,
    `  rejected: ${Object.entries(s.rejected).map(([c, n]) => `${n} ${c}`).join(', ') || 'none'}; gaps: ${s.gaps.map((g) => `${g.from}..${g.to}`).join(', ') || 'none'}`,
    `  camera last seen: ${s.cameraLastSeen ?? 'never during this view'}`,
    ...s.alarms.map((a) => `  ALARM ${a}`),
  ];
  return `${lines.join('\n')}\n`;
}
