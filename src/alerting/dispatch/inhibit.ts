// Inhibition, as in Alertmanager: while a source alert fires, target alerts with the same values
// for the `equal` labels are not notified. E.g. `rollback_in_progress` for an environment mutes the
// probe alerts of that environment: the rollback already explains them. An alert matching both
// sides of a rule is never muted by another alert that also matches both sides, so a rule cannot
// make a set of alerts mute each other.
import type { Labels } from '../../monitor/series/labels.ts';
import { alertState, type Alert } from '../alerts/alert.ts';
import { matchesAll, type Matcher } from './matchers.ts';

export interface InhibitRule {
  source_matchers: Matcher[];
  target_matchers: Matcher[];
  equal: string[];
}

export class Inhibitor {
  private readonly rules: readonly InhibitRule[];
  private readonly alerts: () => Iterable<Alert>;

  /** `alerts` lists every alert the dispatcher knows, silenced ones included (they still inhibit). */
  constructor(rules: readonly InhibitRule[], alerts: () => Iterable<Alert>) {
    this.rules = rules;
    this.alerts = alerts;
  }

  /** Fingerprints of the firing alerts that inhibit an alert with these labels (empty: not inhibited). */
  inhibitedBy(target: { fingerprint: string; labels: Labels }, now: number): string[] {
    for (const rule of this.rules) {
      if (!matchesAll(rule.target_matchers, target.labels)) continue;
      const twoSided = matchesAll(rule.source_matchers, target.labels);
      const by: string[] = [];
      for (const src of this.alerts()) {
        if (src.fingerprint === target.fingerprint) continue;
        if (alertState(src, now) !== 'firing') continue;
        if (!matchesAll(rule.source_matchers, src.labels)) continue;
        if (twoSided && matchesAll(rule.target_matchers, src.labels)) continue;
        if (!rule.equal.every((k) => (src.labels[k] ?? '') === (target.labels[k] ?? ''))) continue;
        by.push(src.fingerprint);
      }
      if (by.length > 0) return by;
    }
    return [];
  }
}
