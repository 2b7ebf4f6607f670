// One place that turns "this many milliseconds on the injected clock, or the caller gave up" into
// an AbortSignal, and remembers which of the two happened so messages can say "timed out after 2s"
// rather than "aborted".
import type { Clock } from '../clock/clock.ts';

export interface Deadline {
  readonly signal: AbortSignal;
  /** true once the time ran out (as opposed to the parent signal aborting) */
  expired(): boolean;
  /** stops the timer and detaches from the parent; call when the work is done */
  dispose(): void;
}

export function deadline(clock: Clock, ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = Number.isFinite(ms)
    ? clock.setTimeout(() => {
        timedOut = true;
        controller.abort(new DOMException(`timed out after ${ms}ms`, 'TimeoutError'));
      }, ms)
    : undefined;
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    expired: () => timedOut,
    dispose() {
      timer?.cancel();
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
