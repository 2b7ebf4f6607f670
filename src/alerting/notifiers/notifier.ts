// The interface the alerting module pages through. Each kind (webhook, slack, pagerduty, email)
// implements one delivery attempt; the stages in this folder (timeout, retry, dedup, events,
// fan-out) wrap it, in the spirit of Alertmanager's notify pipeline, so every kind gets the same
// delivery guarantees without reimplementing them.

export interface Notification {
  /** unique per notification attempt group; receivers use it for idempotency */
  id: string;
  /** one per alert group / incident: the same key never pages twice for one alert (PagerDuty dedup_key) */
  dedupKey: string;
  action: 'trigger' | 'acknowledge' | 'resolve';
  severity: 'critical' | 'error' | 'warning' | 'info';
  summary: string;
  /** e.g. "production/web" */
  source: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** ms since the Unix epoch */
  startsAt: number;
  incidentId?: string;
  /** signed action links built by the caller */
  links?: { acknowledge?: string; resolve?: string; snooze?: string; dashboard?: string };
  recipient?: { name: string; email?: string };
}

export interface DeliveryResult {
  ok: boolean;
  /** delivery attempts made (0 when the dedup stage suppressed the send) */
  attempts: number;
  /** HTTP status or SMTP reply code of the last attempt, when one was received */
  status?: number;
  error?: string;
  /** whether trying again later may succeed */
  retryable?: boolean;
  durationMs: number;
  /** the receiver asked us to wait this long before retrying (HTTP Retry-After) */
  retryAfterMs?: number;
  /** true when the dedup stage did not send because this was already delivered */
  deduplicated?: boolean;
}

export interface Notifier {
  readonly kind: string;
  readonly name: string;
  /** Never rejects: every failure is a DeliveryResult with ok=false and an error. */
  send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult>;
}

export type Action = Notification['action'];
export type Severity = Notification['severity'];

/** The human words for each action, shared by the kinds that render text. */
export const actionTitle: Record<Action, string> = {
  trigger: 'Triggered',
  acknowledge: 'Acknowledged',
  resolve: 'Resolved',
};

/** Links a person can act on, in the order they are shown. */
export function actionLinks(n: Notification): Array<{ rel: keyof NonNullable<Notification['links']>; text: string; href: string }> {
  const out: Array<{ rel: keyof NonNullable<Notification['links']>; text: string; href: string }> = [];
  const l = n.links ?? {};
  // Acknowledging or snoozing something already resolved only confuses the reader.
  const open = n.action !== 'resolve';
  if (open && n.action !== 'acknowledge' && l.acknowledge) out.push({ rel: 'acknowledge', text: 'Acknowledge', href: l.acknowledge });
  if (open && l.resolve) out.push({ rel: 'resolve', text: 'Resolve', href: l.resolve });
  if (open && l.snooze) out.push({ rel: 'snooze', text: 'Snooze', href: l.snooze });
  if (l.dashboard) out.push({ rel: 'dashboard', text: 'Dashboard', href: l.dashboard });
  return out;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const c = cause instanceof Error ? `: ${cause.message}` : '';
    return `${err.message}${c}`;
  }
  return String(err);
}
