// The fake notifier: an in-memory receiver with scripted answers, for tests of the alerting,
// escalation and incident modules. It passes the same contract as the real kinds.
import { systemClock, type Clock } from '../../../clock/clock.ts';
import type { DeliveryResult, Notification, Notifier } from '../notifier.ts';

/** How the fake answers one attempt: delivered, a retryable failure (503), a final refusal (400), or never. */
export type FakeAnswer = 'ok' | 'retryable' | 'fatal' | 'hang';

export class FakeNotifier implements Notifier {
  readonly kind = 'fake';
  readonly name: string;
  /** every attempt, delivered or not, in arrival order */
  readonly attempts: Notification[] = [];
  /** what was delivered (answered 'ok'), in order */
  readonly delivered: Notification[] = [];
  private readonly clock: Clock;
  private script: FakeAnswer[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(opts: { name?: string; clock?: Clock } = {}) {
    this.name = opts.name ?? 'fake';
    this.clock = opts.clock ?? systemClock;
  }

  /** Answers for the next attempts, in order; 'ok' once they are used up. */
  answer(...answers: FakeAnswer[]): void {
    this.script.push(...answers);
  }

  /** Resolves once `count` attempts have arrived. */
  waitForAttempts(count: number): Promise<void> {
    if (this.attempts.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    const started = this.clock.now();
    this.attempts.push(structuredClone(n));
    this.waiters = this.waiters.filter((w) => (this.attempts.length >= w.count ? (w.resolve(), false) : true));
    const answer = this.script.shift() ?? 'ok';
    switch (answer) {
      case 'ok':
        this.delivered.push(structuredClone(n));
        return { ok: true, attempts: 1, status: 200, durationMs: this.clock.now() - started };
      case 'retryable':
        return { ok: false, attempts: 1, status: 503, retryable: true, error: 'fake receiver answered 503', durationMs: this.clock.now() - started };
      case 'fatal':
        return { ok: false, attempts: 1, status: 400, retryable: false, error: 'fake receiver refused the notification (400)', durationMs: this.clock.now() - started };
      case 'hang':
        // Like a receiver that accepted the connection and never answered: only an abort ends it.
        return new Promise<DeliveryResult>((resolve) => {
          const onAbort = () =>
            resolve({ ok: false, attempts: 1, retryable: true, error: 'fake receiver: aborted while waiting', durationMs: this.clock.now() - started });
          if (signal?.aborted) onAbort();
          else signal?.addEventListener('abort', onAbort, { once: true });
        });
    }
  }
}
