// Stage: one attempt gets at most timeoutMs. The inner notifier sees an AbortSignal that fires at
// the deadline; if it ignores the signal, the attempt is abandoned anyway so a hanging receiver can
// never hold the pipeline.
import type { Clock } from '../../../clock/clock.ts';
import { describeError, type DeliveryResult, type Notification, type Notifier } from '../notifier.ts';

export interface TimeoutOptions {
  clock: Clock;
  timeoutMs: number;
}

export class TimeoutStage implements Notifier {
  readonly kind: string;
  readonly name: string;
  private readonly inner: Notifier;
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  constructor(inner: Notifier, opts: TimeoutOptions) {
    this.inner = inner;
    this.kind = inner.kind;
    this.name = inner.name;
    this.clock = opts.clock;
    this.timeoutMs = opts.timeoutMs;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    const started = this.clock.now();
    const ac = new AbortController();
    let timedOut = false;
    const onOuterAbort = () => ac.abort(signal?.reason);
    if (signal?.aborted) ac.abort(signal.reason);
    else signal?.addEventListener('abort', onOuterAbort, { once: true });
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      ac.abort(new Error(`timed out after ${this.timeoutMs} ms`));
    }, this.timeoutMs);

    const abandoned = new Promise<DeliveryResult>((resolve) => {
      const settle = () =>
        resolve(
          timedOut
            ? {
                ok: false,
                attempts: 1,
                retryable: true,
                error: `${this.kind} notifier "${this.name}" timed out after ${this.timeoutMs} ms: the receiver did not answer in time`,
                durationMs: this.clock.now() - started,
              }
            : {
                ok: false,
                attempts: 1,
                retryable: false,
                error: `delivery aborted by the caller: ${describeError(signal?.reason ?? 'aborted')}`,
                durationMs: this.clock.now() - started,
              },
        );
      if (ac.signal.aborted) settle();
      else ac.signal.addEventListener('abort', settle, { once: true });
    });

    try {
      const attempt = Promise.resolve()
        .then(() => this.inner.send(n, ac.signal))
        .catch((err: unknown): DeliveryResult => ({
          ok: false,
          attempts: 1,
          retryable: true,
          error: describeError(err),
          durationMs: this.clock.now() - started,
        }));
      return await Promise.race([attempt, abandoned]);
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onOuterAbort);
      // Whatever the inner attempt still holds (a socket, a timer) is released through the signal.
      if (!ac.signal.aborted) ac.abort(new Error('attempt finished'));
    }
  }
}

export function withTimeout(inner: Notifier, opts: TimeoutOptions): Notifier {
  return new TimeoutStage(inner, opts);
}
