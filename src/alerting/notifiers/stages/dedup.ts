// Stage: the same alert never pages twice. Like Alertmanager's notification log, it remembers per
// dedupKey what this notifier has delivered: a second `trigger` is suppressed until a `resolve`
// went out; repeated acknowledges and resolves are suppressed too. Only successful deliveries are
// remembered, so a failed page is still sent when the caller tries again. Sends for one key are
// serialised so a trigger racing its own resolve cannot deliver them out of order.
import type { EventLog } from '../../../events/log.ts';
import type { Action, DeliveryResult, Notification, Notifier } from '../notifier.ts';

export type DedupState = 'triggered' | 'acknowledged' | 'resolved';

export interface SentRecord {
  dedupKey: string;
  action: Action;
  notificationId: string;
  at: number;
}

export interface DedupOptions {
  /** stamps the records; Date.now by default */
  now?: () => number;
}

export class DedupStage implements Notifier {
  readonly kind: string;
  readonly name: string;
  private readonly inner: Notifier;
  private readonly now: () => number;
  private readonly states = new Map<string, DedupState>();
  private readonly history: SentRecord[] = [];
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(inner: Notifier, opts: DedupOptions = {}) {
    this.inner = inner;
    this.kind = inner.kind;
    this.name = inner.name;
    this.now = opts.now ?? Date.now;
  }

  /** What this notifier has delivered, oldest first. */
  sent(): SentRecord[] {
    return this.history.map((r) => ({ ...r }));
  }

  stateOf(dedupKey: string): DedupState | undefined {
    return this.states.get(dedupKey);
  }

  /** Whether sending n now would be suppressed. */
  isDuplicate(n: Pick<Notification, 'dedupKey' | 'action'>): boolean {
    const s = this.states.get(n.dedupKey);
    switch (n.action) {
      case 'trigger':
        return s === 'triggered' || s === 'acknowledged';
      case 'acknowledge':
        return s === 'acknowledged' || s === 'resolved';
      case 'resolve':
        return s === 'resolved';
    }
  }

  /**
   * Rebuilds the memory from `notification.sent` events of this notifier, so a restarted
   * controller does not page again for alerts it already paged for.
   */
  async restore(log: EventLog): Promise<number> {
    const events = await log.query({ types: ['notification.sent'] });
    let n = 0;
    for (const e of events) {
      const d = e.data as { notifier?: unknown; kind?: unknown; dedupKey?: unknown; action?: unknown; notificationId?: unknown };
      if (d.notifier !== this.name || d.kind !== this.kind || typeof d.dedupKey !== 'string') continue;
      if (d.action !== 'trigger' && d.action !== 'acknowledge' && d.action !== 'resolve') continue;
      this.record({ dedupKey: d.dedupKey, action: d.action, notificationId: String(d.notificationId ?? ''), at: e.time });
      n++;
    }
    return n;
  }

  send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    const previous = this.queues.get(n.dedupKey) ?? Promise.resolve();
    const mine = previous.then(() => this.sendNow(n, signal));
    const tail = mine.catch(() => undefined);
    this.queues.set(n.dedupKey, tail);
    void tail.then(() => {
      if (this.queues.get(n.dedupKey) === tail) this.queues.delete(n.dedupKey);
    });
    return mine;
  }

  private async sendNow(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    if (this.isDuplicate(n)) {
      return { ok: true, attempts: 0, durationMs: 0, deduplicated: true };
    }
    const result = await this.inner.send(n, signal);
    if (result.ok && !result.deduplicated) {
      this.record({ dedupKey: n.dedupKey, action: n.action, notificationId: n.id, at: this.now() });
    }
    return result;
  }

  private record(r: SentRecord): void {
    this.history.push(r);
    this.states.set(r.dedupKey, r.action === 'trigger' ? 'triggered' : r.action === 'acknowledge' ? 'acknowledged' : 'resolved');
  }
}

export function withDedup(inner: Notifier, opts?: DedupOptions): DedupStage {
  return new DedupStage(inner, opts);
}
