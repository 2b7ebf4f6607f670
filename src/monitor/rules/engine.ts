// Threshold rules evaluated on a tick, with the state machine of Prometheus alerting rules
// (rules/alerting.go): a new match is pending; it fires once it has matched for `for`; a pending
// alert whose condition clears is dropped; a firing alert whose condition clears stays firing for
// `keep_firing_for` and is then resolved. The output is one plain object per state change, for the
// alerting pipeline and the event log.
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { EventLog, NewEvent } from '../../events/log.ts';
import { seriesKey, type Labels } from '../series/labels.ts';
import type { Sample } from '../series/store.ts';

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertChange {
  name: string;
  labels: Labels;
  state: AlertState;
  activeAt: number;
  firedAt?: number;
  /** set when state is 'resolved'; a resolved change without firedAt was only ever pending */
  resolvedAt?: number;
  value: number;
  annotations: Record<string, string>;
}

export type ComparisonOp = '>' | '>=' | '<' | '<=' | '==' | '!=';

export interface Rule {
  name: string;
  /** the instant vector to test; each element is its own alert, identified by its labels */
  query: (at: number) => Sample[];
  /** keeps only elements passing the comparison; without it every element returned is active */
  condition?: { op: ComparisonOp; threshold: number };
  forMs?: number;
  keepFiringForMs?: number;
  /** added to (and overriding) the element's labels */
  labels?: Labels;
  /** values may use {{ $value }} and {{ $labels.<name> }} */
  annotations?: Record<string, string>;
  /** per-element annotations computed by the rule itself (e.g. an anomaly's explanation); override the templates */
  annotate?: (labels: Labels, value: number) => Record<string, string>;
}

interface Alert {
  labels: Labels;
  state: 'pending' | 'firing';
  activeAt: number;
  firedAt?: number;
  keepFiringSince?: number;
  value: number;
  annotations: Record<string, string>;
}

export interface RuleHealth {
  name: string;
  lastEvaluation?: number;
  lastError?: string;
}

export function compare(op: ComparisonOp, a: number, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

export function expandTemplate(text: string, labels: Labels, value: number): string {
  return text
    .replace(/\{\{\s*\$value\s*\}\}/g, String(value))
    .replace(/\{\{\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, k: string) => labels[k] ?? '');
}

export interface RuleEngineOptions {
  clock: Clock;
  rules: Rule[];
  /** how often start() evaluates; Prometheus' default evaluation_interval is 1m */
  intervalMs?: number;
  /** state changes are also appended here as monitor.alert.<state> events */
  events?: EventLog;
  onError?: (err: unknown) => void;
}

export class RuleEngine {
  private readonly clock: Clock;
  private readonly rules: Rule[];
  private readonly intervalMs: number;
  private readonly events: EventLog | undefined;
  private readonly onError: (err: unknown) => void;
  private readonly active = new Map<string, Map<string, Alert>>();
  private readonly health = new Map<string, RuleHealth>();
  private readonly listeners = new Set<(changes: AlertChange[]) => void>();
  private timer: TimerHandle | undefined;

  constructor(opts: RuleEngineOptions) {
    this.clock = opts.clock;
    this.rules = opts.rules;
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.events = opts.events;
    this.onError = opts.onError ?? (() => {});
    const names = new Set<string>();
    for (const r of this.rules) {
      // two rules with one name would share alert identities and fight over their state
      if (names.has(r.name)) throw new Error(`duplicate rule name ${r.name}`);
      names.add(r.name);
      this.active.set(r.name, new Map());
      this.health.set(r.name, { name: r.name });
    }
  }

  /** Called with each evaluation's changes (only when there are some). */
  subscribe(listener: (changes: AlertChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Evaluates every rule at `at`; returns (and publishes) the state changes. */
  evaluate(at: number = this.clock.now()): AlertChange[] {
    const changes: AlertChange[] = [];
    for (const rule of this.rules) changes.push(...this.evaluateRule(rule, at));
    if (changes.length > 0) {
      for (const l of this.listeners) l(changes);
      if (this.events) this.events.appendAll(changes.map(alertEvent)).catch(this.onError);
    }
    return changes;
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      try {
        this.evaluate();
      } catch (err) {
        this.onError(err);
      }
      this.timer = this.clock.setTimeout(tick, this.intervalMs);
    };
    tick();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Alerts currently pending or firing (including those held by keep_firing_for). */
  alerts(): (Omit<AlertChange, 'state'> & { state: 'pending' | 'firing' })[] {
    const out = [];
    for (const [name, m] of this.active) {
      for (const a of m.values()) out.push(this.snapshot(name, a));
    }
    return out;
  }

  ruleHealth(): RuleHealth[] {
    return [...this.health.values()].map((h) => ({ ...h }));
  }

  private evaluateRule(rule: Rule, ts: number): AlertChange[] {
    const health = this.health.get(rule.name)!;
    health.lastEvaluation = ts;
    let result: Sample[];
    try {
      result = rule.query(ts);
      health.lastError = undefined;
    } catch (err) {
      // like Prometheus: a failed query leaves alert state as it was rather than resolving everything
      health.lastError = err instanceof Error ? err.message : String(err);
      this.onError(err);
      return [];
    }
    const active = this.active.get(rule.name)!;
    const before = new Map<string, Alert['state']>();
    for (const [k, a] of active) before.set(k, a.state);
    const changes: AlertChange[] = [];
    const seen = new Set<string>();
    const holdMs = rule.forMs ?? 0;
    const keepMs = rule.keepFiringForMs ?? 0;

    for (const s of result) {
      if (rule.condition && !compare(rule.condition.op, s.value, rule.condition.threshold)) continue;
      const labels = { ...s.labels, ...rule.labels };
      const key = seriesKey(rule.name, labels);
      if (seen.has(key)) {
        health.lastError = `query returned two elements with labels ${key}`;
        continue;
      }
      seen.add(key);
      const annotations = { ...expandAll(rule.annotations, labels, s.value), ...rule.annotate?.(labels, s.value) };
      const a = active.get(key);
      if (a) {
        a.value = s.value;
        a.annotations = annotations;
        continue;
      }
      active.set(key, { labels, state: 'pending', activeAt: ts, value: s.value, annotations });
    }

    for (const [key, a] of active) {
      if (!seen.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && keepMs > 0) {
          a.keepFiringSince ??= ts;
          keepFiring = ts - a.keepFiringSince < keepMs;
        }
        if (!keepFiring) {
          active.delete(key);
          changes.push({ ...this.snapshot(rule.name, a), state: 'resolved', resolvedAt: ts });
          continue;
        }
      } else {
        a.keepFiringSince = undefined;
      }
      if (a.state === 'pending' && ts - a.activeAt >= holdMs) {
        a.state = 'firing';
        a.firedAt = ts;
      }
      if (before.get(key) !== a.state) changes.push(this.snapshot(rule.name, a));
    }
    return changes;
  }

  private snapshot(name: string, a: Alert): Omit<AlertChange, 'state'> & { state: 'pending' | 'firing' } {
    const out: Omit<AlertChange, 'state'> & { state: 'pending' | 'firing' } = {
      name,
      labels: { ...a.labels },
      state: a.state,
      activeAt: a.activeAt,
      value: a.value,
      annotations: { ...a.annotations },
    };
    if (a.firedAt !== undefined) out.firedAt = a.firedAt;
    return out;
  }
}

function expandAll(annotations: Record<string, string> | undefined, labels: Labels, value: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations ?? {})) out[k] = expandTemplate(v, labels, value);
  return out;
}

export function alertEvent(c: AlertChange): NewEvent {
  return {
    type: `monitor.alert.${c.state}`,
    actor: 'monitor',
    subject: `alert/${seriesKey(c.name, c.labels)}`,
    data: { ...c },
    time: c.resolvedAt ?? c.firedAt ?? c.activeAt,
  };
}
