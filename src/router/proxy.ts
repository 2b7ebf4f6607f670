// The request path: one Exchange per client request, tried on the upstreams of its version and
// retried elsewhere only when the request cannot have reached one. A canary's failure (5xx, or
// no upstream reachable) on a replayable request is answered by the highest-weight version
// instead, once, while nothing has been sent to the client. This is the hot path that
// bench/router.ts measures: keep it free of extra allocations and indirections (the rescue
// costs only a status comparison when the answer is not a 5xx).

import http from 'node:http';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock/clock.ts';
import { Inbound, RESCUED_HEADER, responseHeaders, VERSION_HEADER } from './headers.ts';
import { clientIdentity, rescuerOf, selectRoute, type Compiled, type IdentityReader, type Route } from './routing.ts';
import { isConnectFailure, markUp, openPool, replayable, type Upstreams, type UpstreamState } from './upstreams.ts';
import { DRILL_HEADER, type RouterFault, type RouterFaults } from './faults.ts';

/** What the request path reads of the router; a type only, so this file does not import router.ts. */
export interface ProxyHost {
  readonly name: string;
  readonly clock: Clock;
  readonly agent: http.Agent;
  readonly idleTimeoutMs: number;
  readonly useUndici: boolean;
  readonly upstreams: Upstreams;
  readonly compiled: Compiled | null;
  /** where a request's client identity is read from (assignment.ts) */
  readonly identity: IdentityReader;
  /** answer a canary's failed safe request from the highest-weight version */
  readonly rescue: boolean;
  readonly faults: RouterFaults;
  noRoute: number;
  noRouteBody(): string;
}

/** One client request and its attempts on the upstreams of its version. */
class Exchange {
  readonly router: ProxyHost;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** start of the current version's attempts (reset when stable takes over a canary's failure) */
  t0: number;
  route!: Route;
  inbound!: Inbound;
  cid: string | undefined = undefined;
  newCid: string | null = null;
  /** what picks the version (assignment.ts); undefined: split by weight */
  identity: string | undefined = undefined;
  /** version whose failure this exchange's current attempts replace */
  rescuedFrom: string | null = null;
  tried = 0;
  triedSet: Set<number> | null = null;
  upIdx = -1;
  ureq: http.ClientRequest | null = null;
  connected = false;
  bodyStarted = false;
  staleRetried = false;
  status = 0;
  done = false;
  call: UndiciCall | null = null;

  constructor(router: ProxyHost, req: http.IncomingMessage, res: http.ServerResponse) {
    this.router = router;
    this.req = req;
    this.res = res;
    this.t0 = performance.now();
  }

  wasTried(i: number): boolean {
    return i < 30 ? (this.tried & (1 << i)) !== 0 : this.triedSet !== null && this.triedSet.has(i);
  }

  markTried(i: number): void {
    if (i < 30) this.tried |= 1 << i;
    else (this.triedSet ??= new Set()).add(i);
  }

  /** Round-robin over healthy upstreams not yet tried; if none is healthy, any not yet tried. */
  pick(): number {
    const r = this.route;
    const ups = r.upstreams;
    const n = ups.length;
    for (let k = 0; k < n; k++) {
      const i = r.rr;
      r.rr = i + 1 === n ? 0 : i + 1;
      if (ups[i]!.healthy && !this.wasTried(i)) return i;
    }
    for (let i = 0; i < n; i++) if (!this.wasTried(i)) return i;
    return -1;
  }

  /**
   * The version to replay on after a failure of the current one, or null: only once, only to a
   * higher-weight version, only for requests that can be sent again as they are (safe method, no
   * body, no upgrade), and only while nothing of the answer has been written to the client.
   */
  rescuer(): Route | null {
    if (!this.router.rescue || this.rescuedFrom !== null) return null;
    const inbound = this.inbound;
    if (inbound.hasBody || inbound.upgrade !== undefined) return null;
    const m = this.req.method;
    if (m !== 'GET' && m !== 'HEAD' && m !== 'OPTIONS') return null;
    const res = this.res;
    if (res.headersSent || res.destroyed) return null;
    return rescuerOf(this.router.compiled, this.route);
  }

  /**
   * Records the failed attempt for its version exactly as if it had reached the client (it is
   * the analysis's evidence), then starts over on `to`, which records its own answer on close.
   * status 0 = no upstream reachable.
   */
  rescue(to: Route, status: number): void {
    const from = this.route;
    const now = performance.now();
    from.counters.record(status, now - this.t0, this.router.clock.now(), this.cid, false);
    from.counters.rescued++;
    this.rescuedFrom = from.version;
    this.route = to;
    this.t0 = now;
    this.tried = 0;
    this.triedSet = null;
    this.status = 0;
    this.staleRetried = false;
    this.bodyStarted = false;
    this.ureq = null;
    this.call = null;
    this.attempt();
  }

  attempt(): void {
    const i = this.pick();
    if (i === -1) return this.badGateway();
    this.markTried(i);
    this.send(i);
  }

  send(i: number): void {
    if (this.router.useUndici) {
      this.upIdx = i;
      this.connected = false;
      const up = this.route.upstreams[i]!;
      const call = new UndiciCall(this, up);
      this.call = call;
      (up.pool ?? openPool(up, this.router.idleTimeoutMs)).dispatch(
        {
          origin: up.origin,
          path: this.req.url!,
          method: this.req.method as Dispatcher.HttpMethod,
          headers: this.inbound.out,
          body: this.inbound.hasBody ? this.req : null,
        },
        call,
      );
      return;
    }
    this.sendHttp(i);
  }

  sendHttp(i: number): void {
    const up = this.route.upstreams[i]!;
    this.upIdx = i;
    this.connected = false;
    const ureq = http.request({
      host: up.host,
      port: up.port,
      method: this.req.method,
      path: this.req.url,
      headers: this.inbound.out,
      agent: this.router.agent,
      setHost: false,
      timeout: this.router.idleTimeoutMs,
    });
    this.ureq = ureq;
    ureq.on('response', this.onResponse);
    ureq.on('error', this.onError);
    ureq.on('timeout', this.onTimeout);
    if (this.inbound.hasBody) {
      // the client's body is only read once the upstream socket is connected, so a refused
      // connection can be retried elsewhere with nothing lost
      ureq.on('socket', this.onSocket);
    } else {
      ureq.end();
    }
  }

  onSocket = (s: net.Socket): void => {
    if (s.connecting) s.once('connect', this.onConnect);
    else this.onConnect();
  };

  onConnect = (): void => {
    this.connected = true;
    if (this.ureq === null || this.ureq.destroyed) return;
    this.bodyStarted = true;
    this.req.pipe(this.ureq);
  };

  onTimeout = (): void => {
    const ureq = this.ureq;
    if (ureq === null) return;
    const connecting = ureq.socket?.connecting ?? !this.connected;
    const err = new Error(connecting ? 'upstream connect timed out' : 'upstream idle timeout') as NodeJS.ErrnoException;
    if (connecting) err.code = 'GL_CONNECT_TIMEOUT';
    ureq.destroy(err);
  };

  onResponse = (ures: http.IncomingMessage): void => {
    const route = this.route;
    const up = route.upstreams[this.upIdx]!;
    up.answeredAt = this.router.clock.now();
    if (!up.healthy) markUp(up);
    const status = ures.statusCode ?? 502;
    const uc = route.upCounters[this.upIdx]!;
    uc.requests++;
    if (status >= 500) {
      uc.errors++;
      const to = this.rescuer();
      if (to !== null) {
        this.discard(ures);
        this.rescue(to, status);
        return;
      }
    }
    this.status = status;
    const res = this.res;
    if (res.destroyed) {
      ures.resume();
      return;
    }
    const h = responseHeaders(ures.rawHeaders, route.version, this.newCid);
    if (this.rescuedFrom !== null) h.push(RESCUED_HEADER, this.rescuedFrom);
    res.writeHead(status, ures.statusMessage, h);
    ures.pipe(res);
    ures.on('error', this.onResponseError);
  };

  /** Drains a replaced response in the background (keeps its socket reusable), detached from this exchange. */
  discard(ures: http.IncomingMessage): void {
    const ureq = this.ureq!;
    ureq.removeListener('error', this.onError);
    ureq.removeListener('timeout', this.onTimeout);
    ureq.on('error', ignore);
    ureq.on('timeout', () => ureq.destroy());
    ures.on('error', ignore);
    ures.resume();
  }

  onResponseError = (): void => {
    this.res.destroy();
  };

  onError = (err: NodeJS.ErrnoException): void => {
    const route = this.route;
    const up = route.upstreams[this.upIdx]!;
    if (this.status !== 0 || this.res.headersSent) {
      // the response had started: nothing can be retried or replaced, only cut
      this.res.destroy();
      return;
    }
    if (!this.connected && isConnectFailure(err)) {
      route.upCounters[this.upIdx]!.connectionErrors++;
      this.router.upstreams.markDown(up);
      if (!this.res.destroyed) this.attempt();
      return;
    }
    if (err.code === UPSTREAM_DOWN) return this.upstreamDown(up, (err as { wasConnected?: boolean }).wasConnected === true || this.bodyStarted);
    // a reused keep-alive socket closed by the upstream just as it was handed out: the request
    // never reached it if no body was read, so one retry is safe
    if (this.ureq?.reusedSocket && !this.bodyStarted && !this.staleRetried && !this.res.destroyed) {
      this.staleRetried = true;
      this.send(this.upIdx);
      return;
    }
    route.upCounters[this.upIdx]!.connectionErrors++;
    this.badGateway();
  };

  /**
   * The health check took the upstream out with this attempt waiting on it (both upstream clients
   * end here): sent again elsewhere when it had not reached the upstream (`sent` false) or is
   * replayable, answered 502 otherwise.
   */
  upstreamDown(up: UpstreamState, sent: boolean): void {
    this.route.upCounters[this.upIdx]!.connectionErrors++;
    if (this.res.destroyed) return;
    if (!sent || replayable(this.req.method, this.inbound.hasBody)) return this.attempt();
    this.lostInFlight(up);
  }

  /** A request that reached an upstream which then stopped answering, and cannot be sent again. */
  private lostInFlight(up: UpstreamState): void {
    const res = this.res;
    this.status = 0;
    if (res.headersSent || res.destroyed) return;
    const body = `{"error":"BAD_GATEWAY","message":"router ${this.router.name}: upstream ${up.host}:${up.port} of version ${this.route.version} stopped answering (health check) while this ${this.req.method} was in flight; it was not sent again because it is not idempotent or has a body","hint":"the request may or may not have been applied: check before sending it again"}`;
    const h: string[] = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), VERSION_HEADER, this.route.version];
    if (this.newCid !== null) h.push('set-cookie', this.newCid);
    res.writeHead(502, h);
    res.end(body);
    this.req.resume();
  }

  badGateway(): void {
    const res = this.res;
    this.status = 0;
    if (res.headersSent || res.destroyed) return;
    const to = this.rescuer();
    if (to !== null) return this.rescue(to, 0);
    const body = `{"error":"BAD_GATEWAY","message":"router ${this.router.name}: no upstream of version ${this.route.version} could be reached","hint":"the version's instances are down or refusing connections"}`;
    const h: string[] = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), VERSION_HEADER, this.route.version];
    if (this.newCid !== null) h.push('set-cookie', this.newCid);
    if (this.rescuedFrom !== null) h.push(RESCUED_HEADER, this.rescuedFrom);
    res.writeHead(502, h);
    res.end(body);
    this.req.resume();
  }

  onClose = (): void => {
    if (this.done) return;
    this.done = true;
    const res = this.res;
    const st = !res.writableFinished ? -1 : this.status;
    if (st === -1) {
      this.ureq?.destroy();
      this.call?.cancel();
    }
    this.route.counters.record(st, performance.now() - this.t0, this.router.clock.now(), this.cid);
  };
}

/**
 * One attempt on an upstream through undici's dispatcher (its native handler interface: no
 * stream objects per request). undici writes the client's body only once connected, so a
 * refused connection leaves the body unread and the attempt can move to another upstream.
 */
class UndiciCall implements Dispatcher.DispatchHandler {
  private readonly ex: Exchange;
  private readonly up: UpstreamState;
  private abortFn: ((err?: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private headersSeen = false;
  private finished = false;
  /** a canary's failed answer replaced by another version's: read to the end and dropped */
  private discarded = false;
  /** undici hands the request to a connected socket (onConnect): from then on it may have reached the upstream */
  private sent = false;
  /** the upstream's `downs` when this attempt began: another value in onError means the health check took it out meanwhile */
  private readonly downs: number;

  constructor(ex: Exchange, up: UpstreamState) {
    this.ex = ex;
    this.up = up;
    this.downs = up.downs;
  }

  cancel(): void {
    if (!this.finished && this.abortFn !== null) this.abortFn(new Error('client went away'));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    this.sent = true;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage?: string): boolean {
    const ex = this.ex;
    ex.connected = true;
    if (statusCode < 200) return true; // 1xx informational: wait for the final response
    this.headersSeen = true;
    this.resumeFn = resume;
    const route = ex.route;
    this.up.answeredAt = ex.router.clock.now();
    if (!this.up.healthy) markUp(this.up);
    const uc = route.upCounters[ex.upIdx]!;
    uc.requests++;
    if (statusCode >= 500) {
      uc.errors++;
      const to = ex.rescuer();
      if (to !== null) {
        // drained rather than aborted: keeps the connection, and undici's bodyTimeout bounds it
        this.discarded = true;
        ex.rescue(to, statusCode);
        return true;
      }
    }
    ex.status = statusCode;
    const res = ex.res;
    if (res.destroyed) return false;
    const raw: string[] = new Array(rawHeaders.length);
    for (let i = 0; i < rawHeaders.length; i++) raw[i] = rawHeaders[i]!.toString('latin1');
    const h = responseHeaders(raw, route.version, ex.newCid);
    if (ex.rescuedFrom !== null) h.push(RESCUED_HEADER, ex.rescuedFrom);
    res.writeHead(statusCode, statusMessage, h);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.discarded) return true;
    const res = this.ex.res;
    if (res.write(chunk)) return true;
    res.once('drain', this.onDrain);
    return false;
  }

  private onDrain = (): void => {
    this.resumeFn?.();
  };

  onComplete(): void {
    this.finished = true;
    if (!this.discarded) this.ex.res.end();
  }

  onError(err: Error): void {
    this.finished = true;
    if (this.discarded) return;
    const ex = this.ex;
    const e = err as NodeJS.ErrnoException;
    if (this.headersSeen || ex.res.headersSent) {
      ex.res.destroy();
      return;
    }
    const route = ex.route;
    // the health check took the upstream out (and closed its pool) with this attempt waiting on it
    if (this.up.downs !== this.downs) return ex.upstreamDown(this.up, this.sent);
    if (isConnectFailure(e)) {
      route.upCounters[ex.upIdx]!.connectionErrors++;
      ex.router.upstreams.markDown(this.up);
      if (!ex.res.destroyed) ex.attempt();
      return;
    }
    // a keep-alive socket the upstream closed just as it was reused: nothing of the client's was
    // consumed when there is no body, so one retry is safe
    if (e.code === 'UND_ERR_SOCKET' && !ex.inbound.hasBody && !ex.staleRetried && !ex.res.destroyed) {
      ex.staleRetried = true;
      ex.send(ex.upIdx);
      return;
    }
    route.upCounters[ex.upIdx]!.connectionErrors++;
    if (!ex.res.destroyed) ex.badGateway();
  }
}

export function handleRequest(router: ProxyHost, req: http.IncomingMessage, res: http.ServerResponse): void {
  const ex = new Exchange(router, req, res);
  const remote = req.socket.remoteAddress;
  const inbound = new Inbound(req.rawHeaders, remote, false, router.identity.header);
  clientIdentity(router.identity, inbound.cookie, inbound.identity, remote, ex);
  const route = selectRoute(router.compiled, ex.identity);
  if (route === null) {
    router.noRoute++;
    const body = router.noRouteBody();
    res.writeHead(503, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'retry-after', '5']);
    res.end(body);
    req.resume();
    return;
  }
  ex.route = route;
  ex.inbound = inbound;
  res.on('close', ex.onClose);
  if (router.faults.count !== 0) {
    const f = router.faults.pick(route.version, router.clock.now());
    if (f !== null) return injectFault(ex, f);
  }
  ex.attempt();
}

/**
 * A drill's fault acts where the upstream would have failed, so everything after it (counters,
 * rescue of a canary's safe request, the analysis) runs as for a real failure.
 */
function injectFault(ex: Exchange, f: RouterFault): void {
  const res = ex.res;
  if (f.kind === 'latency') {
    ex.router.clock.setTimeout(() => {
      if (!res.destroyed) ex.attempt();
    }, f.latencyMs);
    return;
  }
  if (f.kind === 'drop') {
    // counted as an unreachable upstream (status 0), then the client's connection is cut
    ex.done = true;
    ex.route.counters.record(0, performance.now() - ex.t0, ex.router.clock.now(), ex.cid);
    ex.req.socket.destroy();
    return;
  }
  const to = ex.rescuer();
  if (to !== null) return ex.rescue(to, f.status);
  ex.status = f.status;
  const body = `{"error":"DRILL_FAULT","message":"DRILL ${f.drill}: fault ${f.id} injected by router ${ex.router.name} into version ${ex.route.version}","hint":"this is a rehearsal; greenlight drill stop ends it"}`;
  const h: string[] = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), VERSION_HEADER, ex.route.version, DRILL_HEADER, f.drill];
  if (ex.newCid !== null) h.push('set-cookie', ex.newCid);
  res.writeHead(f.status, h);
  res.end(body);
  ex.req.resume();
}

function ignore(): void {}

/** error code of an attempt ended because the health check took its upstream out */
export const UPSTREAM_DOWN = 'GL_UPSTREAM_DOWN';
