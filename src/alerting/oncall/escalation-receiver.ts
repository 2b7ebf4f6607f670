// The bridge from the dispatcher to the escalation engine: a receiver whose notifications page
// people by an escalation policy instead of going straight to a channel. A group that starts firing
// opens a page (or updates the open one); a group whose alerts all resolved resolves it.
import type { Notifier } from '../notifiers/notifier.ts';
import { toNotification, type GroupNotice, type Receiver, type ReceiverResult } from '../dispatch/receiver.ts';
import type { EscalationEngine } from './escalation.ts';

export class EscalationReceiver implements Receiver {
  readonly name: string;
  // The page must hear that its alerts resolved, or it would keep escalating.
  readonly sendResolved = true;
  private readonly policy: string;
  private readonly engine: EscalationEngine;
  private readonly notifiers: readonly Notifier[];

  constructor(opts: { name: string; policy: string; engine: EscalationEngine; notifiers: readonly Notifier[] }) {
    this.name = opts.name;
    this.policy = opts.policy;
    this.engine = opts.engine;
    this.notifiers = opts.notifiers;
  }

  static pageKey(receiver: string, groupKey: string): string {
    return `${receiver}|${groupKey}`;
  }

  async notify(notice: GroupNotice): Promise<ReceiverResult> {
    const key = EscalationReceiver.pageKey(this.name, notice.groupKey);
    try {
      if (notice.firing.length > 0) {
        await this.engine.trigger({ key, policy: this.policy, notification: toNotification(notice), notifiers: this.notifiers });
      } else {
        await this.engine.resolveKey(key, 'alerting', 'all alerts of the group resolved');
      }
      return { ok: true };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}
