// Upstream health: a connect failure takes an upstream out of rotation at once, and a TCP probe
// with back-off brings it back, so requests are not spent on an instance known to be down.

import net from 'node:net';
import { Pool } from 'undici';
import type { Clock, TimerHandle } from '../clock/clock.ts';
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
}

export interface ProbeOptions {
  readonly probeInitialMs?: number;
  readonly probeMaxMs?: number;
}

/** One state per upstream URL, shared by every version that lists it, so health is learnt once. */
export class Upstreams {
  private readonly states = new Map<string, UpstreamState>();
  private readonly clock: Clock;
  private readonly opts: ProbeOptions;
  private readonly idleTimeoutMs: number;
  private closed = false;

  constructor(clock: Clock, opts: ProbeOptions, idleTimeoutMs: number) {
    this.clock = clock;
    this.opts = opts;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  /** The state of `url`, created healthy when a table first names it. */
  acquire(url: string): UpstreamState {
    let s = this.states.get(url);
    if (!s) {
      const p = parseUpstream(url)!;
      s = { url, origin: `http://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`, host: p.host, port: p.port, healthy: true, backoffMs: 0, probe: null, pool: null };
      this.states.set(url, s);
    }
    return s;
  }

  /** Forgets the upstreams the new table no longer names. */
  retireExcept(urls: Set<string>): void {
    for (const [url, s] of this.states) {
      if (!urls.has(url)) {
        s.probe?.cancel();
        // in-flight requests finish; the pool closes after them
        s.pool?.close().catch(() => {});
        this.states.delete(url);
      }
    }
  }

  healthy(url: string): boolean {
    return this.states.get(url)?.healthy ?? false;
  }

  markDown(s: UpstreamState): void {
    if (!s.healthy || this.closed) return;
    s.healthy = false;
    s.backoffMs = this.opts.probeInitialMs ?? 250;
    this.scheduleProbe(s);
  }

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
    for (const s of this.states.values()) s.probe?.cancel();
  }

  destroyPools(): Promise<unknown> {
    return Promise.all([...this.states.values()].map((s) => s.pool?.destroy().catch(() => {})));
  }
}

export function markUp(s: UpstreamState): void {
  if (s.healthy) return;
  s.healthy = true;
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
