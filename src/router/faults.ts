// Faults a drill injects into this router's traffic: a share of 5xx answers, added latency, or
// dropped connections, for one version or for every version of the environment. Every fault is
// a drill's and bounded: the router computes its absolute expiry from its own clock when it is
// pushed, persists it with that expiry, and removes it when the time comes, so a fault outlives
// neither its limit nor a controller that died mid-drill (a restarted router reloads only the
// faults still in force).
//
// The request path only reads `count` (0 almost always) and calls pick(); the rest is admin side.

import { z } from 'zod';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';

/** No fault is accepted for longer than this: a drill that needs more pushes it again. */
export const MAX_FAULT_MS = 4 * 3600_000;

export const DRILL_HEADER = 'x-greenlight-drill';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'use 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');

export const faultRequestSchema = z
  .strictObject({
    id: name,
    /** the drill this fault belongs to; required: there are no faults outside a drill */
    drill: name,
    /** absent: every version of this router's environment */
    version: name.optional(),
    kind: z.enum(['error', 'latency', 'drop']),
    /** share of the matching requests hit, 0 < share <= 1; spread evenly (every 1/share-th request) */
    share: z.number().gt(0).max(1).default(1),
    /** error: the status answered */
    status: z.int().min(500).max(599).default(500),
    /** latency: added before the request is forwarded */
    latencyMs: z.int().min(1).max(600_000).optional(),
    /** how long from now the fault lasts; the router turns it into an absolute expiry by its own clock */
    ttlMs: z.int().min(1).max(MAX_FAULT_MS),
  })
  .refine((f) => f.kind !== 'latency' || f.latencyMs !== undefined, { message: 'a latency fault needs latencyMs', path: ['latencyMs'] });

export type FaultRequest = z.input<typeof faultRequestSchema>;

export interface RouterFault {
  id: string;
  drill: string;
  version: string | null;
  kind: 'error' | 'latency' | 'drop';
  share: number;
  status: number;
  latencyMs: number;
  createdAt: number;
  /** absolute, epoch ms, by the router's clock */
  expiresAt: number;
}

export interface FaultView extends RouterFault {
  /** requests this fault hit so far (since it was pushed to this router process) */
  injected: number;
  remainingMs: number;
}

interface Live {
  fault: RouterFault;
  acc: number;
  injected: number;
}

export class RouterFaults {
  /** live faults; the request path checks this before anything else */
  count = 0;
  private readonly live = new Map<string, Live>();
  private readonly clock: Clock;
  private readonly save: ((faults: RouterFault[]) => Promise<void>) | null;
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;

  constructor(clock: Clock, save?: (faults: RouterFault[]) => Promise<void>) {
    this.clock = clock;
    this.save = save ?? null;
  }

  /** Takes the faults of a state file; those already expired are dropped. */
  restore(faults: unknown): number {
    if (!Array.isArray(faults)) return 0;
    const now = this.clock.now();
    for (const f of faults as RouterFault[]) {
      if (typeof f?.id !== 'string' || typeof f.expiresAt !== 'number' || f.expiresAt <= now) continue;
      this.live.set(f.id, { fault: f, acc: 0, injected: 0 });
    }
    this.changed(false);
    return this.live.size;
  }

  /** Validates and applies a fault (replacing one with the same id); throws CONFIG_INVALID. */
  async put(input: unknown): Promise<FaultView> {
    const r = faultRequestSchema.safeParse(input);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new GreenlightError('CONFIG_INVALID', `fault refused: ${i.path.join('.') || 'body'}: ${i.message}`, {
        hint: 'send {"id", "drill", "kind": "error"|"latency"|"drop", "ttlMs", optional "version", "share", "status", "latencyMs"}',
      });
    }
    const f = r.data;
    const now = this.clock.now();
    const fault: RouterFault = { id: f.id, drill: f.drill, version: f.version ?? null, kind: f.kind, share: f.share, status: f.status, latencyMs: f.latencyMs ?? 0, createdAt: now, expiresAt: now + f.ttlMs };
    this.live.set(fault.id, { fault, acc: 0, injected: 0 });
    await this.changed(true);
    return this.view(this.live.get(fault.id)!, now);
  }

  /** Removes one fault by id, or all of a drill's, or all; returns how many were removed. */
  async remove(filter: { id?: string; drill?: string }): Promise<number> {
    let n = 0;
    for (const [id, l] of this.live) {
      if ((filter.id === undefined || filter.id === id) && (filter.drill === undefined || filter.drill === l.fault.drill)) {
        this.live.delete(id);
        n++;
      }
    }
    if (n) await this.changed(true);
    return n;
  }

  list(): FaultView[] {
    const now = this.clock.now();
    return [...this.live.values()].filter((l) => l.fault.expiresAt > now).map((l) => this.view(l, now));
  }

  /**
   * The fault that hits this request of `version`, or null. Shares are spread evenly with an
   * accumulator rather than drawn at random, so a 25% fault hits exactly every fourth request.
   */
  pick(version: string, now: number): RouterFault | null {
    for (const l of this.live.values()) {
      const f = l.fault;
      if (f.expiresAt <= now) {
        // the timer removes it too; this covers a request that arrives first
        this.live.delete(f.id);
        void this.changed(true);
        continue;
      }
      if (f.version !== null && f.version !== version) continue;
      l.acc += f.share;
      if (l.acc >= 1 - 1e-9) {
        l.acc -= 1;
        l.injected++;
        return f;
      }
    }
    return null;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
  }

  private view(l: Live, now: number): FaultView {
    return { ...l.fault, injected: l.injected, remainingMs: Math.max(0, l.fault.expiresAt - now) };
  }

  /** Re-arms the expiry timer for the earliest fault and writes the state (absolute expiries). */
  private changed(persist: boolean): Promise<void> {
    const now = this.clock.now();
    for (const [id, l] of this.live) if (l.fault.expiresAt <= now) this.live.delete(id);
    this.count = this.live.size;
    let next = Infinity;
    for (const l of this.live.values()) next = Math.min(next, l.fault.expiresAt);
    if (next !== this.timerAt) {
      this.timer?.cancel();
      this.timer = null;
      this.timerAt = next;
      if (next !== Infinity) {
        this.timer = this.clock.setTimeout(() => {
          this.timerAt = Infinity;
          this.timer = null;
          void this.changed(true);
        }, next - now);
      }
    }
    if (!persist || this.save === null) return Promise.resolve();
    return this.save([...this.live.values()].map((l) => l.fault));
  }
}
