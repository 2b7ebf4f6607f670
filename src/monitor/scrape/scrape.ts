// Scrapes Prometheus text endpoints of instances into the series store, with Prometheus' own
// per-target series (up, scrape_duration_seconds, scrape_samples_scraped) and honor_labels=false
// semantics: an exposed label that clashes with a target label is kept as exported_<name>.
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import type { Labels } from '../series/labels.ts';
import type { MetricKind, SeriesStore } from '../series/store.ts';
import { parseExposition, type ParsedFamily, type MetricType } from './parse.ts';

export interface ScrapeTarget {
  url: string;
  /** added to every series; `instance` defaults to host:port of the url, `job` to "greenlight" */
  labels?: Labels;
}

export interface ScrapeResult {
  url: string;
  labels: Labels;
  ok: boolean;
  error?: string;
  at: number;
  durationMs: number;
  samples: number;
}

export interface FetchOptions {
  clock: Clock;
  timeoutMs: number;
  /** responses larger than this are refused, so one bad target cannot exhaust memory */
  maxBytes?: number;
}

const ACCEPT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';

/** GETs a metrics endpoint, aborting when the clock says the timeout has passed. */
export async function fetchExposition(url: string, opts: FetchOptions): Promise<string> {
  const ac = new AbortController();
  const timer = opts.clock.setTimeout(
    () =>
      ac.abort(
        new GreenlightError('DEPENDENCY_UNREADABLE', `scrape of ${url} timed out after ${opts.timeoutMs} ms`, {
          retryable: true,
          hint: 'raise the scrape timeout or find out why the endpoint is slow',
        }),
      ),
    opts.timeoutMs,
  );
  try {
    const res = await fetch(url, { headers: { accept: ACCEPT }, signal: ac.signal });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new GreenlightError('DEPENDENCY_UNREADABLE', `scrape of ${url} answered HTTP ${res.status}`, {
        retryable: true,
        hint: 'the metrics path must answer 200 with the Prometheus text format',
      });
    }
    return await readBounded(res, opts.maxBytes ?? 16 * 1024 * 1024, url);
  } catch (err) {
    if (ac.signal.aborted) throw ac.signal.reason;
    throw err;
  } finally {
    timer.cancel();
  }
}

async function readBounded(res: Response, maxBytes: number, url: string): Promise<string> {
  if (!res.body) return '';
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      throw new GreenlightError('DEPENDENCY_UNREADABLE', `scrape of ${url} exceeded ${maxBytes} bytes`, {
        hint: 'the target exposes too many series; drop labels with high cardinality',
      });
    }
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

export function targetLabels(t: ScrapeTarget): Labels {
  const u = new URL(t.url);
  return { job: 'greenlight', instance: u.host, ...t.labels };
}

function kindOf(type: MetricType, sampleName: string, family: string): MetricKind {
  switch (type) {
    case 'counter':
      return 'counter';
    case 'gauge':
      return 'gauge';
    case 'histogram':
      return 'counter';
    case 'summary':
      // quantiles are point-in-time estimates; only _sum and _count accumulate
      return sampleName === family ? 'gauge' : 'counter';
    default:
      return 'untyped';
  }
}

/** Writes parsed families into the store at time t; returns how many samples went in. */
export function ingest(store: SeriesStore, families: readonly ParsedFamily[], target: Labels, t: number): number {
  let n = 0;
  for (const f of families) {
    for (const s of f.samples) {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.labels)) labels[k in target ? `exported_${k}` : k] = v;
      Object.assign(labels, target);
      // exposition timestamps are ignored: every sample of one scrape shares the scrape time, so
      // windows line up across targets and out-of-order writes cannot happen
      if (store.add(s.name, labels, s.value, t, kindOf(f.type, s.name, f.name))) n++;
    }
  }
  return n;
}

export interface ScraperOptions {
  clock: Clock;
  store: SeriesStore;
  targets: ScrapeTarget[];
  intervalMs?: number;
  timeoutMs?: number;
  maxBytes?: number;
  onResult?: (r: ScrapeResult) => void;
}

export class Scraper {
  private readonly opts: Required<Omit<ScraperOptions, 'onResult'>> & Pick<ScraperOptions, 'onResult'>;
  private readonly inFlight = new Map<string, Promise<ScrapeResult>>();
  private timer: TimerHandle | undefined;

  constructor(opts: ScraperOptions) {
    this.opts = { intervalMs: 15_000, timeoutMs: 10_000, maxBytes: 16 * 1024 * 1024, ...opts };
  }

  async scrape(target: ScrapeTarget): Promise<ScrapeResult> {
    const { clock, store } = this.opts;
    const labels = targetLabels(target);
    const at = clock.now();
    let ok = true;
    let error: string | undefined;
    let samples = 0;
    try {
      const text = await fetchExposition(target.url, { clock, timeoutMs: this.opts.timeoutMs, maxBytes: this.opts.maxBytes });
      samples = ingest(store, parseExposition(text), labels, at);
    } catch (err) {
      ok = false;
      error = err instanceof Error ? err.message : String(err);
    }
    const durationMs = clock.now() - at;
    store.add('up', labels, ok ? 1 : 0, at, 'gauge');
    store.add('scrape_duration_seconds', labels, durationMs / 1000, at, 'gauge');
    store.add('scrape_samples_scraped', labels, samples, at, 'gauge');
    const result: ScrapeResult = { url: target.url, labels, ok, at, durationMs, samples };
    if (error !== undefined) result.error = error;
    this.opts.onResult?.(result);
    return result;
  }

  /** Scrapes every target once, concurrently; a target still being scraped is not started twice. */
  scrapeAll(): Promise<ScrapeResult[]> {
    return Promise.all(
      this.opts.targets.map((t) => {
        const running = this.inFlight.get(t.url);
        if (running) return running;
        const p = this.scrape(t).finally(() => this.inFlight.delete(t.url));
        this.inFlight.set(t.url, p);
        return p;
      }),
    );
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      void this.scrapeAll();
      this.timer = this.opts.clock.setTimeout(tick, this.opts.intervalMs);
    };
    tick();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Resolves when no scrape is running. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }
}
