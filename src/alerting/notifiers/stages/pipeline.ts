// The notify pipeline one configured notifier runs through, outermost first:
//   dedup -> events -> retry -> timeout -> the kind's single attempt
// Dedup sits outside so a suppressed duplicate leaves no event; events sit outside retry so one
// delivery is one event carrying its attempt count; the timeout bounds each attempt, not the total.
import type { Clock } from '../../../clock/clock.ts';
import type { EventLog } from '../../../events/log.ts';
import { DedupStage } from './dedup.ts';
import { EventsStage } from './events.ts';
import type { DeliveryResult, Notification, Notifier } from '../notifier.ts';
import { RetryStage, defaultRetryPolicy, type RetryPolicy } from './retry.ts';
import { TimeoutStage } from './timeout.ts';

export interface PipelineOptions {
  clock: Clock;
  /** per attempt; 10 s by default */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** uniform in [0, 1) for back-off jitter; Math.random by default */
  random?: () => number;
  /** when set, outcomes are recorded as notification.sent / notification.failed */
  log?: EventLog;
  /** told when the log refuses an event; the page itself still counts as delivered */
  onLogError?: (err: unknown) => void;
  /** false turns the dedup stage off (e.g. for a test page); on by default */
  dedup?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

export class DeliveryPipeline implements Notifier {
  readonly kind: string;
  readonly name: string;
  /** the kind's single-attempt notifier at the bottom of the pipeline */
  readonly transport: Notifier;
  readonly dedup: DedupStage | undefined;
  private readonly head: Notifier;

  constructor(transport: Notifier, opts: PipelineOptions) {
    this.transport = transport;
    this.kind = transport.kind;
    this.name = transport.name;
    let n: Notifier = new TimeoutStage(transport, { clock: opts.clock, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    n = new RetryStage(n, { clock: opts.clock, ...defaultRetryPolicy, ...opts.retry, ...(opts.random ? { random: opts.random } : {}) });
    if (opts.log) n = new EventsStage(n, { log: opts.log, ...(opts.onLogError ? { onLogError: opts.onLogError } : {}) });
    if (opts.dedup !== false) {
      this.dedup = new DedupStage(n, { now: () => opts.clock.now() });
      n = this.dedup;
    }
    this.head = n;
  }

  send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    return this.head.send(n, signal);
  }
}

export function pipeline(transport: Notifier, opts: PipelineOptions): DeliveryPipeline {
  return new DeliveryPipeline(transport, opts);
}
