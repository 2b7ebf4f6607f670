// Live-warning benchmark on real processes (docs/anomaly.md, "Early warnings"):
// (a) a sample service whose memory warms up (60 -> ~227 MiB over ~3 min) and then stays flat: how many
//     time-to-limit forecasts it gets (target 0);
// (b) the same service, leaking 3 MiB/s from minute 2.5 towards a 768 MiB limit: how far ahead the first
//     forecast comes, as a share of the leak's time to the limit (target >= 60%), and how far its
//     forecast is from the truth (target within +-30%); and whether a later announcement follows;
// (c) an HTTP service at ~100 req/s whose latency steps from 2 ms to 32 ms (16x, under a 50 ms SLO
//     threshold), then whose errors step to 2%: time from each step to the early warning (target 60 s).
// Memory is read from /proc/<pid>/status every 5 s (the monitor's process sampler); latency (as the
// service measures it, like a router timing its upstream) and errors are collected by the load process and derived over a sliding minute every 5 s (as the router's series
// are); the watchers are the monitor service's own (TrendWatcher, StepWatcher), on the real clock.
// Bounded: about 6 minutes, every loop capped in count and time; loopback only. Writes
// bench/results/warnings.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { once } from 'node:events';
import { readProcessMetrics } from '../src/monitor/probe/process.ts';
import { TrendWatcher } from '../src/monitor/service/signals.ts';
import { StepWatcher } from '../src/monitor/service/steps.ts';
import { formatBytes, trendMessage } from '../src/monitor/trend/trend.ts';

const root = new URL('../', import.meta.url).pathname;
const MiB = 2 ** 20;
const LIMIT = 768 * MiB;
const SAMPLE_MS = 5_000;
const LEAK_AT_S = 150;
const LEAK_RATE = 3; // MiB/s
const END_S = 345;
const LATENCY_STEP_S = 90;
const ERROR_STEP_S = 180;
const LATENCY_END_S = 260;
const node = process.execPath;

const started = Date.now();
const loadAtStart = loadavg()[0]!;
const since = () => (Date.now() - started) / 1000;
const children: ChildProcess[] = [];
function child(args: string[]): ChildProcess {
  const c = spawn(node, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return c;
}
process.on('exit', () => {
  for (const c of children) c.kill('SIGTERM');
});

const warmup = child([`${root}bench/warnings/memory.mjs`, 'warmup', '0', '0', '800', String(END_S + 30)]);
const leak = child([`${root}bench/warnings/memory.mjs`, 'leak', String(LEAK_AT_S), String(LEAK_RATE), '800', String(END_S + 30)]);
const web = child([`${root}bench/warnings/latency.mjs`]);
const [portText] = (await once(web.stdout!, 'data')) as [Buffer];
const port = Number(String(portText).trim());

// --- memory: the monitor's trend watcher on the real processes ---------------------------------
const trends = new TrendWatcher({ horizonMs: 3_600_000, windowMs: 3_600_000, cooldownMs: 15 * 60_000 });
interface Announcement {
  atS: number;
  etaS: number;
  earliestS?: number;
  latestS?: number;
  rssMiB: number;
  message: string;
}
const announced: Record<'warmup' | 'leak', Announcement[]> = { warmup: [], leak: [] };
const rss: Record<'warmup' | 'leak', Array<[number, number]>> = { warmup: [], leak: [] };
let leakCrossedS: number | undefined;
const memoryLoop = (async () => {
  for (let k = 0; k < Math.ceil((END_S * 1000) / SAMPLE_MS) + 2 && since() < END_S; k++) {
    const at = Date.now();
    for (const [name, c] of [['warmup', warmup], ['leak', leak]] as const) {
      let bytes: number;
      try {
        bytes = (await readProcessMetrics(c.pid!)).residentBytes;
      } catch {
        continue;
      }
      rss[name].push([Math.round(since()), Math.round(bytes / MiB)]);
      if (name === 'leak' && bytes >= LIMIT && leakCrossedS === undefined) leakCrossedS = since();
      const w = trends.observe(`memory/${name}`, at, bytes, {
        limit: LIMIT,
        subject: `sample service (${name})`,
        message: (p) => trendMessage(p, { metric: 'memory', subject: `sample service (${name})`, limit: formatBytes(LIMIT) }),
      });
      if (w) {
        const a: Announcement = { atS: since(), etaS: (w.etaMs ?? 0) / 1000, rssMiB: Math.round(bytes / MiB), message: w.message };
        if (w.etaEarliestMs !== undefined) a.earliestS = w.etaEarliestMs / 1000;
        if (w.etaLatestMs !== undefined) a.latestS = w.etaLatestMs / 1000;
        announced[name].push(a);
        console.log(`[${since().toFixed(0)} s] ${name}: ${w.message}`);
      }
    }
    const wait = at + SAMPLE_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
})();

// --- latency and errors: load at ~100 req/s in its own process, derived over a sliding minute every 5 s
const steps = new StepWatcher({ cooldownMs: 15 * 60_000, maxSeries: 10, describe: (name) => ({ what: name === 'p99' ? 'p99 latency of the sample service' : 'error ratio of the sample service', value: (v) => (name === 'p99' ? `${v.toFixed(1)} ms` : `${(v * 100).toFixed(2)}%`) }) });
const stepWarnings: Array<{ kind: string; atS: number; message: string }> = [];
let requests = 0;
let p99Before: number | undefined;
let p99After: number | undefined;
/** when the load process actually changed the service (bench seconds) */
const stepAtS: Record<'latency' | 'errors', number> = { latency: Number.NaN, errors: Number.NaN };
const load = child([`${root}bench/warnings/load.mjs`, String(port), '100', String(LATENCY_STEP_S), String(ERROR_STEP_S), String(LATENCY_END_S)]);
const loadLoop = (async () => {
  let buf = '';
  for await (const chunk of load.stdout!) {
    buf += String(chunk);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as { done?: boolean; event?: 'latency' | 'errors'; sent?: number; at: number; s: number; p99: number; errorRatio: number; rate: number };
      buf = buf.slice(nl + 1);
      if (line.event) {
        stepAtS[line.event] = (line.at - started) / 1000;
        continue;
      }
      if (line.done) {
        requests = line.sent ?? 0;
        continue;
      }
      if (line.s < LATENCY_STEP_S) p99Before = line.p99;
      else if (line.s < ERROR_STEP_S && line.s > LATENCY_STEP_S + 60) p99After = line.p99;
      // the load process started about when the bench did; its own clock says when each point was
      const atS = (line.at - started) / 1000;
      const a = steps.observe('p99', 'latency', 'p99', {}, line.at, line.p99);
      const b = steps.observe('errors', 'error ratio', 'errors', {}, line.at, line.errorRatio, line.rate * (SAMPLE_MS / 1000));
      for (const [kind, s] of [['latency', a], ['errors', b]] as const) {
        if (!s) continue;
        stepWarnings.push({ kind, atS, message: s.message });
        console.log(`[${atS.toFixed(0)} s] ${s.message}`);
      }
    }
  }
})();

await Promise.all([memoryLoop, loadLoop]);
for (const c of children) c.kill('SIGTERM');

// --- figures -----------------------------------------------------------------------------------
// a run is only valid if the machine let it sample: the largest gap between memory samples and the
// request rate reached say whether the figures measure the watchers or the machine's load
const gaps = (r: Array<[number, number]>) => r.slice(1).reduce((m, [t], i) => Math.max(m, t - r[i]![0]), 0);
const maxSampleGapS = Math.max(gaps(rss.warmup), gaps(rss.leak));
const requestRate = requests / LATENCY_END_S;
const loadAtEnd = loadavg()[0]!;
const valid = maxSampleGapS <= 3 * (SAMPLE_MS / 1000) && requestRate >= 50;
const firstLeak = announced.leak.find((a) => a.atS >= LEAK_AT_S);
const leakTimeToLimit = leakCrossedS !== undefined ? leakCrossedS - LEAK_AT_S : undefined;
const lead = firstLeak && leakCrossedS !== undefined ? (leakCrossedS - firstLeak.atS) / (leakCrossedS - LEAK_AT_S) : undefined;
const forecastError = firstLeak && leakCrossedS !== undefined ? (firstLeak.etaS - (leakCrossedS - firstLeak.atS)) / (leakCrossedS - firstLeak.atS) : undefined;
const latencyWarn = stepWarnings.find((w) => w.kind === 'latency' && w.atS >= stepAtS.latency);
const errorWarn = stepWarnings.find((w) => w.kind === 'errors' && w.atS >= stepAtS.errors);
const falseSteps = stepWarnings.filter((w) => (w.kind === 'latency' && !(w.atS >= stepAtS.latency)) || (w.kind === 'errors' && !(w.atS >= stepAtS.errors)));
const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${(x * 100).toFixed(0)}%`);
const s = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(0)} s`);

const falseWarmup = announced.warmup.length + announced.leak.filter((a) => a.atS < LEAK_AT_S).length;
console.log(`\nlive warnings on real processes (one run; load average ${loadAtStart.toFixed(1)} at start, ${loadAtEnd.toFixed(1)} at end on ${cpus().length} cores)`);
console.log(`  sampling: largest gap between memory samples ${maxSampleGapS} s (every ${SAMPLE_MS / 1000} s asked), ${requestRate.toFixed(0)} req/s reached (100 asked) -> ${valid ? 'valid run' : 'NOT A VALID RUN: the machine did not let the bench sample; rerun when it is less loaded'}`);
console.log(`  warm-up then plateau (60 -> ${Math.max(...rss.warmup.map((r) => r[1]))} MiB, limit 768 MiB): ${falseWarmup} false forecasts (target 0) [both processes' warm-ups]`);
console.log(`  leak 3 MiB/s from ${LEAK_AT_S} s: limit crossed after ${s(leakTimeToLimit)}; first forecast ${firstLeak ? `${s(firstLeak.atS - LEAK_AT_S)} into the leak, "${firstLeak.message}"` : 'none'}`);
console.log(`    announced ${pct(lead)} of its time to the limit ahead (target >= 60%), forecast off by ${forecastError === undefined ? 'n/a' : `${(forecastError * 100).toFixed(0)}%`} (target within +-30%); ${announced.leak.filter((a) => a.atS >= LEAK_AT_S).length} announcements`);
console.log(`  latency 2 ms -> 32 ms at ${LATENCY_STEP_S} s: early warning after ${latencyWarn ? s(latencyWarn.atS - stepAtS.latency) : 'none'} (target <= 60 s)`);
console.log(`  errors 0% -> 2% at ${ERROR_STEP_S} s: early warning after ${errorWarn ? s(errorWarn.atS - stepAtS.errors) : 'none'}`);
console.log(`  false step warnings before the steps: ${falseSteps.length}; requests sent: ${requests}; p99 as measured ${p99Before?.toFixed(1) ?? 'n/a'} ms before the latency step, ${p99After?.toFixed(1) ?? 'n/a'} ms after (${p99Before && p99After ? (p99After / p99Before).toFixed(1) : 'n/a'}x)`);

mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(
  `${root}bench/results/warnings.json`,
  JSON.stringify(
    {
      benchmark: 'warnings',
      command: 'npm run bench:warnings',
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model,
      note: 'one run on a shared 2-core machine; real child processes, real clock, loopback only',
      valid,
      sampling: { maxMemorySampleGapS: maxSampleGapS, requestRate, loadAverageStart: loadAtStart, loadAverageEnd: loadAtEnd },
      memory: {
        limitMiB: 768,
        sampleMs: SAMPLE_MS,
        falseForecastsOnWarmup: falseWarmup,
        leak: { startS: LEAK_AT_S, rateMiBPerS: LEAK_RATE, crossedLimitAfterS: leakTimeToLimit, firstForecast: firstLeak ?? null, leadShare: lead ?? null, forecastError: forecastError ?? null, announcements: announced.leak.filter((a) => a.atS >= LEAK_AT_S) },
        warmupAnnouncements: announced.warmup,
        rssMiB: rss,
      },
      steps: {
        latency: { fromMs: 2, toMs: 32, atS: LATENCY_STEP_S, warnedAfterS: latencyWarn ? latencyWarn.atS - stepAtS.latency : null, message: latencyWarn?.message ?? null },
        errors: { from: 0, to: 0.02, atS: ERROR_STEP_S, warnedAfterS: errorWarn ? errorWarn.atS - stepAtS.errors : null, message: errorWarn?.message ?? null },
        falseWarnings: falseSteps.length,
        requests,
        p99BeforeStepMs: p99Before ?? null,
        p99AfterStepMs: p99After ?? null,
      },
      runtimeSeconds: since(),
    },
    null,
    2,
  ) + '\n',
);
process.exit(valid ? 0 : 3);
