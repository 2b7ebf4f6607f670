// Alerting benchmark.
// (a) Page latency: from a rule's condition becoming true (a sample written to the series store)
//     to a webhook receiver on loopback holding the page, through the real path: the rule engine
//     (src/monitor/rules, threshold rule, for: 0s, evaluated every 100 ms on the real clock), the
//     dispatcher (route with group_wait 0), the escalation engine (on-call schedule, first level)
//     and the webhook notifier. 100 alerts, one after another; median, p90 and worst.
// (b) CPU cost of rule evaluation: 1,000 monitored series with 5 rules each, one evaluation round
//     every 10 s of (simulated) time; CPU time per round from process.cpuUsage, as a share of one core.
// Prints a table and writes bench/results/alerting.json. Loopback only; every loop is bounded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ManualClock, systemClock } from '../src/clock/clock.ts';
import { MemoryEventLog } from '../src/events/memory-log.ts';
import { RuleEngine } from '../src/monitor/rules/engine.ts';
import { compileRule, type RuleSpec } from '../src/monitor/rules/query.ts';
import { SeriesStore } from '../src/monitor/series/store.ts';
import { createAlerting } from '../src/alerting/alerting.ts';
import { alertingConfigSchema } from '../src/alerting/schema.ts';

const root = new URL('../', import.meta.url).pathname;
const ALERTS = 100;
const EVAL_MS = 100;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

async function pageLatency() {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { action: string; labels: Record<string, string> };
        const target = body.labels.target;
        if (body.action === 'trigger' && target && !arrivals.has(target)) {
          arrivals.set(target, at);
          waiters.get(target)?.();
        }
      } catch {
        // not ours
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/page`;

  const clock = systemClock;
  const log = new MemoryEventLog(clock);
  const today = new Date().toISOString().slice(0, 10);
  const config = alertingConfigSchema.parse({
    route: { receiver: 'oncall', group_by: ['...'], group_wait: '0s', group_interval: '1m' },
    receivers: [{ name: 'oncall', escalation_policy: 'probe', notifiers: [{ kind: 'webhook', url }] }],
    schedules: [{ name: 'primary', time_zone: 'UTC', layers: [{ users: ['bench'], length: '1d', handoff: '00:00', start: today }] }],
    escalation_policies: [{ name: 'probe', levels: [{ schedules: ['primary'], ack_timeout: '5m' }] }],
  });
  const errors: unknown[] = [];
  const alerting = createAlerting(config, { clock, log, onError: (e) => errors.push(e) });
  const store = new SeriesStore({ clock });
  const spec: RuleSpec = { alert: 'ProbeFailing', expr: { fn: 'latest', metric: 'probe_failed' }, op: '>', threshold: 0.5, for: 0, keep_firing_for: 0, labels: { severity: 'page' } };
  const engine = new RuleEngine({ clock, rules: [compileRule(spec, store)], intervalMs: EVAL_MS, onError: (e) => errors.push(e) });
  const emitted = new Map<string, number>();
  engine.subscribe((changes) => {
    const at = performance.now();
    for (const c of changes) if (c.state === 'firing' && c.labels.target && !emitted.has(c.labels.target)) emitted.set(c.labels.target, at);
    alerting.receiveRuleChanges(changes);
  });
  for (let i = 0; i < ALERTS; i++) store.add('probe_failed', { target: `t${i}` }, 0);
  engine.start();

  const latencies: number[] = [];
  const pipeline: number[] = [];
  let timeouts = 0;
  const deadline = Date.now() + 90_000;
  for (let i = 0; i < ALERTS && Date.now() < deadline; i++) {
    const target = `t${i}`;
    // a random phase against the evaluation tick, as a real failure would have
    await new Promise((r) => setTimeout(r, Math.random() * EVAL_MS));
    const arrived = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 5000);
      waiters.set(target, () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    const t0 = performance.now();
    store.add('probe_failed', { target }, 1);
    if (await arrived) {
      latencies.push(arrivals.get(target)! - t0);
      pipeline.push(arrivals.get(target)! - emitted.get(target)!);
    }
    else timeouts++;
    store.add('probe_failed', { target }, 0);
  }
  engine.stop();
  alerting.stop();
  await new Promise<void>((r) => server.close(() => r()));
  const sorted = [...latencies].sort((a, b) => a - b);
  // page.sent is recorded once the webhook answered; give the last answer time to land
  await new Promise((r) => setTimeout(r, 300));
  const sent = await log.query({ types: ['page.sent'] });
  const pipe = [...pipeline].sort((a, b) => a - b);
  return {
    alerts: ALERTS,
    delivered: latencies.length,
    timeouts,
    evaluationIntervalMs: EVAL_MS,
    medianMs: +quantile(sorted, 0.5).toFixed(1),
    p90Ms: +quantile(sorted, 0.9).toFixed(1),
    worstMs: +(sorted.at(-1) ?? NaN).toFixed(1),
    bestMs: +(sorted[0] ?? NaN).toFixed(1),
    /** from the rule engine publishing the firing change to the webhook holding the page */
    pipelineMedianMs: +quantile(pipe, 0.5).toFixed(2),
    pipelineWorstMs: +(pipe.at(-1) ?? NaN).toFixed(2),
    pagesSent: sent.length,
    errors: errors.length,
  };
}

async function evaluationCpu() {
  const SERIES = 1000;
  const RULES = 5;
  const ROUND_MS = 10_000;
  const ROUNDS = 30;
  const clock = new ManualClock(Date.UTC(2026, 2, 2));
  const store = new SeriesStore({ clock });
  const labelsOf = (j: number) => ({ service: `svc${j % 50}`, instance: `i${j}` });
  // Ten minutes of history so the window functions have points to read.
  const valueOf = (j: number, t: number) => 0.2 + 0.1 * Math.sin(j + t / 60_000) + (j % 97 === 0 ? 0.7 : 0);
  for (let t = clock.now() - 600_000; t <= clock.now(); t += ROUND_MS) {
    for (let j = 0; j < SERIES; j++) store.add('load', labelsOf(j), valueOf(j, t), t, 'gauge');
  }
  const specs: RuleSpec[] = [
    { alert: 'LoadHigh', expr: { fn: 'latest', metric: 'load' }, op: '>', threshold: 0.8, for: 0, keep_firing_for: 0 },
    { alert: 'LoadHighAvg5m', expr: { fn: 'avg_over_time', metric: 'load', window: 300_000 }, op: '>', threshold: 0.8, for: 60_000, keep_firing_for: 0 },
    { alert: 'LoadSpike', expr: { fn: 'max_over_time', metric: 'load', window: 300_000 }, op: '>', threshold: 0.95, for: 0, keep_firing_for: 0 },
    { alert: 'LoadFloor', expr: { fn: 'min_over_time', metric: 'load', window: 300_000 }, op: '>', threshold: 0.75, for: 0, keep_firing_for: 0 },
    { alert: 'LoadRising', expr: { fn: 'increase', metric: 'load', window: 300_000 }, op: '>', threshold: 0.5, for: 0, keep_firing_for: 0 },
  ];
  const log = new MemoryEventLog(clock);
  const config = alertingConfigSchema.parse({
    // group_wait beyond the run: this part measures evaluation (and handing changes to the
    // dispatcher), not deliveries, and the webhook below is never called
    route: { receiver: 'team', group_by: ['alertname', 'service'], group_wait: '1h' },
    receivers: [{ name: 'team', notifiers: [{ kind: 'webhook', url: 'http://127.0.0.1:9/unused' }] }],
  });
  const alerting = createAlerting(config, { clock, log });
  const engine = new RuleEngine({ clock, rules: specs.map((s) => compileRule(s, store)) });
  engine.subscribe((changes) => alerting.receiveRuleChanges(changes));
  const perRound: number[] = [];
  const ingest: number[] = [];
  let changes = 0;
  for (let round = 0; round < ROUNDS + 3; round++) {
    // the scrape is not part of the evaluation; it is measured apart
    const i0 = process.cpuUsage();
    await clock.advance(ROUND_MS);
    for (let j = 0; j < SERIES; j++) store.add('load', labelsOf(j), valueOf(j, clock.now()), clock.now(), 'gauge');
    const i1 = process.cpuUsage(i0);
    const c0 = process.cpuUsage();
    changes += engine.evaluate(clock.now()).length;
    const c1 = process.cpuUsage(c0);
    if (round >= 3) {
      // the first rounds warm the JIT
      perRound.push((c1.user + c1.system) / 1000);
      ingest.push((i1.user + i1.system) / 1000);
    }
  }
  alerting.stop();
  const sorted = [...perRound].sort((a, b) => a - b);
  const mean = perRound.reduce((s, x) => s + x, 0) / perRound.length;
  return {
    series: SERIES,
    rulesPerSeries: RULES,
    ruleSeriesEvaluationsPerRound: SERIES * RULES,
    roundEveryMs: ROUND_MS,
    rounds: perRound.length,
    cpuMsPerRoundMean: +mean.toFixed(2),
    cpuMsPerRoundMedian: +quantile(sorted, 0.5).toFixed(2),
    cpuMsPerRoundMax: +(sorted.at(-1) ?? NaN).toFixed(2),
    shareOfOneCorePercent: +((mean / ROUND_MS) * 100).toFixed(3),
    ingestCpuMsPerRoundMean: +(ingest.reduce((s, x) => s + x, 0) / ingest.length).toFixed(2),
    alertStateChanges: changes,
    alertsHeld: alerting.dispatcher.alerts().length,
  };
}

const latency = await pageLatency();
const cpu = await evaluationCpu();
const result = {
  when: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  pageLatency: latency,
  evaluationCpu: cpu,
};

console.log('\n(a) condition true -> page held by a loopback webhook (rule every 100 ms, group_wait 0, escalation level 1)');
console.table({
  alerts: latency.alerts,
  delivered: latency.delivered,
  'median ms': latency.medianMs,
  'p90 ms': latency.p90Ms,
  'worst ms': latency.worstMs,
  'best ms': latency.bestMs,
  'pipeline only, median ms': latency.pipelineMedianMs,
  'pipeline only, worst ms': latency.pipelineWorstMs,
});
console.log(`(b) ${cpu.series} series x ${cpu.rulesPerSeries} rules, one round every ${cpu.roundEveryMs / 1000} s`);
console.table({
  'CPU ms / round (mean)': cpu.cpuMsPerRoundMean,
  'CPU ms / round (median)': cpu.cpuMsPerRoundMedian,
  'CPU ms / round (max)': cpu.cpuMsPerRoundMax,
  'share of one core %': cpu.shareOfOneCorePercent,
  'ingest CPU ms / round': cpu.ingestCpuMsPerRoundMean,
});
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(`${root}bench/results/alerting.json`, `${JSON.stringify(result, null, 2)}\n`);
console.log('wrote bench/results/alerting.json');
