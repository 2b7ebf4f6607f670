// Stage: every delivery outcome becomes an event (`notification.sent` / `notification.failed`), so
// incident timelines and postmortems show who was paged, when, through what, and why it failed.
import type { DataOf } from '../../../events/catalogue/index.ts';
import type { EventLog } from '../../../events/log.ts';
import { describeError, type DeliveryResult, type Notification, type Notifier } from '../notifier.ts';

export interface EventsOptions {
  log: EventLog;
  /** "notifier:<name>" by default */
  actor?: string;
  /** called when the log refuses the event; the delivery result is returned regardless */
  onLogError?: (err: unknown) => void;
}

export function notificationSubject(n: Pick<Notification, 'incidentId' | 'dedupKey'>): string {
  return n.incidentId ? `incident/${n.incidentId}` : `alert/${n.dedupKey}`;
}

export class EventsStage implements Notifier {
  readonly kind: string;
  readonly name: string;
  private readonly inner: Notifier;
  private readonly opts: EventsOptions;

  constructor(inner: Notifier, opts: EventsOptions) {
    this.inner = inner;
    this.kind = inner.kind;
    this.name = inner.name;
    this.opts = opts;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    let result: DeliveryResult;
    try {
      result = await this.inner.send(n, signal);
    } catch (err) {
      result = { ok: false, attempts: 1, retryable: true, error: describeError(err), durationMs: 0 };
    }
    // A suppressed duplicate delivered nothing, so there is nothing to record.
    if (result.deduplicated) return result;
    const data: DataOf<'notification.sent'> & { reason?: string; retryable?: boolean } = {
      notifier: this.name,
      kind: this.kind,
      notificationId: n.id,
      dedupKey: n.dedupKey,
      action: n.action,
      severity: n.severity,
      attempts: result.attempts,
      durationMs: result.durationMs,
    };
    if (n.incidentId !== undefined) data.incidentId = n.incidentId;
    if (n.recipient) data.recipient = n.recipient.name;
    if (result.status !== undefined) data.status = result.status;
    if (!result.ok) {
      data.reason = result.error ?? 'unknown failure';
      data.retryable = result.retryable ?? false;
    }
    try {
      const actor = this.opts.actor ?? `notifier:${this.name}`;
      const subject = notificationSubject(n);
      const { reason, retryable, ...sent } = data;
      await this.opts.log.append(
        result.ok
          ? { type: 'notification.sent', actor, subject, data: sent }
          : { type: 'notification.failed', actor, subject, data: { ...sent, reason: reason ?? 'unknown failure', retryable: retryable ?? false } },
      );
    } catch (err) {
      this.opts.onLogError?.(err);
    }
    return result;
  }
}

export function withEvents(inner: Notifier, opts: EventsOptions): Notifier {
  return new EventsStage(inner, opts);
}
