/**
 * A live viewer's session with one camera (PROTOCOL.md §7.5). Everything that arrives on the
 * camera's `live` and `keys` topics goes through `handle`, which returns what happened, in order.
 * Every live viewer (the CLI, the browser page, the demo) uses this one class, so each keeps the
 * same promises (THREAT-MODEL L1–L5):
 *
 *   late join    chunks of a segment whose chunk 0 this session never saw are skipped (counted,
 *                not rejected) until the next segment starts; the init envelope the camera
 *                repeats before every segment configures the decoder (`init` event).
 *   replay       every chunk is provisional until the segment's seal confirms it (`confirmed`);
 *                the stream state, which the caller persists (`snapshot`), rejects replays.
 *   freshness    a chunk whose segment began more than `maxAgeMs` before now, or lies more than
 *                `maxSkewMs` in the future, is E_STALE_LIVE: an old recording is not "live".
 *   keys first   a message of an epoch newer than every key held waits up to `holdMs` (at most
 *                `maxHeld` messages) for its announcement, then is replayed in arrival order.
 *   revocation   with `expectedRoster` (the owner, who signed it), an announcement wrapped for an
 *                older roster or for other viewers raises the E_ROSTER_LAGGING alarm.
 *
 * Pure: the clock is `now`, passed in; nothing here does I/O.
 */
import { equalBytes, toHex } from './bytes.js';
import { SealcamError, ensure, type ErrorCode } from './errors.js';
import type { AnnouncementInfo } from './epoch.js';
import type { Identity, PublicIdentity } from './identity.js';
import { CameraView, type LiveChunk } from './open.js';
import { SEGMENT_MAGIC, LIVE_MAGIC, SEAL_BYTES, decodeLiveChunk, parseEnvelope, type LiveChunkHeader, type SegmentHeader } from './envelope.js';
import type { StreamSnapshot, StreamVerdict } from './stream-state.js';

/** Defaults (§7.5). Every shipped board cuts 2 s segments, so a chunk is at most 2 s younger than its segment's captureTime. */
export const LIVE_DEFAULTS = { maxAgeMs: 8_000, maxSkewMs: 5_000, holdMs: 3_000, maxHeld: 512 } as const;

export interface LiveSessionOptions {
  /** ms since the Unix epoch, now */
  now: () => number;
  /** reject a chunk whose segment began longer ago than this (default 8 s: a 2 s segment + 6 s of delay and clock skew) */
  maxAgeMs?: number;
  /** reject a chunk whose segment begins further in the future than this (default 5 s of clock skew) */
  maxSkewMs?: number;
  /** how long a message of a not yet announced epoch waits for its announcement (default 3 s) */
  holdMs?: number;
  /** at most this many such messages wait (default 512) */
  maxHeld?: number;
  /** the stream state persisted by an earlier session (§8.5) */
  snapshot?: StreamSnapshot;
  /** the roster the owner last signed for this camera: announcements are checked against it (§5.5) */
  expectedRoster?: ExpectedRoster;
}

export interface ExpectedRoster {
  rosterVersion: number;
  /** every viewer id on it (owner included) */
  viewerIds: readonly Uint8Array[];
}

export type LiveEvent =
  | { type: 'announcement'; info: AnnouncementInfo }
  | { type: 'init'; seq: number; epoch: number; payload: Uint8Array; changed: boolean }
  | { type: 'chunk'; chunk: LiveChunk }
  | { type: 'confirmed'; seq: number; chunkCount: number; captureTime: number; durationMs: number; verdict: StreamVerdict; afterJoin: boolean }
  | { type: 'rejected'; what: MessageKind; code: ErrorCode; message: string }
  | { type: 'alarm'; code: 'E_ROSTER_LAGGING'; message: string };

export type MessageKind = 'chunk' | 'seal' | 'init' | 'announcement';

export interface LiveStats {
  chunksAccepted: number;
  chunksConfirmed: number;
  segmentsConfirmed: number;
  /** chunks skipped because this session joined in the middle of their segment */
  skippedBeforeJoin: number;
  /** messages that waited for their epoch's announcement and were then processed */
  heldReleased: number;
  rejected: Partial<Record<ErrorCode, number>>;
  /** the capture time of the newest accepted chunk's segment: the camera's last-seen time */
  lastCaptureTime: number | null;
  gaps: { from: number; to: number }[];
}

interface Held {
  bytes: Uint8Array;
  epoch: number;
  at: number;
}

/** The E_ROSTER_LAGGING check of §5.5: null when the announcement matches the roster the owner signed. */
export function rosterLag(info: AnnouncementInfo, expected: ExpectedRoster): string | null {
  if (info.rosterVersion < expected.rosterVersion) {
    return `epoch ${info.epoch} is wrapped for roster version ${info.rosterVersion}, but you signed version ${expected.rosterVersion}: the camera has not applied it (a relay withholding the roster, or the camera is offline) — a revoked viewer may still hold this epoch`;
  }
  if (info.rosterVersion === expected.rosterVersion) {
    const want = new Set(expected.viewerIds.map(toHex));
    const got = new Set(info.viewerIds.map(toHex));
    if (want.size !== got.size || [...want].some((id) => !got.has(id))) {
      return `epoch ${info.epoch} is wrapped for ${got.size} viewers that are not the ${want.size} on roster version ${expected.rosterVersion}`;
    }
  }
  return null;
}

export class LiveSession {
  readonly view: CameraView;
  readonly stats: LiveStats = { chunksAccepted: 0, chunksConfirmed: 0, segmentsConfirmed: 0, skippedBeforeJoin: 0, heldReleased: 0, rejected: {}, lastCaptureTime: null, gaps: [] };
  private readonly o: Required<Omit<LiveSessionOptions, 'snapshot' | 'expectedRoster'>> & Pick<LiveSessionOptions, 'expectedRoster'>;
  private held: Held[] = [];
  /** the seq of the first segment this session received from chunk 0 on (null: not joined yet) */
  private joinedSeq: number | null = null;
  private confirmedAny = false;
  private lastInit: Uint8Array | null = null;
  private lastInitPayload: Uint8Array | null = null;

  constructor(camera: PublicIdentity, viewer: Identity, options: LiveSessionOptions) {
    this.o = { ...LIVE_DEFAULTS, ...options };
    for (const k of ['maxAgeMs', 'maxSkewMs', 'holdMs', 'maxHeld'] as const) {
      ensure(Number.isSafeInteger(this.o[k]) && this.o[k] >= 0, 'E_BAD_ARGUMENT', `LiveSession ${k}: expected a non-negative integer, got ${this.o[k]}`);
    }
    this.view = new CameraView(camera, viewer, options.snapshot ? { snapshot: options.snapshot } : {});
  }

  /** The stream state to persist after every `confirmed` event (§8.5). */
  snapshot(): StreamSnapshot {
    return this.view.stream.toJSON();
  }

  /** Chunks accepted but never confirmed by a seal (so far). */
  get chunksUnconfirmed(): number {
    return this.stats.chunksAccepted - this.stats.chunksConfirmed;
  }

  /** Take one message from the camera's `keys` or `live` topic. */
  handle(channel: 'keys' | 'live', bytes: Uint8Array): LiveEvent[] {
    const events = this.expire();
    if (channel === 'keys') {
      if (bytes.length > 0) this.announcement(bytes, events); // a zero-length message clears a retained topic
    } else {
      this.live(bytes, events, true);
    }
    return events;
  }

  /** Give up on held messages older than `holdMs`; call now and then when nothing arrives. */
  tick(): LiveEvent[] {
    return this.expire();
  }

  private announcement(bytes: Uint8Array, events: LiveEvent[]): void {
    let info: AnnouncementInfo;
    try {
      info = this.view.addAnnouncement(bytes);
    } catch (e) {
      this.reject('announcement', e, events);
      return;
    }
    events.push({ type: 'announcement', info });
    const newest = this.view.keyring.newest;
    if (this.o.expectedRoster && info.epoch === newest) {
      const lag = rosterLag(info, this.o.expectedRoster);
      if (lag) events.push({ type: 'alarm', code: 'E_ROSTER_LAGGING', message: lag });
    }
    // Release what waited for this key, in arrival order.
    const ready = this.held.filter((h) => this.view.keyring.get(h.epoch) !== undefined);
    this.held = this.held.filter((h) => this.view.keyring.get(h.epoch) === undefined);
    for (const h of ready) {
      this.stats.heldReleased++;
      this.live(h.bytes, events, false);
    }
  }

  private live(bytes: Uint8Array, events: LiveEvent[], mayHold: boolean): void {
    const what = messageKind(bytes);
    try {
      const m = parseLive(bytes, what);
      const { header } = m;
      if (!equalBytes(header.cameraId, this.view.camera.id)) {
        throw new SealcamError('E_FOREIGN_CAMERA', `live ${what} from camera ${toHex(header.cameraId)}, which this viewer has not paired (pinned: ${this.view.cameraIdHex}); nothing was decrypted`);
      }
      if (mayHold && this.view.keyring.get(header.epoch) === undefined && header.epoch > (this.view.keyring.newest ?? 0)) {
        this.hold(bytes, header.epoch, events);
        return;
      }
      if (m.what === 'chunk') this.chunk(bytes, m.header, events);
      else if (m.what === 'seal') this.seal(bytes, m.header, events);
      else this.init(bytes, events);
    } catch (e) {
      this.reject(what, e, events);
    }
  }

  private chunk(bytes: Uint8Array, header: LiveChunkHeader, events: LiveEvent[]): void {
    const now = this.o.now();
    if (now - header.captureTime > this.o.maxAgeMs) {
      throw new SealcamError('E_STALE_LIVE', `live chunk of seq ${header.seq} was captured ${now - header.captureTime} ms ago (bound ${this.o.maxAgeMs} ms): not live`);
    }
    if (header.captureTime - now > this.o.maxSkewMs) {
      throw new SealcamError('E_STALE_LIVE', `live chunk of seq ${header.seq} claims a capture time ${header.captureTime - now} ms in the future (bound ${this.o.maxSkewMs} ms)`);
    }
    if (header.chunkIndex > 0 && !this.view.hasPending(header.seq) && (this.joinedSeq === null || header.seq < this.joinedSeq)) {
      this.view.stream.check(header.seq, header.epoch); // a replayed segment is E_REPLAY, never merely skipped
      this.stats.skippedBeforeJoin++; // joined in the middle of this segment: wait for the next chunk 0
      return;
    }
    const chunk = this.view.acceptLiveChunk(bytes);
    if (this.joinedSeq === null) this.joinedSeq = chunk.seq;
    this.stats.chunksAccepted++;
    this.stats.lastCaptureTime = Math.max(this.stats.lastCaptureTime ?? 0, chunk.captureTime);
    events.push({ type: 'chunk', chunk });
  }

  private seal(bytes: Uint8Array, header: SegmentHeader, events: LiveEvent[]): void {
    if (!this.view.hasPending(header.seq) && (this.joinedSeq === null || header.seq < this.joinedSeq)) {
      this.view.stream.check(header.seq, header.epoch); // E_REPLAY for a replayed seal
      return; // the seal of a segment from before the join
    }
    const c = this.view.confirmLive(bytes);
    const afterJoin = !this.confirmedAny;
    this.confirmedAny = true;
    this.stats.chunksConfirmed += c.chunkCount;
    this.stats.segmentsConfirmed++;
    if (c.verdict.kind === 'gap' && !afterJoin) this.stats.gaps.push({ from: c.verdict.missingFrom, to: c.verdict.missingTo });
    events.push({ type: 'confirmed', seq: header.seq, chunkCount: c.chunkCount, captureTime: header.captureTime, durationMs: header.durationMs, verdict: c.verdict, afterJoin });
  }

  private init(bytes: Uint8Array, events: LiveEvent[]): void {
    if (this.lastInit && equalBytes(this.lastInit, bytes)) return; // the camera repeats it before every segment
    const o = this.view.openInit(bytes);
    const changed = this.lastInitPayload === null || !equalBytes(this.lastInitPayload, o.payload);
    this.lastInit = bytes.slice();
    this.lastInitPayload = o.payload;
    events.push({ type: 'init', seq: o.header.seq, epoch: o.header.epoch, payload: o.payload, changed });
  }

  private hold(bytes: Uint8Array, epoch: number, events: LiveEvent[]): void {
    this.held.push({ bytes: bytes.slice(), epoch, at: this.o.now() });
    while (this.held.length > this.o.maxHeld) {
      const dropped = this.held.shift()!;
      this.reject(messageKind(dropped.bytes), new SealcamError('E_UNKNOWN_EPOCH', `no announcement for epoch ${dropped.epoch}; more than ${this.o.maxHeld} messages waited for one`), events);
    }
  }

  private expire(): LiveEvent[] {
    const events: LiveEvent[] = [];
    const cutoff = this.o.now() - this.o.holdMs;
    while (this.held.length > 0 && this.held[0]!.at < cutoff) {
      const h = this.held.shift()!;
      this.reject(messageKind(h.bytes), new SealcamError('E_UNKNOWN_EPOCH', `no announcement for epoch ${h.epoch} arrived within ${this.o.holdMs} ms (not announced to this viewer, or it was revoked)`), events);
    }
    return events;
  }

  private reject(what: MessageKind, e: unknown, events: LiveEvent[]): void {
    if (!SealcamError.is(e)) throw e;
    this.stats.rejected[e.code] = (this.stats.rejected[e.code] ?? 0) + 1;
    events.push({ type: 'rejected', what, code: e.code, message: e.message });
  }
}

type ParsedLive = { what: 'chunk'; header: LiveChunkHeader } | { what: 'seal' | 'init'; header: SegmentHeader };

/** The public header of a live-topic message, parsed once (§7.2, §6.3 step 1, §7.4 step 1). */
function parseLive(bytes: Uint8Array, what: Exclude<MessageKind, 'announcement'>): ParsedLive {
  return what === 'chunk' ? { what, header: decodeLiveChunk(bytes).header } : { what, header: parseEnvelope(bytes, what === 'seal').header };
}

/** What a message on the live topic is (§7.5): a chunk (SCL1), a seal (144-byte SCS1) or an init envelope (longer SCS1). */
function messageKind(bytes: Uint8Array): Exclude<MessageKind, 'announcement'> {
  if (bytes.length >= 4 && equalBytes(bytes.subarray(0, 4), LIVE_MAGIC)) return 'chunk';
  if (bytes.length >= 4 && equalBytes(bytes.subarray(0, 4), SEGMENT_MAGIC)) return bytes.length === SEAL_BYTES ? 'seal' : 'init';
  return 'chunk'; // decodeLiveChunk then names the error (E_MALFORMED / E_BAD_MAGIC)
}
