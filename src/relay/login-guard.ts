/**
 * What stands between a login attempt and the password hash (PROTOCOL.md §11.3), for the broker's
 * CONNECT and the HTTP API's Basic auth alike:
 *
 *   attempt → source bucket → username bucket (skipped by a source this login used before)
 *           → hashing pool (a few at once, a bounded queue) → verify → refund on success
 *
 * Buckets are token buckets charged one token per attempt and refunded on success, so only failures
 * drain them. An attempt that finds a bucket empty, or the queue full, is refused at once
 * (`E_RATE_LIMITED`, `E_OVERLOADED`) without hashing anything: scrypt runs on libuv's 4-thread
 * pool, and a flood of bad passwords must not make a good one wait behind it. A source that logged
 * in as a username before is trusted for it: it skips that username's bucket (so a flood aimed at a
 * camera's username from elsewhere does not lock the camera out) and jumps the hashing queue.
 * Time comes from an injected clock.
 */
import { SealcamError } from '../protocol/errors.js';

export interface BucketLimit {
  /** attempts allowed in a burst (the bucket's size) */
  burst: number;
  /** tokens regained per minute */
  perMinute: number;
}

export interface LoginLimits {
  /** failed logins from one source address */
  perSource: BucketLimit;
  /** failed logins for one username, from sources not trusted for it */
  perUsername: BucketLimit;
  /** password checks running at once (libuv's pool has 4 threads, shared with file I/O) */
  hashConcurrency: number;
  /** attempts waiting for a hashing slot, per lane; beyond it, refused at once */
  hashQueue: number;
  /** how long a successful (source, username) pair stays trusted */
  trustMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perSource: { burst: 10, perMinute: 30 },
  perUsername: { burst: 5, perMinute: 10 },
  hashConcurrency: 2,
  hashQueue: 16,
  trustMs: 7 * 24 * 3600 * 1000,
};

/** Entries kept per map before the oldest are dropped (full buckets are never kept). */
const MAX_ENTRIES = 10_000;
/** Trusted sources remembered per username. */
const MAX_TRUSTED_SOURCES = 8;

class Buckets {
  private readonly map = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: BucketLimit,
    private readonly now: () => number,
  ) {}

  /** Tokens left for `key` now. */
  level(key: string): number {
    const b = this.map.get(key);
    if (!b) return this.limit.burst;
    return Math.min(this.limit.burst, b.tokens + ((this.now() - b.at) * this.limit.perMinute) / 60_000);
  }

  /** Take one token; false if there is none. */
  take(key: string): boolean {
    const level = this.level(key);
    if (level < 1) return false;
    this.set(key, level - 1);
    return true;
  }

  refund(key: string): void {
    this.set(key, this.level(key) + 1);
  }

  /** Seconds until `key` has a token again. */
  retryAfterS(key: string): number {
    return Math.ceil(((1 - this.level(key)) * 60) / this.limit.perMinute);
  }

  private set(key: string, tokens: number): void {
    this.map.delete(key); // re-insert: the map's order is the order of last use
    if (tokens >= this.limit.burst) return; // a full bucket is the same as none
    this.map.set(key, { tokens, at: this.now() });
    if (this.map.size > MAX_ENTRIES) this.map.delete(this.map.keys().next().value!);
  }
}

export class LoginGuard {
  readonly limits: LoginLimits;
  readonly stats = { attempts: 0, succeeded: 0, failed: 0, rateLimited: 0, overloaded: 0, running: 0, queued: 0 };
  private readonly sources: Buckets;
  private readonly usernames: Buckets;
  private readonly trusted = new Map<string, Map<string, number>>();
  private readonly lanes: { trusted: (() => void)[]; other: (() => void)[] } = { trusted: [], other: [] };

  constructor(
    limits: Partial<LoginLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_LOGIN_LIMITS, ...limits };
    this.sources = new Buckets(this.limits.perSource, now);
    this.usernames = new Buckets(this.limits.perUsername, now);
  }

  /**
   * Check one login with `verify` (the password check; null for bad credentials) under the limits.
   * Resolves with verify's answer; throws `E_RATE_LIMITED` or `E_OVERLOADED` without calling it.
   */
  async attempt<T>(source: string, username: string, verify: () => Promise<T | null>): Promise<T | null> {
    this.stats.attempts++;
    const trusted = this.isTrusted(source, username);
    if (!this.sources.take(source)) {
      this.stats.rateLimited++;
      throw new SealcamError('E_RATE_LIMITED', `too many failed logins from ${source}; retry in ${this.sources.retryAfterS(source)} s`);
    }
    if (!trusted && !this.usernames.take(username)) {
      this.sources.refund(source); // not this source's doing
      this.stats.rateLimited++;
      throw new SealcamError('E_RATE_LIMITED', `too many failed logins for this username; retry in ${this.usernames.retryAfterS(username)} s`);
    }
    try {
      await this.slot(trusted);
    } catch (e) {
      // not checked, so not a failure: the tokens go back
      this.sources.refund(source);
      if (!trusted) this.usernames.refund(username);
      throw e;
    }
    let result: T | null = null;
    try {
      result = await verify();
    } finally {
      this.release();
    }
    if (result === null) {
      this.stats.failed++;
      return null;
    }
    this.sources.refund(source);
    if (!trusted) this.usernames.refund(username);
    this.trust(source, username);
    this.stats.succeeded++;
    return result;
  }

  private isTrusted(source: string, username: string): boolean {
    const until = this.trusted.get(username)?.get(source);
    return until !== undefined && until > this.now();
  }

  private trust(source: string, username: string): void {
    const sources = this.trusted.get(username) ?? new Map<string, number>();
    this.trusted.delete(username);
    sources.delete(source);
    sources.set(source, this.now() + this.limits.trustMs);
    if (sources.size > MAX_TRUSTED_SOURCES) sources.delete(sources.keys().next().value!);
    this.trusted.set(username, sources);
    if (this.trusted.size > MAX_ENTRIES) this.trusted.delete(this.trusted.keys().next().value!);
  }

  /** Wait for a hashing slot; trusted attempts are served first. */
  private slot(trusted: boolean): Promise<void> {
    if (this.stats.running < this.limits.hashConcurrency) {
      this.stats.running++;
      return Promise.resolve();
    }
    const lane = trusted ? this.lanes.trusted : this.lanes.other;
    if (lane.length >= this.limits.hashQueue) {
      this.stats.overloaded++;
      return Promise.reject(new SealcamError('E_OVERLOADED', `${this.stats.queued} logins are waiting to be checked; retry shortly`));
    }
    this.stats.queued++;
    return new Promise<void>((resolve) => lane.push(resolve));
  }

  private release(): void {
    const next = this.lanes.trusted.shift() ?? this.lanes.other.shift();
    if (!next) {
      this.stats.running--;
      return;
    }
    this.stats.queued--;
    next(); // the slot passes on; running stays the same
  }
}
