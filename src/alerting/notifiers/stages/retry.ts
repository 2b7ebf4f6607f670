// Stage: retry retryable failures with exponential back-off and full jitter
// (delay = random() * min(max, initial * 2^(retry-1))), so many Greenlight controllers paging the
// same struggling receiver spread out instead of retrying in lockstep. Clock and random are
// injected so tests can assert exact delays.
import type { Clock } from '../../../clock/clock.ts';
import { describeError, type DeliveryResult, type Notification, type Notifier } from '../notifier.ts';

export interface RetryPolicy {
  /** total attempts including the first; 1 disables retrying */
  attempts: number;
  /** cap of the first back-off, ms */
  initialMs: number;
  /** cap of any back-off, ms */
  maxMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 4, initialMs: 500, maxMs: 30_000 };

export interface RetryOptions extends Partial<RetryPolicy> {
  clock: Clock;
  /** uniform in [0, 1); Math.random by default */
  random?: () => number;
  /** called before each back-off sleep, e.g. for logs or tests */
  onRetry?: (info: { attempt: number; delayMs: number; result: DeliveryResult }) => void;
}

/** The back-off before retry number `retry` (1 = the wait after the first failed attempt). */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'initialMs' | 'maxMs'>, random: () => number, retryAfterMs?: number): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** (retry - 1));
  const jittered = Math.floor(random() * cap);
  // A receiver that said when to come back is obeyed, but never beyond our own ceiling.
  return retryAfterMs === undefined ? jittered : Math.min(policy.maxMs, Math.max(jittered, retryAfterMs));
}

export class RetryStage implements Notifier {
  readonly kind: string;
  readonly name: string;
  private readonly inner: Notifier;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly policy: RetryPolicy;
  private readonly onRetry: RetryOptions['onRetry'];

  constructor(inner: Notifier, opts: RetryOptions) {
    this.inner = inner;
    this.kind = inner.kind;
    this.name = inner.name;
    this.clock = opts.clock;
    this.random = opts.random ?? Math.random;
    this.policy = {
      attempts: Math.max(1, opts.attempts ?? defaultRetryPolicy.attempts),
      initialMs: opts.initialMs ?? defaultRetryPolicy.initialMs,
      maxMs: opts.maxMs ?? defaultRetryPolicy.maxMs,
    };
    this.onRetry = opts.onRetry;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    const started = this.clock.now();
    let attempts = 0;
    for (;;) {
      let result: DeliveryResult;
      try {
        result = await this.inner.send(n, signal);
      } catch (err) {
        result = { ok: false, attempts: 1, retryable: true, error: describeError(err), durationMs: 0 };
      }
      attempts += Math.max(1, result.attempts);
      const total = { ...result, attempts, durationMs: this.clock.now() - started };
      if (result.ok || !result.retryable || attempts >= this.policy.attempts || signal?.aborted) {
        if (!result.ok && result.retryable && attempts >= this.policy.attempts && attempts > 1) {
          total.error = `${result.error ?? 'failed'} (gave up after ${attempts} attempts)`;
        }
        return total;
      }
      const delayMs = backoffDelay(attempts, this.policy, this.random, result.retryAfterMs);
      this.onRetry?.({ attempt: attempts, delayMs, result });
      try {
        await this.clock.sleep(delayMs, signal);
      } catch {
        return { ...total, retryable: false, error: `${result.error ?? 'failed'}; retrying stopped: delivery aborted by the caller` };
      }
    }
  }
}

export function withRetry(inner: Notifier, opts: RetryOptions): Notifier {
  return new RetryStage(inner, opts);
}
