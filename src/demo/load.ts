// A client load of fixed rate against a URL (open loop: requests are sent on schedule whatever the
// answers), bounded in count and time. Every request is kept as (start, end, status, version) so
// failures can be counted over any window, e.g. the span of one deployment.
export interface Sample {
  start: number;
  end: number;
  /** 0 when the request failed without an HTTP answer */
  status: number;
  version: string;
}

export interface Load {
  samples: Sample[];
  inFlight(): number;
  /** requests and failures (5xx or no answer) that started within [from, to] */
  window(from: number, to: number): { requests: number; failed: number };
  stop(): Promise<void>;
}

export function startLoad(url: string, opts: { rate: number; maxMs: number; maxRequests?: number; timeoutMs?: number; concurrencyCap?: number }): Load {
  const samples: Sample[] = [];
  const pending = new Set<Promise<void>>();
  const started = Date.now();
  const interval = 1000 / opts.rate;
  const max = opts.maxRequests ?? Math.ceil(opts.rate * (opts.maxMs / 1000)) + 1;
  let sent = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    const start = Date.now();
    const p = (async () => {
      let status = 0;
      let version = '';
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
        const body = await res.text();
        status = res.status;
        version = res.headers.get('x-greenlight-version') ?? /web@(\S+)/.exec(body)?.[1] ?? '';
      } catch {
        status = 0;
      }
      samples.push({ start, end: Date.now(), status, version });
    })();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const schedule = () => {
    if (stopped) return;
    const now = Date.now();
    // Catch up on the schedule (a late timer sends the requests it owes), bounded by the cap.
    const due = Math.floor((now - started) / interval) + 1;
    while (sent < due && sent < max && now - started < opts.maxMs && pending.size < (opts.concurrencyCap ?? 256)) {
      sent++;
      fire();
    }
    if (sent >= max || now - started >= opts.maxMs) return;
    timer = setTimeout(schedule, Math.max(1, started + sent * interval - Date.now()));
  };
  schedule();
  return {
    samples,
    inFlight: () => pending.size,
    window(from, to) {
      let requests = 0;
      let failed = 0;
      for (const s of samples) {
        if (s.start < from || s.start > to) continue;
        requests++;
        if (s.status === 0 || s.status >= 500) failed++;
      }
      return { requests, failed };
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all([...pending]);
    },
  };
}
