/**
 * Reconnect delays: exponential backoff with full jitter (delay = random × min(cap, base × 2^n)),
 * so a fleet of cameras that lost the broker together does not come back in one burst
 * (ETSI EN 303 645 provision 5.9-1 on resilience; AWS Architecture Blog, "Exponential Backoff And
 * Jitter"). Randomness is injected, so tests need no sleeping.
 */
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** a number in [0, 1) */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;

  constructor(o: BackoffOptions = {}) {
    this.baseMs = o.baseMs ?? 500;
    this.capMs = o.capMs ?? 60_000;
    this.random = o.random ?? Math.random;
  }

  /** The delay before the next attempt; each call backs off further until `reset`. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(50, Math.floor(this.random() * ceiling));
  }

  reset(): void {
    this.attempt = 0;
  }
}
