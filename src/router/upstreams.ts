// Upstream health: a connect failure takes an upstream out of rotation at once; active health
// checks (health.ts) take out one that stops answering without refusing (a silently lost link, a
// hung host) and bring either back, so requests are not spent on an instance known to be down.
// Without active checks a TCP probe with back-off brings a refused one back.

import http from 'node:http';
import net from 'node:net';
import { Pool } from 'undici';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { probeHttp, type HealthCheckOptions } from './health.ts';
import { parseUpstream } from './table.ts';

export interface UpstreamState {
  url: string;
  origin: string;
  host: string;
  port: number;
  healthy: boolean;
  backoffMs: number;
  probe: TimerHandle | null;
  /** undici keep-alive pool, created on first use */
  pool: Pool | null;
  /** active checks: consecutive failed / answered probes, the next tick, a probe in flight */
  fails: number;
  oks: number;
  check: TimerHandle | null;
  checking: boolean;
  /** clock time of the last answer proxied from this upstream: a slow probe of a host that answers is not a failure */
  answeredAt: number;
  /** bumped each time the active check takes the upstream out: attempts started before it are rescued */
  downs: number;
}

export interface ProbeOptions {
  readonly probeInitialMs?: number;
  readonly probeMaxMs?: number;
  /** active health checks; absent or false: only refused connections take an upstream out */
  readonly healthCheck?: HealthCheckOptions | false;
}

/** One state per upstream URL, shared by every version that lists it, so health is learnt once. */
export class Upstreams {
  private readonly states = new Map<string, UpstreamState>();
  private readonly clock: Clock;
  private readonly opts: ProbeOptions;
  private readonly idleTimeoutMs: number;
  private readonly check: HealthCheckOptions | null;
  /** one kept-alive socket per upstream for the probes */
  private readonly probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  /** called when the active check takes an upstream out: the router ends what is in flight there */
  onDown: ((s: UpstreamState) => void) | null = null;
  private closed = false;

  constructor(clock: Clock, opts: ProbeOptions, idleTimeoutMs: number) {
    this.clock = clock;
    this.opts = opts;
    this.idleTimeoutMs = idleTimeoutMs;
    this.check = opts.healthCheck || null;
  }

  /** The state of `url`, created healthy when a table first names it. */
  acquire(url: string): UpstreamState {
    let s = this.states.get(url);
    if (!s) {
      const p = parseUpstream(url)!;
      s = { url, origin: `http://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`, host: p.host, port: p.port, healthy: true, backoffMs: 0, probe: null, pool: null, fails: 0, oks: 0, check: null, checking: false, answeredAt: 0, downs: 0 };
      this.states.set(url, s);
      if (this.check && !this.closed) this.scheduleCheck(s, this.check);
    }
    return s;
  }

  /** Forgets the upstreams the new table no longer names. */
  retireExcept(urls: Set<string>): void {
    for (const [url, s] of this.states) {
      if (!urls.has(url)) {
        s.probe?.cancel();
        s.check?.cancel();
        // in-flight requests finish; the pool closes after them
        s.pool?.close().catch(() => {});
        this.states.delete(url);
      }
    }
  }

  healthy(url: string): boolean {
    return this.states.get(url)?.healthy ?? false;
  }

  /** A connection to the upstream failed: out now; the active check (or the back-off probe) brings it back. */
  markDown(s: UpstreamState): void {
    if (!s.healthy || this.closed) return;
    s.healthy = false;
    s.oks = 0;
    if (this.check) return;
    s.backoffMs = this.opts.probeInitialMs ?? 250;
    this.scheduleProbe(s);
  }

  // ----- active checks ------------------------------------------------------------------------

  private scheduleCheck(s: UpstreamState, h: HealthCheckOptions): void {
    // fixed rate: a slow probe does not stretch the schedule
    if (this.closed || this.states.get(s.url) !== s) return;
    s.check = this.clock.setTimeout(() => this.tick(s, h), h.intervalMs);
    s.check.unref?.();
  }

  private tick(s: UpstreamState, h: HealthCheckOptions): void {
    s.check = null;
    if (this.closed || this.states.get(s.url) !== s) return;
    if (s.checking) return this.scheduleCheck(s, h);
    s.checking = true;
    const started = this.clock.now();
    // the next tick is set after the probe's timeout timer (below): with timeout = interval both
    // fall due together, and the timeout must end this probe first, or the tick would skip
    probeHttp(this.probeAgent, s.host, s.port, h, this.clock, (ok) => {
      s.checking = false;
      if (this.closed || this.states.get(s.url) !== s) return;
      if (ok || s.answeredAt >= started) {
        s.fails = 0;
        if (!s.healthy && ++s.oks >= h.rise) markUp(s);
        return;
      }
      s.oks = 0;
      if (++s.fails >= h.fall && s.healthy) {
        s.healthy = false;
        s.downs++;
        this.onDown?.(s);
      }
    });
    this.scheduleCheck(s, h);
  }

  // ----- back-off probe (without active checks) ---------------------------------------------

  private scheduleProbe(s: UpstreamState): void {
    s.probe = this.clock.setTimeout(() => this.probe(s), s.backoffMs);
  }

  private probe(s: UpstreamState): void {
    s.probe = null;
    if (this.closed || this.states.get(s.url) !== s || s.healthy) return;
    const sock = net.connect({ host: s.host, port: s.port });
    sock.setTimeout(Math.min(this.idleTimeoutMs, 5_000));
    const fail = () => {
      sock.destroy();
      if (s.healthy || this.closed || this.states.get(s.url) !== s) return;
      s.backoffMs = Math.min(s.backoffMs * 2, this.opts.probeMaxMs ?? 10_000);
      if (!s.probe) this.scheduleProbe(s);
    };
    sock.once('connect', () => {
      sock.destroy();
      markUp(s);
    });
    sock.once('error', fail);
    sock.once('timeout', fail);
  }

  /** No probe runs, and no upstream is marked down, once the router is closing. */
  stop(): void {
    this.closed = true;
    for (const s of this.states.values()) {
      s.probe?.cancel();
      s.check?.cancel();
    }
    this.probeAgent.destroy();
  }

  destroyPools(): Promise<unknown> {
    return Promise.all([...this.states.values()].map((s) => s.pool?.destroy().catch(() => {})));
  }
}

export function markUp(s: UpstreamState): void {
  if (s.healthy) return;
  s.healthy = true;
  s.fails = 0;
  s.oks = 0;
  s.probe?.cancel();
  s.probe = null;
}

/** Opens the undici pool of `s` on its first request; the request path checks `s.pool` itself, so an open pool costs no call. */
export function openPool(s: UpstreamState, idleTimeoutMs: number): Pool {
  return (s.pool ??= new Pool(s.origin, {
    pipelining: 1,
    keepAliveTimeout: 4_000,
    connectTimeout: Math.min(idleTimeoutMs, 10_000),
    headersTimeout: idleTimeoutMs,
    bodyTimeout: idleTimeoutMs,
  }));
}

/** Failures where the request never reached the upstream: safe to retry elsewhere, and a sign it is down. */
export function isConnectFailure(err: NodeJS.ErrnoException): boolean {
  return (
    err.syscall === 'connect' ||
    err.syscall === 'getaddrinfo' ||
    err.code === 'ECONNREFUSED' ||
    err.code === 'GL_CONNECT_TIMEOUT' ||
    err.code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

/**
 * Requests that may be sent again after they reached an upstream that then stopped answering:
 * idempotent methods (RFC 9110 9.2.2) without a body (the router streams bodies, it keeps no copy).
 * This is what nginx's proxy_next_upstream and Envoy's retry policy do by default.
 */
export function replayable(method: string | undefined, hasBody: boolean): boolean {
  if (hasBody) return false;
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE' || method === 'TRACE';
}
