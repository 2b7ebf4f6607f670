// Failed authentications per client address: after `max` failures within `windowMs`, that address
// is refused (429) for `blockMs`, so a token cannot be guessed by trying (it could not anyway with
// 256 bits, but a leaked prefix, a short bootstrap token or log noise are reasons enough).
import type { Clock } from '../clock/clock.ts';

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly blocked = new Map<string, number>();
  private readonly clock: Clock;
  private readonly max: number;
  private readonly windowMs: number;
  private readonly blockMs: number;

  constructor(clock: Clock, opts: { max?: number; windowMs?: number; blockMs?: number } = {}) {
    this.clock = clock;
    this.max = opts.max ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.blockMs = opts.blockMs ?? 60_000;
  }

  /** ms until the address may try again, or 0 */
  blockedFor(key: string): number {
    const until = this.blocked.get(key);
    if (until === undefined) return 0;
    const left = until - this.clock.now();
    if (left <= 0) this.blocked.delete(key);
    return Math.max(0, left);
  }

  fail(key: string): void {
    const now = this.clock.now();
    const recent = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    recent.push(now);
    if (recent.length >= this.max) {
      this.blocked.set(key, now + this.blockMs);
      this.failures.delete(key);
    } else this.failures.set(key, recent);
    // bounded memory: forget the oldest addresses first
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}
