// One service's monitoring in one environment, as the controller runs it: reads the router's
// per-version counters into the series store, probes the router and the instances, scrapes
// instance metrics and samples their processes, evaluates SLO burn-rate and threshold rules,
// watches derived series for anomalies and gauges with a limit for trends, and rolls all of it up
// into a few events (alerts, anomalies, trend warnings, a periodic summary): never one per sample.
// Everything runs on the injected clock; stop() leaves no timer behind.
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { DataOf } from '../../events/catalogue/index.ts';
import type { EventLog, NewEvent } from '../../events/log.ts';
import type { RouterStats } from '../../router/stats.ts';
import type { DetectorOptions } from '../anomaly/detector.ts';
import { ProbeScheduler, type HttpProbeSpec, type ProbeResult } from '../probe/http.ts';
import { ProcessSampler } from '../probe/process.ts';
import { alertEvent, RuleEngine, type AlertChange, type Rule, type RuleHealth } from '../rules/engine.ts';
import { compileRule } from '../rules/query.ts';
import { SourceRule } from '../rules/source-rule.ts';
import { Scraper, type ScrapeResult, type ScrapeTarget } from '../scrape/scrape.ts';
import { toProbeSpec, toRetention, toRuleSpec, type MonitorsConfig, type SloConfig } from '../schema.ts';
import { seriesKey, type Labels } from '../series/labels.ts';
import { SeriesStore, sumValues } from '../series/store.ts';
import { Slo, type SloStatus } from '../slo/slo.ts';
import { formatBytes, humanDuration, trendMessage, type TrendPrediction } from '../trend/trend.ts';
import {
  ROUTER_ERROR_RATIO,
  ROUTER_LATENCY,
  ROUTER_P99,
  ROUTER_RATE,
  RouterSeriesWriter,
  type DerivedGauges,
} from './router-series.ts';
import { StepWatcher } from './steps.ts';
import { AnomalyWatcher, TrendWatcher, type AnomalySignal, type StreamIrregularities, type TrendWarning } from './signals.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A live instance of the service, as the target reports it. */
export interface MonitoredInstance {
  id: string;
  version: string;
  /** base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** <= 0 when the process is not local (no /proc sampling) */
  pid: number;
}

export interface MonitorServiceOptions {
  /** window of the derived gauges (rate, error ratio, p50/p99); default 1m */
  derivedWindowMs?: number;
  /** overrides of the anomaly detector (defaults: docs/anomaly.md) */
  anomaly?: DetectorOptions;
  /** an anomaly episode ends after this long without a score over the threshold; default 15m */
  anomalyCooldownMs?: number;
  /** a trend warning episode ends after this long without a warning prediction; default 15m */
  trendCooldownMs?: number;
  /** `for` of the built-in ProbeDown / InstanceProbeDown alerts; default 1m */
  probeDownForMs?: number;
  /** at most this many anomaly detectors; default 1000 */
  maxDetectors?: number;
  /** errors of background work (event writes, rule queries); default: ignored */
  onError?: (err: unknown) => void;
}

export interface MonitorServiceDeps {
  clock: Clock;
  events: EventLog;
  environment: string;
  service: string;
  /** the environment's parsed `monitors:` block (monitorsSchema output) */
  config: MonitorsConfig;
  /** the service's parsed `slos:` (slosSchema output) */
  slos: SloConfig[];
  routerStats: () => Promise<RouterStats>;
  instances: () => MonitoredInstance[];
  /** every rule state change, including `resolved` of alerts that were only pending (they have no firedAt) */
  onAlert?: (change: AlertChange) => void;
  options?: MonitorServiceOptions;
}

export interface ProbeStatus {
  probe: string;
  url: string;
  /** instance id for per-instance probes */
  instance?: string;
  version?: string;
  state: 'up' | 'down' | 'unknown';
  lastAt?: number;
  lastDurationMs?: number;
  lastStatus?: number;
  lastError?: string;
}

export interface ScrapeStatus {
  url: string;
  instance?: string;
  up: boolean;
  lastAt: number;
  durationMs: number;
  samples: number;
  lastError?: string;
}

export interface ProcessStatus {
  instance: string;
  version: string;
  pid: number;
  up: boolean;
  residentBytes?: number;
  /** CPU cores used over the last minute */
  cpuCores?: number;
  memoryLimitBytes?: number;
}

export interface SloReport extends SloStatus {
  /** true while the budget is not overspent (error ratio over the period <= 1 - objective) */
  compliant?: boolean;
}

export interface MonitorStatus {
  environment: string;
  service: string;
  at: number;
  running: boolean;
  router: {
    lastReadAt?: number;
    lastError?: string;
    /** derived over the last derivedWindowMs, per version */
    versions: DerivedGauges[];
  };
  probes: ProbeStatus[];
  scrapes: ScrapeStatus[];
  processes: ProcessStatus[];
  slos: SloReport[];
  alerts: { name: string; labels: Labels; state: 'pending' | 'firing'; activeAt: number; firedAt?: number; value: number; annotations: Record<string, string> }[];
  anomalies: AnomalySignal[];
  /** watched series whose points came out of order, repeated, paused or were not numbers */
  streamIrregularities: StreamIrregularities[];
  trends: TrendWarning[];
  /** rules whose last query failed */
  ruleErrors: RuleHealth[];
  memory: {
    series: number;
    maxSeries: number;
    bytes: number;
    maxBytesPerSeries: number;
    /** hard ceiling of the store: maxSeries x maxBytesPerSeries */
    maxBytes: number;
    rawPoints: number;
    rollupBuckets: number;
    refusedSamples: number;
    outOfOrderSamples: number;
    detectors: number;
    maxDetectors: number;
    refusedDetectors: number;
    trendPredictors: number;
    /** each predictor keeps at most this many points */
    trendPointsPerPredictor: number;
  };
}

interface Loop {
  timer: TimerHandle | undefined;
  running: Promise<void> | undefined;
}

export class MonitorService {
  private readonly d: MonitorServiceDeps;
  private readonly clock: Clock;
  private readonly onError: (err: unknown) => void;
  readonly store: SeriesStore;
  private readonly router: RouterSeriesWriter;
  private readonly engine: RuleEngine;
  private readonly slos: Slo[];
  private readonly anomalies: AnomalyWatcher;
  private readonly trends: TrendWatcher;
  private readonly steps: StepWatcher;
  private readonly sampler: ProcessSampler | undefined;
  private readonly staticProbes: ProbeScheduler;
  private readonly staticProbeSpecs: HttpProbeSpec[];
  private readonly instanceProbes = new Map<string, { scheduler: ProbeScheduler; instance: MonitoredInstance }>();
  private scraper: Scraper | undefined;
  private scraperKey = '';
  private readonly probeResults = new Map<string, { spec: HttpProbeSpec; instance?: MonitoredInstance; result?: ProbeResult }>();
  private readonly scrapeResults = new Map<string, ScrapeResult & { instance?: string }>();
  private readonly derived = new Map<string, DerivedGauges>();
  private live: MonitoredInstance[] = [];
  /** rules reading a metric source (prometheus, scrape) instead of the store */
  private readonly sourceRules: SourceRule[] = [];
  private routerReadAt: number | undefined;
  private routerError: string | undefined;
  private readonly loops: Loop[] = [];
  private readonly writes = new Set<Promise<unknown>>();
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private readonly derivedWindowMs: number;
  private readonly maxDetectors: number;

  constructor(deps: MonitorServiceDeps) {
    this.d = deps;
    this.clock = deps.clock;
    const o = deps.options ?? {};
    this.onError = o.onError ?? (() => {});
    this.derivedWindowMs = o.derivedWindowMs ?? MIN;
    this.maxDetectors = o.maxDetectors ?? 1000;
    this.store = new SeriesStore({ clock: this.clock, retention: toRetention(deps.config.retention) });
    // latency SLOs on the router histogram may name a round threshold (300 ms) between two router bounds
    const extra = deps.slos.flatMap((s) => (s.latency && s.latency.histogram === ROUTER_LATENCY ? [s.latency.threshold] : []));
    this.router = new RouterSeriesWriter(this.store, extra);
    this.slos = deps.slos.map((s) => new Slo(s, this.store));
    this.anomalies = new AnomalyWatcher({
      cooldownMs: o.anomalyCooldownMs ?? 15 * MIN,
      maxSeries: this.maxDetectors,
      describe: (name, labels) => this.describe(name, labels),
      detectorFor: (name) => anomalyDetectorFor(name, o.anomaly),
      ...(o.anomaly ? { detector: o.anomaly } : {}),
    });
    this.steps = new StepWatcher({
      cooldownMs: o.anomalyCooldownMs ?? 15 * MIN,
      maxSeries: this.maxDetectors,
      describe: (name, labels) => this.describe(name, labels),
    });
    this.trends = new TrendWatcher({
      horizonMs: deps.config.trend?.horizon ?? HOUR,
      windowMs: deps.config.trend?.window ?? HOUR,
      cooldownMs: o.trendCooldownMs ?? 15 * MIN,
    });

    this.staticProbeSpecs = deps.config.probes.map(toProbeSpec);
    for (const spec of this.staticProbeSpecs) this.probeResults.set(probeKey(spec.name, undefined), { spec });
    this.staticProbes = this.newProbeScheduler(this.staticProbeSpecs, undefined);

    if (deps.config.process_metrics) {
      this.sampler = new ProcessSampler({
        clock: this.clock,
        store: this.store,
        intervalMs: deps.config.process_metrics.interval,
        processes: () => this.live.filter((i) => i.pid > 0).map((i) => ({ pid: i.pid, labels: { instance: i.id, version: i.version } })),
      });
    }

    const scope = { environment: deps.environment, service: deps.service };
    const rules: Rule[] = [];
    for (const r of deps.config.rules) {
      const spec = toRuleSpec(r);
      let rule: Rule;
      if (spec) rule = compileRule(spec, this.store);
      else {
        const reader = new SourceRule(r.alert, r.source!, { clock: this.clock, evaluationIntervalMs: deps.config.evaluation_interval });
        this.sourceRules.push(reader);
        rule = { name: r.alert, query: () => reader.query(), condition: { op: r.op, threshold: r.threshold }, forMs: r.for, keepFiringForMs: r.keep_firing_for };
        if (r.annotations) rule.annotations = r.annotations;
      }
      rule.labels = { ...scope, ...r.labels };
      rules.push(rule);
    }
    for (const slo of this.slos) for (const r of slo.rules()) rules.push({ ...r, labels: { ...scope, ...r.labels } });
    const downFor = o.probeDownForMs ?? MIN;
    const names = new Set(rules.map((r) => r.name));
    if (this.staticProbeSpecs.length > 0 && !names.has('ProbeDown')) {
      rules.push({
        name: 'ProbeDown',
        query: (at) => this.downProbes(at, false),
        forMs: downFor,
        labels: { ...scope, severity: 'page' },
        annotations: { summary: 'probe {{ $labels.probe }} of {{ $labels.instance }} is failing' },
      });
    }
    if (deps.config.probes.some((p) => p.per_instance) && !names.has('InstanceProbeDown')) {
      rules.push({
        name: 'InstanceProbeDown',
        query: (at) => this.downProbes(at, true),
        forMs: downFor,
        labels: { ...scope, severity: 'ticket' },
        annotations: { summary: 'probe {{ $labels.probe }} of instance {{ $labels.instance }} ({{ $labels.version }}) is failing' },
      });
    }
    if (!names.has('SeriesAnomaly')) {
      // announced anomaly episodes reach the alerting pipeline as alerts (severity warning or ticket,
      // never page: an anomaly is an early warning); rate limited per series by the watcher
      rules.push({
        name: 'SeriesAnomaly',
        query: () =>
          [...this.anomalies.announced(), ...this.steps.announced()].map((e) => ({
            name: 'anomaly',
            labels: { ...scope, ...e.labels, series: e.name, severity: e.severity, since: new Date(e.since).toISOString() },
            value: e.score,
          })),
        annotate: (labels) => {
          const e = [...this.anomalies.announced(), ...this.steps.announced()].find((a) => a.name === labels.series && a.since === Date.parse(labels.since ?? ''));
          const out: Record<string, string> = {};
          if (e) Object.assign(out, { summary: e.message, expected: String(e.expected), deviations: e.deviations.toFixed(1), basis: e.basis });
          return out;
        },
      });
    }
    this.engine = new RuleEngine({ clock: this.clock, rules, intervalMs: deps.config.evaluation_interval, onError: this.onError });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.engine.subscribe((changes) => this.onAlertChanges(changes));
    const cfg = this.d.config;
    this.every(cfg.router_interval ?? 5_000, true, () => this.routerTick());
    this.staticProbes.start();
    if (cfg.scrape) this.every(cfg.scrape.interval, true, () => this.scrapeTick());
    if (this.sampler && cfg.process_metrics) this.every(cfg.process_metrics.interval, true, () => this.processTick());
    if (this.sourceRules.length > 0) this.every(cfg.evaluation_interval, true, () => this.sourceTick());
    this.every(cfg.evaluation_interval, false, () => this.evaluate());
    this.every(cfg.summary_interval ?? 10 * MIN, false, () => this.summary());
  }

  /** Cancels every timer and waits for work in flight (probes, scrapes, reads, event writes). */
  async stop(): Promise<void> {
    this.running = false;
    for (const l of this.loops) l.timer?.cancel();
    this.loops.length = 0;
    this.staticProbes.stop();
    for (const p of this.instanceProbes.values()) p.scheduler.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.idle();
    this.instanceProbes.clear();
  }

  /** Resolves when no probe, scrape, sample, router read or event write is in flight. */
  async idle(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const pending: Promise<unknown>[] = [...this.writes];
      for (const l of this.loops) if (l.running) pending.push(l.running);
      pending.push(this.staticProbes.idle());
      for (const p of this.instanceProbes.values()) pending.push(p.scheduler.idle());
      if (this.scraper) pending.push(this.scraper.idle());
      await Promise.allSettled(pending);
      if (this.writes.size === 0 && this.loops.every((l) => !l.running)) return;
    }
  }

  status(): MonitorStatus {
    const at = this.clock.now();
    const st = this.store.stats();
    const ret = this.store.retention;
    const probes: ProbeStatus[] = [];
    for (const { spec, instance, result } of this.probeResults.values()) {
      const p: ProbeStatus = { probe: spec.name, url: spec.url, state: result ? (result.success ? 'up' : 'down') : 'unknown' };
      if (instance) {
        p.instance = instance.id;
        p.version = instance.version;
      }
      if (result) {
        p.lastAt = result.at;
        p.lastDurationMs = result.durationMs;
        if (result.status !== undefined) p.lastStatus = result.status;
        if (result.error !== undefined) p.lastError = result.error;
      }
      probes.push(p);
    }
    const scrapes: ScrapeStatus[] = [...this.scrapeResults.values()].map((r) => {
      const s: ScrapeStatus = { url: r.url, up: r.ok, lastAt: r.at, durationMs: r.durationMs, samples: r.samples };
      if (r.instance) s.instance = r.instance;
      if (r.error !== undefined) s.lastError = r.error;
      return s;
    });
    const router: MonitorStatus['router'] = { versions: [...this.derived.values()].map((g) => ({ ...g })) };
    if (this.routerReadAt !== undefined) router.lastReadAt = this.routerReadAt;
    if (this.routerError !== undefined) router.lastError = this.routerError;
    return {
      environment: this.d.environment,
      service: this.d.service,
      at,
      running: this.running,
      router,
      probes,
      scrapes,
      processes: this.processStatus(at),
      slos: this.sloReports(at),
      alerts: this.engine.alerts(),
      anomalies: [...this.anomalies.active(), ...this.steps.active()],
      streamIrregularities: this.anomalies.irregularities(),
      trends: this.trends.active(),
      ruleErrors: this.engine.ruleHealth().filter((h) => h.lastError !== undefined),
      memory: {
        series: st.series,
        maxSeries: ret.maxSeries,
        bytes: st.bytes,
        maxBytesPerSeries: st.maxBytesPerSeries,
        maxBytes: ret.maxSeries * st.maxBytesPerSeries,
        rawPoints: st.rawPoints,
        rollupBuckets: st.rollupBuckets,
        refusedSamples: st.refusedSamples,
        outOfOrderSamples: st.outOfOrderSamples,
        detectors: this.anomalies.size,
        maxDetectors: this.maxDetectors,
        refusedDetectors: this.anomalies.refused,
        trendPredictors: this.trends.size,
        trendPointsPerPredictor: 240,
      },
    };
  }

  // --- loops ---------------------------------------------------------------------------------

  /** Runs fn every ms on the clock; a run still in flight when the next turn comes skips that turn. */
  private every(ms: number, immediate: boolean, fn: () => Promise<void> | void): void {
    const loop: Loop = { timer: undefined, running: undefined };
    this.loops.push(loop);
    const tick = () => {
      if (!this.running) return;
      if (!loop.running) {
        loop.running = (async () => fn())()
          .catch(this.onError)
          .finally(() => (loop.running = undefined));
      }
      loop.timer = this.clock.setTimeout(tick, ms);
    };
    if (immediate) tick();
    else loop.timer = this.clock.setTimeout(tick, ms);
  }

  private async routerTick(): Promise<void> {
    this.reconcileInstances();
    let stats: RouterStats;
    try {
      stats = await this.d.routerStats();
      this.routerError = undefined;
    } catch (err) {
      this.routerError = err instanceof Error ? err.message : String(err);
      return;
    }
    const at = this.clock.now();
    this.routerReadAt = at;
    const written = this.router.write(stats, at);
    const present = Object.keys(stats.versions);
    this.router.retain(present);
    for (const v of this.derived.keys()) if (!present.includes(v)) this.derived.delete(v);
    for (const version of written) {
      const g = this.router.derive(version, at, this.derivedWindowMs);
      if (!g) continue;
      this.derived.set(version, g);
      for (const { name, value } of this.router.writeDerived(g)) {
        // p50 is stored for rules and status; the detectors watch the tail, the errors and the traffic
        if (name === ROUTER_RATE || name === ROUTER_ERROR_RATIO || name === ROUTER_P99) {
          this.watchAnomaly(name, { version }, at, value);
        }
      }
      // the fast step-change warning on the tail latency and the errors, from the version's first minute
      const reqs = g.requestRate * ((this.d.config.router_interval ?? 5_000) / 1000);
      if (g.p99Ms !== undefined) this.announceStep(this.steps.observe(seriesKey(`step:${ROUTER_P99}`, { version }), 'latency', ROUTER_P99, { version }, at, g.p99Ms));
      if (g.errorRatio !== undefined) this.announceStep(this.steps.observe(seriesKey(`step:${ROUTER_ERROR_RATIO}`, { version }), 'error ratio', ROUTER_ERROR_RATIO, { version }, at, g.errorRatio, reqs));
    }
  }

  /** Reads the sources of the rules that have one, for every version with live instances. */
  private async sourceTick(): Promise<void> {
    // this.live is kept by the router loop, which starts first
    const byVersion = new Map<string, string[]>();
    for (const i of this.live) {
      const urls = byVersion.get(i.version);
      if (urls) urls.push(i.url);
      else byVersion.set(i.version, [i.url]);
    }
    const groups = [...byVersion].map(([version, instanceUrls]) => ({ version, instanceUrls }));
    const scope = { environment: this.d.environment, service: this.d.service };
    await Promise.all(this.sourceRules.map((r) => r.read(scope, groups)));
  }

  private reconcileInstances(): void {
    let live: MonitoredInstance[];
    try {
      live = this.d.instances();
    } catch (err) {
      this.onError(err);
      return;
    }
    this.live = live;
    const ids = new Set(live.map((i) => i.id));
    const perInstance = this.d.config.probes.filter((p) => p.per_instance);
    for (const [id, p] of this.instanceProbes) {
      if (!ids.has(id)) {
        p.scheduler.stop();
        this.instanceProbes.delete(id);
        for (const k of this.probeResults.keys()) if (k.endsWith(`|${id}`)) this.probeResults.delete(k);
      }
    }
    if (perInstance.length > 0 && this.running) {
      for (const inst of live) {
        if (this.instanceProbes.has(inst.id)) continue;
        const specs = perInstance.map((p) => {
          const u = new URL(p.url);
          const spec = toProbeSpec(p);
          spec.url = new URL(u.pathname + u.search, inst.url).toString();
          spec.labels = { ...p.labels, instance: inst.id, version: inst.version };
          this.probeResults.set(probeKey(p.name, inst.id), { spec, instance: inst });
          return spec;
        });
        const scheduler = this.newProbeScheduler(specs, inst);
        this.instanceProbes.set(inst.id, { scheduler, instance: inst });
        scheduler.start();
      }
    }
  }

  private newProbeScheduler(specs: HttpProbeSpec[], instance: MonitoredInstance | undefined): ProbeScheduler {
    // no events: a flapping probe would write one per flip; ProbeDown alerts carry the news
    const s = new ProbeScheduler({ clock: this.clock, store: this.store, probes: specs, onError: this.onError });
    s.onResult((r) => {
      const entry = this.probeResults.get(probeKey(r.probe, instance?.id));
      if (entry) entry.result = r;
      const labels: Labels = instance ? { probe: r.probe, instance: instance.id } : { probe: r.probe };
      this.watchAnomaly('probe_duration_ms', labels, r.at, r.durationMs);
    });
    return s;
  }

  private downProbes(at: number, perInstance: boolean) {
    const out = [];
    for (const s of this.store.latest('probe_success', undefined, at)) {
      if (s.value !== 0) continue;
      const entry = [...this.probeResults.values()].find((e) => e.spec.name === s.labels.probe && (e.instance ? e.instance.id : new URL(e.spec.url).host) === s.labels.instance && Boolean(e.instance) === perInstance);
      // only probes still watched: a stopped instance's last failed probe is not an outage
      if (entry) out.push(s);
    }
    return out;
  }

  private async scrapeTick(): Promise<void> {
    const cfg = this.d.config.scrape!;
    const targets: (ScrapeTarget & { instance?: string })[] = cfg.targets.map((t) => (t.labels ? { url: t.url, labels: t.labels } : { url: t.url }));
    if (cfg.metrics_path) {
      for (const i of this.live) {
        targets.push({ url: new URL(cfg.metrics_path, i.url).toString(), labels: { job: this.d.service, instance: i.id, version: i.version }, instance: i.id });
      }
    }
    const key = JSON.stringify(targets);
    if (!this.scraper || key !== this.scraperKey) {
      const byUrl = new Map(targets.map((t) => [t.url, t.instance]));
      for (const u of this.scrapeResults.keys()) if (!byUrl.has(u)) this.scrapeResults.delete(u);
      this.scraperKey = key;
      this.scraper = new Scraper({
        clock: this.clock,
        store: this.store,
        targets: targets.map(({ url, labels }) => (labels ? { url, labels } : { url })),
        intervalMs: cfg.interval,
        timeoutMs: cfg.timeout,
        onResult: (r) => {
          const instance = byUrl.get(r.url);
          this.scrapeResults.set(r.url, instance ? { ...r, instance } : r);
        },
      });
    }
    await this.scraper.scrapeAll();
  }

  private async processTick(): Promise<void> {
    const sampler = this.sampler!;
    const at = this.clock.now();
    await sampler.sampleOnce();
    const byVersion = new Map<string, MonitoredInstance[]>();
    for (const i of this.live) byVersion.set(i.version, [...(byVersion.get(i.version) ?? []), i]);
    const limit = this.memoryLimit();
    for (const i of this.live) {
      if (i.pid <= 0) continue;
      const rss = this.store.latest('process_resident_memory_bytes', { instance: i.id, pid: String(i.pid) }, at).find((s) => s.labels.pid === String(i.pid));
      if (!rss) continue;
      this.watchAnomaly('process_resident_memory_bytes', { instance: i.id, version: i.version }, at, rss.value);
      if (limit === undefined) continue;
      const subject = `${this.d.service}@${i.version} instance ${(byVersion.get(i.version) ?? []).indexOf(i) + 1}`;
      const w = this.trends.observe(`memory/${i.id}`, at, rss.value, {
        limit,
        subject,
        generation: String(i.pid),
        message: (p) => trendMessage(p, { metric: 'memory', subject, limit: formatBytes(limit) }),
      });
      if (w) this.emitTrend(w, { metric: 'process_resident_memory_bytes', instance: i.id, version: i.version, pid: i.pid });
    }
  }

  private evaluate(): void {
    const at = this.clock.now();
    this.engine.evaluate(at);
    for (const slo of this.slos) {
      const budget = slo.status(at).budgetRemaining;
      if (budget === undefined) continue;
      const name = slo.spec.name;
      const subject = `SLO ${name} of ${this.d.service}`;
      const w = this.trends.observe(`slo_budget/${name}`, at, budget, {
        limit: 0,
        direction: 'below',
        subject,
        message: (p) => budgetMessage(p, subject),
      });
      if (w) this.emitTrend(w, { metric: 'slo_budget_remaining', slo: name });
    }
  }

  private summary(): void {
    const at = this.clock.now();
    const windowMs = this.d.config.summary_interval ?? 10 * MIN;
    const versions = this.router
      .versions()
      .map((v) => this.router.derive(v, at, windowMs))
      .filter((g): g is DerivedGauges => g !== undefined);
    const slos = this.sloReports(at).map((s) => ({ name: s.name, objective: s.objective, budgetRemaining: s.budgetRemaining ?? null, errorRatio: s.errorRatio ?? null, compliant: s.compliant ?? null }));
    const req = sumValues(versions.map((g) => ({ name: '', labels: {}, value: g.requestRate })));
    const alerts = this.engine.alerts();
    const data = {
      environment: this.d.environment,
      service: this.d.service,
      windowMs,
      requestRate: req,
      versions: versions.map((g) => ({ version: g.version, requestRate: g.requestRate, errorRatio: g.errorRatio ?? null, p50Ms: g.p50Ms ?? null, p99Ms: g.p99Ms ?? null })),
      slos,
      alerts: { pending: alerts.filter((a) => a.state === 'pending').length, firing: alerts.filter((a) => a.state === 'firing').length },
      anomalies: this.anomalies.active().length,
      trendWarnings: this.trends.active().length,
      series: this.store.stats().series,
    };
    this.emit({ type: 'monitor.summary', actor: 'monitor', subject: this.subject(), data, time: at });
    // housekeeping at the same pace: series, detectors and predictors of what is gone
    this.store.prune(at);
    this.anomalies.forgetIdle(at - HOUR);
    this.steps.forgetIdle(at - HOUR);
    this.trends.forgetIdle(at - (this.d.config.trend?.window ?? HOUR));
  }

  // --- signals -------------------------------------------------------------------------------

  private watchAnomaly(name: string, labels: Labels, at: number, value: number): void {
    const key = seriesKey(name, labels);
    const signal = this.anomalies.observe(key, name, labels, at, value);
    if (!signal) return;
    this.emit({
      type: 'monitor.anomaly',
      actor: 'monitor',
      subject: this.subject(),
      time: at,
      data: {
        environment: this.d.environment,
        service: this.d.service,
        series: key,
        name,
        labels: { ...labels },
        value: signal.value,
        score: signal.score,
        threshold: signal.threshold,
        expected: signal.expected,
        deviations: signal.deviations,
        basis: signal.basis,
        severity: signal.severity,
        message: signal.message,
      },
    });
  }

  private announceStep(signal: AnomalySignal | undefined): void {
    if (!signal) return;
    this.emit({
      type: 'monitor.anomaly',
      actor: 'monitor',
      subject: this.subject(),
      time: signal.lastAt,
      data: {
        environment: this.d.environment,
        service: this.d.service,
        series: signal.series,
        name: signal.name,
        labels: { ...signal.labels },
        value: signal.value,
        score: signal.score,
        threshold: signal.threshold,
        expected: signal.expected,
        ratio: signal.deviations,
        detector: 'step change',
        severity: signal.severity,
        message: signal.message,
      },
    });
  }

  private emitTrend(w: TrendWarning, extra: Pick<DataOf<'monitor.trend.warning'>, 'metric' | 'slo' | 'instance' | 'version' | 'pid'>): void {
    this.emit({
      type: 'monitor.trend.warning',
      actor: 'monitor',
      subject: this.subject(),
      time: w.lastAt,
      data: {
        environment: this.d.environment,
        service: this.d.service,
        ...extra,
        key: w.key,
        limit: w.limit,
        level: w.level,
        status: w.status,
        etaMs: w.etaMs ?? null,
        etaEarliestMs: w.etaEarliestMs ?? null,
        etaLatestMs: w.etaLatestMs ?? null,
        announcement: w.announcement,
        message: w.message,
      },
    });
  }

  private onAlertChanges(changes: AlertChange[]): void {
    const events: NewEvent[] = [];
    for (const c of changes) {
      try {
        this.d.onAlert?.(c);
      } catch (err) {
        this.onError(err);
      }
      // a pending alert that cleared was never news to anyone: no resolved event for it
      if (c.state === 'resolved' && c.firedAt === undefined) continue;
      events.push(alertEvent(c));
    }
    if (events.length > 0) this.track(this.d.events.appendAll(events));
  }

  private emit(e: NewEvent): void {
    this.track(this.d.events.append(e));
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(this.onError).finally(() => this.writes.delete(q));
    this.writes.add(q);
  }

  private subject(): string {
    return `monitor/${this.d.environment}/${this.d.service}`;
  }

  private memoryLimit(): number | undefined {
    const l = this.d.config.process_metrics?.memory_limit;
    if (l === undefined) return undefined;
    return typeof l === 'number' ? l : l[this.d.service];
  }

  private sloReports(at: number): SloReport[] {
    return this.slos.map((s) => {
      const r: SloReport = s.status(at);
      if (r.budgetRemaining !== undefined) r.compliant = r.budgetRemaining >= 0;
      return r;
    });
  }

  private processStatus(at: number): ProcessStatus[] {
    if (!this.sampler) return [];
    const limit = this.memoryLimit();
    return this.live
      .filter((i) => i.pid > 0)
      .map((i) => {
        const m = { instance: i.id, pid: String(i.pid) };
        const up = this.store.latest('process_up', m, at)[0]?.value === 1;
        const p: ProcessStatus = { instance: i.id, version: i.version, pid: i.pid, up };
        const rss = this.store.latest('process_resident_memory_bytes', m, at)[0]?.value;
        if (rss !== undefined) p.residentBytes = rss;
        const cpu = this.store.rate('process_cpu_seconds_total', m, { windowMs: MIN, at })[0]?.value;
        if (cpu !== undefined) p.cpuCores = cpu;
        if (limit !== undefined) p.memoryLimitBytes = limit;
        return p;
      });
  }

  private describe(name: string, labels: Labels): { what: string; value: (v: number) => string } {
    const sv = `${this.d.service}@${labels.version ?? '?'}`;
    switch (name) {
      case ROUTER_ERROR_RATIO:
        return { what: `error ratio of ${sv}`, value: (v) => `${+(v * 100).toPrecision(3)}%` };
      case ROUTER_P99:
        return { what: `p99 latency of ${sv}`, value: (v) => `${+v.toPrecision(3)} ms` };
      case ROUTER_RATE:
        return { what: `request rate of ${sv}`, value: (v) => `${+v.toPrecision(3)} req/s` };
      case 'probe_duration_ms':
        return { what: `duration of probe ${labels.probe}${labels.instance ? ` on ${labels.instance}` : ''}`, value: (v) => `${+v.toPrecision(3)} ms` };
      case 'process_resident_memory_bytes':
        return { what: `memory of ${sv} instance ${labels.instance}`, value: (v) => formatBytes(Math.round(v)) };
      default:
        return { what: seriesKey(name, labels), value: (v) => String(+v.toPrecision(4)) };
    }
  }
}

/**
 * What the detector cannot learn from a metric's values (docs/anomaly.md, "Eleventh round"): whether a value held
 * exactly for longer than ever (the record run) means anything. An error ratio rests at 0 when all is well, so
 * only a ratio held above 0 counts; resident memory is counted in pages and an idle process holds it exactly for
 * hours (its leaks are the trend predictor's), so it never counts; a p99, a request rate or a probe duration that
 * stops changing is worth a look wherever it stops. A user's `recordRun` in the monitor options wins.
 */
export function anomalyDetectorFor(name: string, user: DetectorOptions | undefined): DetectorOptions | undefined {
  if (user?.recordRun !== undefined) return undefined;
  if (name === ROUTER_ERROR_RATIO) return { recordRun: 'above floor' };
  if (name === 'process_resident_memory_bytes') return { recordRun: 'off' };
  return undefined;
}

function probeKey(probe: string, instanceId: string | undefined): string {
  return `${probe}|${instanceId ?? ''}`;
}

function budgetMessage(p: TrendPrediction, subject: string): string {
  const left = `${Math.round(Math.max(0, p.level) * 100)}% left`;
  if (p.status === 'reached') return `error budget of ${subject} is spent`;
  if (p.etaMs === undefined) return `error budget of ${subject} is not running out (${left})`;
  return `error budget of ${subject} runs out in ${humanDuration(p.etaMs)} at the current burn (${left})`;
}
