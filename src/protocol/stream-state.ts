/**
 * Per-camera stream state on the viewer (PROTOCOL.md §8): replay, reordering, gaps, forward
 * jumps, epoch rollback and truncation. `check` decides without changing anything; `commit`
 * records a segment only after it has fully verified and opened, so a rejected segment can never
 * move the state. `toJSON`/`fromJSON` let a viewer keep the state across restarts, which is what
 * makes replay detection survive them.
 *
 * The anti-replay window is a bitmap of the last WINDOW seqs below the highest one accepted, as
 * in IPsec (RFC 4303 §3.4.3). Every check is O(1): a forward jump is a subtraction and one
 * comparison, and the window moves by a single shift, never by a loop over the gap.
 */
import { SealcamError, ensure } from './errors.js';

export const DEFAULT_WINDOW = 128;
export const DEFAULT_MAX_FORWARD_JUMP = 10_000;

export interface StreamOptions {
  /** reject a seq more than this far beyond the highest accepted one (E_FORWARD_JUMP). */
  maxForwardJump?: number;
}

export interface StreamSnapshot {
  v: 1;
  highestSeq: number | null;
  highestEpoch: number;
  /** bit k set = seq (highestSeq - k) was accepted; hex of a WINDOW-bit integer. */
  window: string;
  finalSeen: boolean;
}

export type StreamVerdict =
  | { kind: 'first' }
  | { kind: 'next' }
  | { kind: 'gap'; missingFrom: number; missingTo: number };

const WINDOW_MASK = (1n << BigInt(DEFAULT_WINDOW)) - 1n;

export class StreamState {
  private highestSeq: number | null;
  private highestEpoch: number;
  private window: bigint;
  private finalSeen: boolean;
  readonly maxForwardJump: number;

  constructor(options: StreamOptions = {}, snapshot?: StreamSnapshot) {
    this.maxForwardJump = options.maxForwardJump ?? DEFAULT_MAX_FORWARD_JUMP;
    ensure(Number.isSafeInteger(this.maxForwardJump) && this.maxForwardJump >= 1, 'E_BAD_ARGUMENT', 'maxForwardJump must be a positive integer');
    if (snapshot) {
      ensure(snapshot.v === 1, 'E_BAD_ARGUMENT', 'stream snapshot: unknown version');
      ensure(snapshot.highestSeq === null || (Number.isSafeInteger(snapshot.highestSeq) && snapshot.highestSeq >= 0), 'E_BAD_ARGUMENT', 'stream snapshot: bad highestSeq');
      ensure(/^[0-9a-f]{1,32}$/.test(snapshot.window), 'E_BAD_ARGUMENT', 'stream snapshot: bad window');
      ensure(Number.isInteger(snapshot.highestEpoch) && snapshot.highestEpoch >= 0, 'E_BAD_ARGUMENT', 'stream snapshot: bad highestEpoch');
      ensure(typeof snapshot.finalSeen === 'boolean', 'E_BAD_ARGUMENT', 'stream snapshot: bad finalSeen');
    }
    this.highestSeq = snapshot?.highestSeq ?? null;
    this.highestEpoch = snapshot?.highestEpoch ?? 0;
    this.window = snapshot ? BigInt(`0x${snapshot.window}`) & WINDOW_MASK : 0n;
    this.finalSeen = snapshot?.finalSeen ?? false;
  }

  static fromJSON(snapshot: StreamSnapshot, options: StreamOptions = {}): StreamState {
    return new StreamState(options, snapshot);
  }

  toJSON(): StreamSnapshot {
    return { v: 1, highestSeq: this.highestSeq, highestEpoch: this.highestEpoch, window: this.window.toString(16), finalSeen: this.finalSeen };
  }

  get highest(): number | null {
    return this.highestSeq;
  }

  /**
   * Decide whether `seq` (sealed under `epoch`) may be accepted next. Throws E_REPLAY,
   * E_REORDERED, E_FORWARD_JUMP or E_EPOCH_ROLLBACK; returns whether it continues the stream or
   * leaves a gap, which the caller must report.
   */
  check(seq: number, epoch: number): StreamVerdict {
    const top = this.highestSeq;
    if (top === null) return { kind: 'first' };
    if (seq > top) {
      const delta = seq - top;
      if (delta > this.maxForwardJump) {
        throw new SealcamError('E_FORWARD_JUMP', `seq ${seq} is ${delta} beyond the highest accepted ${top} (bound ${this.maxForwardJump})`);
      }
      if (epoch < this.highestEpoch) {
        throw new SealcamError('E_EPOCH_ROLLBACK', `seq ${seq} is sealed under epoch ${epoch}, older than epoch ${this.highestEpoch} already seen`);
      }
      return delta === 1 ? { kind: 'next' } : { kind: 'gap', missingFrom: top + 1, missingTo: seq - 1 };
    }
    const age = top - seq;
    if (age >= DEFAULT_WINDOW || ((this.window >> BigInt(age)) & 1n) === 1n) {
      throw new SealcamError('E_REPLAY', `seq ${seq} was already accepted (or is older than the ${DEFAULT_WINDOW}-segment window below ${top})`);
    }
    throw new SealcamError('E_REORDERED', `seq ${seq} arrived after seq ${top}; out-of-order segments are not played`);
  }

  /** Record an accepted segment. Call only after `check` passed and the segment opened. */
  commit(seq: number, epoch: number, final: boolean): void {
    const top = this.highestSeq;
    ensure(top === null || seq > top, 'E_BAD_ARGUMENT', `commit: seq ${seq} is not above ${top}; call check() first`);
    const shift = top === null ? DEFAULT_WINDOW : seq - top;
    this.window = shift >= DEFAULT_WINDOW ? 1n : ((this.window << BigInt(shift)) | 1n) & WINDOW_MASK;
    this.highestSeq = seq;
    this.highestEpoch = Math.max(this.highestEpoch, epoch);
    this.finalSeen = final;
  }

  /**
   * Called when the viewer reaches the end of what it was given (end of a history range, or the
   * camera went offline). If the last accepted segment did not carry FINAL the stream was cut.
   */
  assertComplete(): void {
    if (this.highestSeq !== null && !this.finalSeen) {
      throw new SealcamError('E_TRUNCATED', `stream ends at seq ${this.highestSeq} without a FINAL segment`);
    }
  }

  get ended(): boolean {
    return this.finalSeen;
  }
}

/**
 * §8.4, a hidden tail: a viewer remembers the newest seq it has seen (`seenUpTo`); a history listed
 * up to now whose last seq (`historyEndsAt`, null when empty) is below it was cut by the relay, or
 * lost, even when its last segment carries FINAL. Null when nothing is missing or nothing is known.
 */
export function hiddenTail(historyEndsAt: number | null, seenUpTo: number | null): { historyEndsAt: number | null; seenUpTo: number } | null {
  if (seenUpTo === null || (historyEndsAt !== null && historyEndsAt >= seenUpTo)) return null;
  return { historyEndsAt, seenUpTo };
}
