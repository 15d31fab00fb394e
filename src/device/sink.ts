/**
 * Where sealed output goes. The MQTT uploader (relay issue) implements the same interface; until
 * then `DirectorySink` writes envelopes to a directory, each file atomically.
 *
 *   <dir>/epoch-<epoch>.sck     signed epoch announcements
 *   <dir>/seg-<seq, 12 digits>.scs   sealed envelopes (init and media), in seq order
 * Live chunks are only counted here: they exist for live viewers, and the envelopes carry the
 * same ciphertext.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../media/atomic-file.js';

export interface SegmentInfo {
  seq: number;
  kind: 'init' | 'media' | 'event';
  final: boolean;
  bytes: number;
}

export interface EnvelopeSink {
  /** a signed epoch announcement (retained by an MQTT uploader) */
  announce(announcement: Uint8Array, epoch: number): Promise<void>;
  /** a sealed envelope; resolves once it is durably handed over */
  segment(envelope: Uint8Array, info: SegmentInfo): Promise<void>;
  /** a live chunk; best effort, never blocks the pipeline */
  live(chunk: Uint8Array): void;
  close(): Promise<void>;
  /** roster updates from the owner, where the sink can receive them (the MQTT uploader) */
  onRoster?(handler: (roster: Uint8Array) => void): void;
  /**
   * Resolves true once the roster retained on the relay has been handed to the `onRoster`
   * handler, or false after `timeoutMs` (no retained roster, or the relay is unreachable).
   */
  rosterArrived?(timeoutMs: number): Promise<boolean>;
}

export class DirectorySink implements EnvelopeSink {
  liveChunks = 0;
  liveBytes = 0;
  segments = 0;
  private made: Promise<unknown> | null = null;

  constructor(readonly dir: string) {}

  /** The directory is made on first write, so a run that fails early leaves nothing behind. */
  private get ready(): Promise<unknown> {
    this.made ??= mkdir(this.dir, { recursive: true, mode: 0o700 });
    return this.made;
  }

  async announce(announcement: Uint8Array, epoch: number): Promise<void> {
    await this.ready;
    await writeFileAtomic(join(this.dir, `epoch-${epoch}.sck`), announcement, 0o600);
  }

  async segment(envelope: Uint8Array, info: SegmentInfo): Promise<void> {
    await this.ready;
    await writeFileAtomic(join(this.dir, `seg-${String(info.seq).padStart(12, '0')}.scs`), envelope, 0o600);
    this.segments++;
  }

  live(chunk: Uint8Array): void {
    this.liveChunks++;
    this.liveBytes += chunk.length;
  }

  async close(): Promise<void> {
    await this.made;
  }
}

/**
 * `sink` with a callback on every sealed envelope and live chunk: the agent's heartbeat (frames
 * are flowing) for the service watchdog (service-notify.ts). Everything else passes through.
 */
export function withHeartbeat(sink: EnvelopeSink, beat: (what: 'segment' | 'live', info?: SegmentInfo) => void): EnvelopeSink {
  const watched: EnvelopeSink = {
    announce: (announcement, epoch) => sink.announce(announcement, epoch),
    segment: async (envelope, info) => {
      await sink.segment(envelope, info);
      beat('segment', info);
    },
    live: (chunk) => {
      sink.live(chunk);
      beat('live');
    },
    close: () => sink.close(),
  };
  if (sink.onRoster) watched.onRoster = (handler) => sink.onRoster!(handler);
  if (sink.rosterArrived) watched.rosterArrived = (timeoutMs) => sink.rosterArrived!(timeoutMs);
  return watched;
}
