// Stage: one notification to several notifiers at once. Each runs on its own: one that throws,
// fails or hangs neither delays nor cancels the others, and each outcome is reported as soon as
// it is known. An optional deadline bounds the whole fan-out even for notifiers without a timeout.
import type { Clock } from '../../clock/clock.ts';
import { describeError, type DeliveryResult, type Notification, type Notifier } from './notifier.ts';

export interface FanOutOutcome {
  name: string;
  kind: string;
  result: DeliveryResult;
}

export interface FanOutOptions {
  clock: Clock;
  /** give up on notifiers that have not answered after this long (their signal is aborted) */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** called once per notifier as soon as its outcome is known */
  onResult?: (outcome: FanOutOutcome) => void;
}

export async function fanOut(notifiers: readonly Notifier[], n: Notification, opts: FanOutOptions): Promise<FanOutOutcome[]> {
  const { clock } = opts;
  const started = clock.now();
  return Promise.all(
    notifiers.map(async (target): Promise<FanOutOutcome> => {
      const ac = new AbortController();
      const onOuter = () => ac.abort(opts.signal?.reason);
      if (opts.signal?.aborted) ac.abort(opts.signal.reason);
      else opts.signal?.addEventListener('abort', onOuter, { once: true });
      const races: Array<Promise<DeliveryResult>> = [
        Promise.resolve()
          .then(() => target.send(n, ac.signal))
          .catch((err: unknown): DeliveryResult => ({
            ok: false,
            attempts: 1,
            retryable: true,
            error: `notifier threw: ${describeError(err)}`,
            durationMs: clock.now() - started,
          })),
      ];
      let timer: { cancel(): void } | undefined;
      if (opts.deadlineMs !== undefined) {
        const deadlineMs = opts.deadlineMs;
        races.push(
          new Promise<DeliveryResult>((resolve) => {
            timer = clock.setTimeout(() => {
              ac.abort(new Error(`no result within ${deadlineMs} ms`));
              resolve({
                ok: false,
                attempts: 1,
                retryable: true,
                error: `${target.kind} notifier "${target.name}" gave no result within the fan-out deadline of ${deadlineMs} ms`,
                durationMs: clock.now() - started,
              });
            }, deadlineMs);
          }),
        );
      }
      try {
        const result = await Promise.race(races);
        const outcome = { name: target.name, kind: target.kind, result };
        try {
          opts.onResult?.(outcome);
        } catch {
          // A faulty observer must not turn a delivered page into a failed fan-out.
        }
        return outcome;
      } finally {
        timer?.cancel();
        opts.signal?.removeEventListener('abort', onOuter);
      }
    }),
  );
}

/** Several notifiers behind one Notifier: ok only when every one delivered. */
export class FanOutNotifier implements Notifier {
  readonly kind = 'fanout';
  readonly name: string;
  readonly notifiers: readonly Notifier[];
  private readonly opts: Omit<FanOutOptions, 'signal'>;

  constructor(name: string, notifiers: readonly Notifier[], opts: Omit<FanOutOptions, 'signal'>) {
    this.name = name;
    this.notifiers = notifiers;
    this.opts = opts;
  }

  sendAll(n: Notification, signal?: AbortSignal): Promise<FanOutOutcome[]> {
    return fanOut(this.notifiers, n, { ...this.opts, ...(signal ? { signal } : {}) });
  }

  async send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    const started = this.opts.clock.now();
    const outcomes = await this.sendAll(n, signal);
    const failed = outcomes.filter((o) => !o.result.ok);
    return {
      ok: failed.length === 0,
      attempts: outcomes.reduce((s, o) => s + o.result.attempts, 0),
      durationMs: this.opts.clock.now() - started,
      ...(failed.length > 0
        ? {
            error: failed.map((o) => `${o.name}: ${o.result.error ?? 'failed'}`).join('; '),
            retryable: failed.some((o) => o.result.retryable),
          }
        : {}),
    };
  }
}
