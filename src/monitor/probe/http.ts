// Black-box HTTP probes (like the Prometheus blackbox exporter's http module) run on the injected
// clock: each result becomes probe_success / probe_duration_ms / probe_http_status_code series, and
// a flip between up and down becomes a state change.
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { EventLog } from '../../events/log.ts';
import type { Labels } from '../series/labels.ts';
import type { SeriesStore } from '../series/store.ts';

export interface HttpProbeSpec {
  name: string;
  url: string;
  method?: 'GET' | 'HEAD';
  intervalMs: number;
  timeoutMs: number;
  /** accepted statuses; default any 2xx */
  expectStatus?: number[];
  /** the body must contain this text */
  expectBody?: string;
  labels?: Labels;
}

export interface ProbeResult {
  probe: string;
  labels: Labels;
  at: number;
  success: boolean;
  durationMs: number;
  status?: number;
  error?: string;
}

export interface ProbeStateChange {
  probe: string;
  labels: Labels;
  state: 'up' | 'down';
  /** undefined on a probe's first result */
  previous?: 'up' | 'down';
  at: number;
  reason?: string;
}

const MAX_BODY = 1024 * 1024;

export function probeLabels(spec: HttpProbeSpec): Labels {
  return { probe: spec.name, instance: new URL(spec.url).host, ...spec.labels };
}

export async function runHttpProbe(spec: HttpProbeSpec, clock: Clock): Promise<ProbeResult> {
  const labels = probeLabels(spec);
  const at = clock.now();
  const ac = new AbortController();
  const timer = clock.setTimeout(() => ac.abort(new Error(`timed out after ${spec.timeoutMs} ms`)), spec.timeoutMs);
  const done = (success: boolean, extra: { status?: number; error?: string }): ProbeResult => ({
    probe: spec.name,
    labels,
    at,
    success,
    durationMs: clock.now() - at,
    ...extra,
  });
  try {
    const res = await fetch(spec.url, { method: spec.method ?? 'GET', signal: ac.signal, redirect: 'follow' });
    const status = res.status;
    const okStatus = spec.expectStatus ? spec.expectStatus.includes(status) : status >= 200 && status < 300;
    if (!okStatus) {
      await res.body?.cancel();
      return done(false, { status, error: `status ${status} not in ${spec.expectStatus?.join(',') ?? '2xx'}` });
    }
    if (spec.expectBody !== undefined) {
      const body = await readPrefix(res, MAX_BODY);
      if (!body.includes(spec.expectBody)) return done(false, { status, error: `body does not contain ${JSON.stringify(spec.expectBody)}` });
    } else {
      await res.body?.cancel();
    }
    return done(true, { status });
  } catch (err) {
    const reason = ac.signal.aborted ? (ac.signal.reason as Error).message : describeFetchError(err);
    return done(false, { error: reason });
  } finally {
    timer.cancel();
  }
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ? `${err.message}: ${cause.code}` : err.message;
  }
  return String(err);
}

async function readPrefix(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    text += decoder.decode(value, { stream: true });
    // the expected text is looked for in the first MiB only: a probe must not buffer a download
    if (size >= max) {
      await reader.cancel();
      break;
    }
  }
  return text + decoder.decode();
}

export interface ProbeSchedulerOptions {
  clock: Clock;
  store: SeriesStore;
  probes: HttpProbeSpec[];
  /** state changes are also appended here as monitor.probe.up / monitor.probe.down */
  events?: EventLog;
  onError?: (err: unknown) => void;
}

/** Runs each probe every intervalMs on the clock; a probe still running when its next turn comes is skipped. */
export class ProbeScheduler {
  private readonly opts: ProbeSchedulerOptions;
  private readonly timers = new Map<string, TimerHandle>();
  private readonly inFlight = new Map<string, Promise<ProbeResult>>();
  private readonly state = new Map<string, 'up' | 'down'>();
  private readonly listeners = new Set<(c: ProbeStateChange) => void>();
  private readonly results = new Set<(r: ProbeResult) => void>();

  constructor(opts: ProbeSchedulerOptions) {
    const names = new Set<string>();
    for (const p of opts.probes) {
      if (names.has(p.name)) throw new Error(`duplicate probe name ${p.name}`);
      names.add(p.name);
    }
    this.opts = opts;
  }

  subscribe(listener: (c: ProbeStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResult(listener: (r: ProbeResult) => void): () => void {
    this.results.add(listener);
    return () => this.results.delete(listener);
  }

  current(name: string): 'up' | 'down' | undefined {
    return this.state.get(name);
  }

  /** Runs one probe now (or joins the run in flight) and records its result. */
  run(name: string): Promise<ProbeResult> {
    const running = this.inFlight.get(name);
    if (running) return running;
    const spec = this.opts.probes.find((p) => p.name === name);
    if (!spec) return Promise.reject(new Error(`no probe named ${name}`));
    const p = runHttpProbe(spec, this.opts.clock)
      .then((r) => {
        this.record(r);
        return r;
      })
      .finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, p);
    return p;
  }

  start(): void {
    for (const spec of this.opts.probes) {
      if (this.timers.has(spec.name)) continue;
      const tick = () => {
        if (!this.inFlight.has(spec.name)) this.run(spec.name).catch(this.opts.onError ?? (() => {}));
        this.timers.set(spec.name, this.opts.clock.setTimeout(tick, spec.intervalMs));
      };
      tick();
    }
  }

  stop(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  private record(r: ProbeResult): void {
    const { store } = this.opts;
    store.add('probe_success', r.labels, r.success ? 1 : 0, r.at, 'gauge');
    store.add('probe_duration_ms', r.labels, r.durationMs, r.at, 'gauge');
    if (r.status !== undefined) store.add('probe_http_status_code', r.labels, r.status, r.at, 'gauge');
    for (const l of this.results) l(r);
    const next = r.success ? 'up' : 'down';
    const previous = this.state.get(r.probe);
    if (previous === next) return;
    this.state.set(r.probe, next);
    const change: ProbeStateChange = { probe: r.probe, labels: r.labels, state: next, at: r.at };
    if (previous) change.previous = previous;
    if (r.error) change.reason = r.error;
    for (const l of this.listeners) l(change);
    this.opts.events
      ?.append({ type: `monitor.probe.${next}`, actor: 'monitor', subject: `probe/${r.probe}`, data: { ...change }, time: r.at })
      .catch(this.opts.onError ?? (() => {}));
  }
}
