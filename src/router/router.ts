// The router: the data plane of one environment. An HTTP/1.1 reverse proxy that splits traffic
// between versions by the routing table's weights, keeps clients on their version with a cookie,
// and counts what each version does. It never depends on the controller to serve: the last table
// is kept in memory and in the state file, so a dead controller changes nothing for users.

import http from 'node:http';
import net from 'node:net';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { systemClock, type Clock, type TimerHandle } from '../clock/clock.ts';
import { GreenlightError, describe } from '../errors/errors.ts';
import { parseUpstream, sameTable, validateTable, type RoutingTable } from './table.ts';
import { DEFAULT_CLIENT_CAP, snapshot, toPrometheus, UpstreamCounters, VersionCounters, type RouterStats } from './stats.ts';

export const VERSION_COOKIE = 'gl_v';
export const CLIENT_COOKIE = 'gl_cid';
export const VERSION_HEADER = 'x-greenlight-version';

export interface RouterOptions {
  /** environment name, e.g. "production"; appears in stats, metrics and error bodies */
  name: string;
  clock?: Clock;
  /** where the last accepted table is kept (written atomically on every change) */
  stateFile?: string;
  /** bearer token for the admin API; without it every admin request is refused */
  adminToken?: string;
  /** distinct client ids remembered per version (each set); default 100k */
  clientCap?: number;
  /** first re-probe of an upstream taken out of rotation; doubles up to probeMaxMs */
  probeInitialMs?: number;
  probeMaxMs?: number;
  /** socket idle time (connect, or waiting for upstream bytes) before an upstream attempt fails */
  upstreamIdleTimeoutMs?: number;
  /** idle keep-alive sockets kept per upstream (node:http client) */
  maxFreeSockets?: number;
  /**
   * HTTP client used towards upstreams for plain requests: undici (default; measured ~2x the
   * throughput of node:http's Agent on this path, see bench/router.ts) or node:http.
   * WebSocket upgrades always use node:http.
   */
  upstreamClient?: 'undici' | 'http';
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface Router {
  /** starts the proxy listener; "host:port" or {host, port}; port 0 picks a free one */
  listen(addr: string | ListenAddress): Promise<ListenAddress>;
  /** starts the admin API listener (PUT/GET /table, GET /stats, /metrics, /healthz) */
  listenAdmin(addr: string | ListenAddress): Promise<ListenAddress>;
  /** loads the table from the state file, if there is one; returns its revision or null */
  loadState(): Promise<number | null>;
  /** validates, applies and persists a table; throws CONFIG_INVALID (bad table) or CONFLICT (stale revision) */
  setTable(table: unknown): Promise<{ revision: number; persisted: boolean; changed: boolean }>;
  table(): RoutingTable | null;
  stats(): RouterStats;
  metrics(): string;
  /** stops listening and waits for open requests; idle keep-alive connections are closed */
  close(): Promise<void>;
  /** ends every open client connection now (after close(), to stop waiting) */
  destroyConnections(): void;
}

export function parseAddress(addr: string | ListenAddress): ListenAddress {
  if (typeof addr !== 'string') return addr;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr.trim());
  if (!m) {
    throw new GreenlightError('USAGE', `"${addr}" is not a listen address`, { hint: 'use host:port, e.g. 127.0.0.1:8081 or [::1]:8081' });
  }
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

export function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

// ---------------------------------------------------------------------------------------------
// compiled table

interface UpstreamState {
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

interface Route {
  version: string;
  weight: number;
  upstreams: UpstreamState[];
  upCounters: UpstreamCounters[];
  rr: number;
  counters: VersionCounters;
  versionCookie: string;
}

interface Compiled {
  table: RoutingTable;
  routes: Route[];
  byName: Map<string, Route>;
  /** only routes with weight > 0, with cumulative weights */
  live: Route[];
  cum: number[];
  total: number;
  weights: Map<string, number>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const CLIENT_COOKIE_MAX_AGE = 365 * 24 * 3600;
const VERSION_COOKIE_MAX_AGE = 24 * 3600;

export function createRouter(opts: RouterOptions): Router {
  return new RouterImpl(opts);
}

class RouterImpl implements Router {
  readonly name: string;
  readonly clock: Clock;
  readonly clientCap: number;
  private readonly opts: RouterOptions;
  private readonly startedAt: number;
  private compiled: Compiled | null = null;
  private readonly counters = new Map<string, VersionCounters>();
  private readonly upstreamStates = new Map<string, UpstreamState>();
  noRoute = 0;
  readonly agent: http.Agent;
  readonly idleTimeoutMs: number;
  readonly useUndici: boolean;
  private proxyServer: http.Server | null = null;
  private adminServer: http.Server | null = null;
  private persistChain: Promise<unknown> = Promise.resolve();
  private lastPersistError: string | null = null;
  private closed = false;
  private readonly noTableBody: string;

  constructor(opts: RouterOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
    this.clientCap = opts.clientCap ?? DEFAULT_CLIENT_CAP;
    this.startedAt = this.clock.now();
    this.idleTimeoutMs = opts.upstreamIdleTimeoutMs ?? 60_000;
    this.useUndici = (opts.upstreamClient ?? 'undici') === 'undici';
    // LIFO keeps the most recently used sockets hot, so fewer idle ones hit the upstream's
    // keep-alive timeout and race a new request.
    this.agent = new http.Agent({ keepAlive: true, maxFreeSockets: opts.maxFreeSockets ?? 256, scheduling: 'lifo' });
    this.noTableBody = JSON.stringify({
      error: 'NO_ROUTE',
      message: `router "${this.name}" has no routing table yet`,
      hint: 'the controller sends one when a version is deployed to this environment; check that the controller is running',
    });
  }

  // ----- table ------------------------------------------------------------------------------

  table(): RoutingTable | null {
    return this.compiled?.table ?? null;
  }

  async setTable(input: unknown): Promise<{ revision: number; persisted: boolean; changed: boolean }> {
    const changed = this.applyTable(input);
    const revision = this.compiled!.table.revision;
    if (!changed) return { revision, persisted: this.lastPersistError === null, changed };
    const persisted = await this.persist(this.compiled!.table);
    return { revision, persisted, changed };
  }

  /** Synchronous part of setTable: validation, the revision rule and the switch. */
  private applyTable(input: unknown): boolean {
    const v = validateTable(input);
    if (!v.ok) {
      throw new GreenlightError('CONFIG_INVALID', `routing table refused: ${v.reason}`, {
        hint: 'fix the table; the router keeps serving the previous one',
      });
    }
    const t = v.table;
    const cur = this.compiled?.table;
    if (cur) {
      if (t.revision < cur.revision || (t.revision === cur.revision && !sameTable(t, cur))) {
        throw new GreenlightError('CONFLICT', `routing table revision ${t.revision} is ${t.revision < cur.revision ? 'older than' : 'the same as, but differs from,'} the revision ${cur.revision} in force`, {
          hint: 'read the current table (GET /table) and send a higher revision',
          data: { currentRevision: cur.revision },
        });
      }
      if (t.revision === cur.revision) return false;
    }
    this.compiled = this.compile(t);
    return true;
  }

  private compile(t: RoutingTable): Compiled {
    const routes: Route[] = [];
    const byName = new Map<string, Route>();
    const live: Route[] = [];
    const cum: number[] = [];
    const weights = new Map<string, number>();
    const urls = new Set<string>();
    let total = 0;
    for (const v of t.versions) {
      let counters = this.counters.get(v.version);
      if (!counters) {
        counters = new VersionCounters(v.version, this.clientCap);
        this.counters.set(v.version, counters);
      }
      const ups: UpstreamState[] = [];
      const upCounters: UpstreamCounters[] = [];
      for (const url of v.upstreams) {
        urls.add(url);
        let s = this.upstreamStates.get(url);
        if (!s) {
          const p = parseUpstream(url)!;
          s = { url, origin: `http://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`, host: p.host, port: p.port, healthy: true, backoffMs: 0, probe: null, pool: null };
          this.upstreamStates.set(url, s);
        }
        ups.push(s);
        upCounters.push(counters.upstream(url));
      }
      const route: Route = {
        version: v.version,
        weight: v.weight,
        upstreams: ups,
        upCounters,
        rr: 0,
        counters,
        versionCookie: `${VERSION_COOKIE}=${v.version}; Path=/; Max-Age=${VERSION_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax`,
      };
      routes.push(route);
      byName.set(v.version, route);
      weights.set(v.version, v.weight);
      if (v.weight > 0) {
        total += v.weight;
        live.push(route);
        cum.push(total);
      }
    }
    for (const [url, s] of this.upstreamStates) {
      if (!urls.has(url)) {
        s.probe?.cancel();
        // in-flight requests finish; the pool closes after them
        s.pool?.close().catch(() => {});
        this.upstreamStates.delete(url);
      }
    }
    return { table: t, routes, byName, live, cum, total, weights };
  }

  async loadState(): Promise<number | null> {
    const file = this.opts.stateFile;
    if (!file) return null;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new GreenlightError('INTERNAL', `cannot read the router state file ${file}: ${describe(err)}`, {
        hint: 'check the file permissions; the router needs to read and write it',
        cause: err,
      });
    }
    let table: unknown;
    try {
      table = (JSON.parse(text) as { table?: unknown }).table;
    } catch (err) {
      throw new GreenlightError('INTERNAL', `router state file ${file} is not valid JSON: ${describe(err)}`, {
        hint: 'move the file aside to start with no table; the controller resends the table when it next reconciles',
        cause: err,
      });
    }
    try {
      this.applyTable(table);
    } catch (err) {
      throw new GreenlightError('INTERNAL', `router state file ${file} holds an unusable table: ${describe(err)}`, {
        hint: 'move the file aside to start with no table; the controller resends the table when it next reconciles',
        cause: err,
      });
    }
    return this.compiled!.table.revision;
  }

  private persist(table: RoutingTable): Promise<boolean> {
    const file = this.opts.stateFile;
    if (!file) return Promise.resolve(true);
    const body = JSON.stringify({ format: 1, router: this.name, savedAt: this.clock.now(), table }, null, 2) + '\n';
    // chained so an older write can never land after a newer one
    const p = this.persistChain.then(() => writeAtomic(file, body)).then(
      () => {
        this.lastPersistError = null;
        return true;
      },
      (err: unknown) => {
        this.lastPersistError = describe(err);
        process.emitWarning(`router ${this.name}: could not write state file ${file}: ${describe(err)}; serving the new table from memory only`);
        return false;
      },
    );
    this.persistChain = p;
    return p;
  }

  // ----- health of upstreams ----------------------------------------------------------------

  pool(s: UpstreamState): Pool {
    return (s.pool ??= new Pool(s.origin, {
      pipelining: 1,
      keepAliveTimeout: 4_000,
      connectTimeout: Math.min(this.idleTimeoutMs, 10_000),
      headersTimeout: this.idleTimeoutMs,
      bodyTimeout: this.idleTimeoutMs,
    }));
  }

  markDown(s: UpstreamState): void {
    if (!s.healthy || this.closed) return;
    s.healthy = false;
    s.backoffMs = this.opts.probeInitialMs ?? 250;
    this.scheduleProbe(s);
  }

  markUp(s: UpstreamState): void {
    if (s.healthy) return;
    s.healthy = true;
    s.probe?.cancel();
    s.probe = null;
  }

  private scheduleProbe(s: UpstreamState): void {
    s.probe = this.clock.setTimeout(() => this.probe(s), s.backoffMs);
  }

  private probe(s: UpstreamState): void {
    s.probe = null;
    if (this.closed || this.upstreamStates.get(s.url) !== s || s.healthy) return;
    const sock = net.connect({ host: s.host, port: s.port });
    sock.setTimeout(Math.min(this.idleTimeoutMs, 5_000));
    const fail = () => {
      sock.destroy();
      if (s.healthy || this.closed || this.upstreamStates.get(s.url) !== s) return;
      s.backoffMs = Math.min(s.backoffMs * 2, this.opts.probeMaxMs ?? 10_000);
      if (!s.probe) this.scheduleProbe(s);
    };
    sock.once('connect', () => {
      sock.destroy();
      this.markUp(s);
    });
    sock.once('error', fail);
    sock.once('timeout', fail);
  }

  // ----- proxy ------------------------------------------------------------------------------

  /** Picks the route for a request: the pinned version while it has weight, else by weight. */
  route(pinned: string | undefined): Route | null {
    const c = this.compiled;
    if (c === null || c.total === 0) return null;
    if (pinned !== undefined) {
      const r = c.byName.get(pinned);
      if (r !== undefined && r.weight > 0) return r;
    }
    const live = c.live;
    if (live.length === 1) return live[0]!;
    const x = Math.random() * c.total;
    const cum = c.cum;
    for (let i = 0; i < live.length - 1; i++) if (x < cum[i]!) return live[i]!;
    return live[live.length - 1]!;
  }

  noRouteBody(): string {
    const c = this.compiled;
    if (c === null) return this.noTableBody;
    return JSON.stringify({
      error: 'NO_ROUTE',
      message: `router "${this.name}" has no version with weight > 0 in routing table revision ${c.table.revision}`,
      hint: 'the controller sets the weights; check the deployment state of this environment',
    });
  }

  listen(addr: string | ListenAddress): Promise<ListenAddress> {
    const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => handleRequest(this, req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(this, req, socket, head));
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.proxyServer = server;
    return listenOn(server, parseAddress(addr), 'proxy traffic');
  }

  listenAdmin(addr: string | ListenAddress): Promise<ListenAddress> {
    const server = http.createServer((req, res) => {
      this.handleAdmin(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: describe(err) });
        else res.destroy();
      });
    });
    this.adminServer = server;
    return listenOn(server, parseAddress(addr), 'the admin API');
  }

  // ----- admin ------------------------------------------------------------------------------

  private authorized(req: http.IncomingMessage): boolean {
    const token = this.opts.adminToken;
    if (!token) return false;
    const h = req.headers.authorization ?? '';
    const want = Buffer.from(`Bearer ${token}`);
    const got = Buffer.from(h);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private async handleAdmin(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') {
      // unauthenticated on purpose: liveness probes carry no token, and nothing here is secret
      const c = this.compiled;
      sendJson(res, 200, {
        ok: true,
        router: this.name,
        revision: c?.table.revision ?? null,
        serving: c !== null && c.total > 0,
        persistError: this.lastPersistError,
        uptimeMs: this.clock.now() - this.startedAt,
      });
      return;
    }
    if (!this.authorized(req)) {
      req.resume();
      res.setHeader('www-authenticate', 'Bearer');
      sendJson(res, 401, { error: 'UNAUTHORIZED', message: 'missing or wrong bearer token', hint: 'send "Authorization: Bearer <token>" with the token from the router\'s --token-file' });
      return;
    }
    if (path === '/table') {
      if (req.method === 'GET') {
        const t = this.table();
        if (t) sendJson(res, 200, t);
        else sendJson(res, 404, { error: 'NOT_FOUND', message: 'no routing table yet', hint: 'PUT /table to set one' });
        return;
      }
      if (req.method === 'PUT') {
        let body: unknown;
        try {
          body = JSON.parse(await readBody(req, 1 << 20));
        } catch (err) {
          sendJson(res, 400, { error: 'CONFIG_INVALID', message: `body is not a JSON routing table: ${describe(err)}`, hint: 'send {"revision": n, "versions": [...]} as JSON' });
          return;
        }
        try {
          const r = await this.setTable(body);
          sendJson(res, 200, r.persisted ? r : { ...r, warning: `state file not written: ${this.lastPersistError}` });
        } catch (err) {
          if (err instanceof GreenlightError) sendJson(res, err.code === 'CONFLICT' ? 409 : 400, err.toJSON());
          else throw err;
        }
        return;
      }
      return methodNotAllowed(res, 'GET, PUT');
    }
    if (path === '/stats') {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      sendJson(res, 200, this.stats());
      return;
    }
    if (path === '/metrics') {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      const text = this.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    sendJson(res, 404, { error: 'NOT_FOUND', message: `no admin endpoint ${req.method} ${path}`, hint: 'endpoints: PUT/GET /table, GET /stats, GET /metrics, GET /healthz' });
  }

  stats(): RouterStats {
    return snapshot({
      router: this.name,
      startedAt: this.startedAt,
      now: this.clock.now(),
      revision: this.compiled?.table.revision ?? null,
      clientCap: this.clientCap,
      noRoute: this.noRoute,
      counters: this.counters.values(),
      weights: this.compiled?.weights ?? new Map(),
      healthy: (url) => this.upstreamStates.get(url)?.healthy ?? false,
    });
  }

  metrics(): string {
    return toPrometheus(this.stats());
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.upstreamStates.values()) s.probe?.cancel();
    const servers = [this.proxyServer, this.adminServer].filter((s): s is http.Server => s !== null);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }),
      ),
    );
    this.agent.destroy();
    await Promise.all([...this.upstreamStates.values()].map((s) => s.pool?.destroy().catch(() => {})));
    await this.persistChain;
  }

  /** Stops accepting and ends open connections now (tests, and the second SIGTERM). */
  destroyConnections(): void {
    this.proxyServer?.closeAllConnections();
    this.adminServer?.closeAllConnections();
  }
}

// ---------------------------------------------------------------------------------------------
// request path

/** Value of cookie `key` ("name=") in a Cookie header, without allocating the parsed map. */
function cookieValue(h: string, key: string): string | undefined {
  let i = h.indexOf(key);
  while (i !== -1) {
    const prev = i === 0 ? 59 : h.charCodeAt(i - 1);
    if (prev === 59 || prev === 32) {
      const start = i + key.length;
      let end = h.indexOf(';', start);
      if (end === -1) end = h.length;
      return h.slice(start, end);
    }
    i = h.indexOf(key, i + 1);
  }
  return undefined;
}

/** Headers parsed once from rawHeaders into the forwarded list and the few the router reads. */
class Inbound {
  out: string[] = [];
  cookie: string | undefined = undefined;
  host: string | undefined = undefined;
  connection: string | undefined = undefined;
  upgrade: string | undefined = undefined;
  hasBody = false;

  constructor(raw: string[], remote: string | undefined, keepUpgrade: boolean) {
    const out = this.out;
    let xff: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      const l = name.toLowerCase();
      if (HOP_BY_HOP.has(l) || l.startsWith('proxy-')) {
        if (l === 'connection') this.connection = this.connection === undefined ? value : `${this.connection}, ${value}`;
        else if (l === 'transfer-encoding') this.hasBody = true;
        else if (l === 'upgrade') this.upgrade = value;
        continue;
      }
      switch (l) {
        case 'x-forwarded-for':
          xff = xff === undefined ? value : `${xff}, ${value}`;
          continue;
        case 'x-forwarded-proto':
        case 'x-forwarded-host':
        // node's server has already answered "100 Continue"; the upstream gets the body directly
        case 'expect':
          continue;
        case 'host':
          this.host = value;
          break;
        case 'cookie':
          this.cookie = this.cookie === undefined ? value : `${this.cookie}; ${value}`;
          break;
        case 'content-length':
          if (value !== '0') this.hasBody = true;
          break;
      }
      out.push(name, value);
    }
    if (this.connection !== undefined) dropConnectionListed(out, this.connection);
    const addr = remote ?? '';
    out.push('x-forwarded-for', xff === undefined ? addr : `${xff}, ${addr}`, 'x-forwarded-proto', 'http');
    if (this.host !== undefined) out.push('x-forwarded-host', this.host);
    if (keepUpgrade && this.upgrade !== undefined) out.push('connection', 'upgrade', 'upgrade', this.upgrade);
  }
}

/** Removes the headers named in a Connection header (RFC 9110 7.6.1); rare, so not on the fast path. */
function dropConnectionListed(out: string[], connection: string): void {
  let names: Set<string> | null = null;
  for (const tok of connection.split(',')) {
    const t = tok.trim().toLowerCase();
    if (t === '' || t === 'keep-alive' || t === 'close' || t === 'upgrade') continue;
    (names ??= new Set()).add(t);
  }
  if (names === null) return;
  for (let i = out.length - 2; i >= 0; i -= 2) {
    if (names.has(out[i]!.toLowerCase())) out.splice(i, 2);
  }
}

function responseHeaders(raw: string[], version: string, cookie1: string | null, cookie2: string | null): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const l = name.toLowerCase();
    if (HOP_BY_HOP.has(l) || l.startsWith('proxy-')) {
      if (l === 'connection') connection = raw[i + 1];
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (connection !== undefined) dropConnectionListed(out, connection);
  out.push(VERSION_HEADER, version);
  if (cookie1 !== null) out.push('set-cookie', cookie1);
  if (cookie2 !== null) out.push('set-cookie', cookie2);
  return out;
}

/** Client-side sticky state shared by plain requests and upgrades. */
function clientCookies(cookieHeader: string | undefined, ex: { cid: string | undefined; newCid: string | null; pinned: string | undefined }): void {
  if (cookieHeader !== undefined) {
    ex.pinned = cookieValue(cookieHeader, 'gl_v=');
    const cid = cookieValue(cookieHeader, 'gl_cid=');
    // bounded so a client cannot grow the client sets with huge ids
    if (cid !== undefined && cid.length > 0 && cid.length <= 64) ex.cid = cid;
  }
  if (ex.cid === undefined) {
    ex.cid = randomUUID();
    ex.newCid = `${CLIENT_COOKIE}=${ex.cid}; Path=/; Max-Age=${CLIENT_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax`;
  }
}

function isConnectFailure(err: NodeJS.ErrnoException): boolean {
  return (
    err.syscall === 'connect' ||
    err.syscall === 'getaddrinfo' ||
    err.code === 'ECONNREFUSED' ||
    err.code === 'GL_CONNECT_TIMEOUT' ||
    err.code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

/** One client request and its attempts on the upstreams of its version. */
class Exchange {
  readonly router: RouterImpl;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly t0: number;
  route!: Route;
  inbound!: Inbound;
  cid: string | undefined = undefined;
  newCid: string | null = null;
  pinned: string | undefined = undefined;
  setVersion = false;
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

  constructor(router: RouterImpl, req: http.IncomingMessage, res: http.ServerResponse) {
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
      this.router.pool(up).dispatch(
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
    if (!up.healthy) this.router.markUp(up);
    const status = ures.statusCode ?? 502;
    const uc = route.upCounters[this.upIdx]!;
    uc.requests++;
    if (status >= 500) uc.errors++;
    this.status = status;
    const res = this.res;
    if (res.destroyed) {
      ures.resume();
      return;
    }
    res.writeHead(status, ures.statusMessage, responseHeaders(ures.rawHeaders, route.version, this.setVersion ? route.versionCookie : null, this.newCid));
    ures.pipe(res);
    ures.on('error', this.onResponseError);
  };

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
      this.router.markDown(up);
      if (!this.res.destroyed) this.attempt();
      return;
    }
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

  badGateway(): void {
    const res = this.res;
    this.status = 0;
    if (res.headersSent || res.destroyed) return;
    const body = `{"error":"BAD_GATEWAY","message":"router ${this.router.name}: no upstream of version ${this.route.version} could be reached","hint":"the version's instances are down or refusing connections"}`;
    const h: string[] = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), VERSION_HEADER, this.route.version];
    if (this.setVersion) h.push('set-cookie', this.route.versionCookie);
    if (this.newCid !== null) h.push('set-cookie', this.newCid);
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

  constructor(ex: Exchange, up: UpstreamState) {
    this.ex = ex;
    this.up = up;
  }

  cancel(): void {
    if (!this.finished && this.abortFn !== null) this.abortFn(new Error('client went away'));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage?: string): boolean {
    const ex = this.ex;
    ex.connected = true;
    if (statusCode < 200) return true; // 1xx informational: wait for the final response
    this.headersSeen = true;
    this.resumeFn = resume;
    const route = ex.route;
    if (!this.up.healthy) ex.router.markUp(this.up);
    const uc = route.upCounters[ex.upIdx]!;
    uc.requests++;
    if (statusCode >= 500) uc.errors++;
    ex.status = statusCode;
    const res = ex.res;
    if (res.destroyed) return false;
    const raw: string[] = new Array(rawHeaders.length);
    for (let i = 0; i < rawHeaders.length; i++) raw[i] = rawHeaders[i]!.toString('latin1');
    res.writeHead(statusCode, statusMessage, responseHeaders(raw, route.version, ex.setVersion ? route.versionCookie : null, ex.newCid));
    return true;
  }

  onData(chunk: Buffer): boolean {
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
    this.ex.res.end();
  }

  onError(err: Error): void {
    this.finished = true;
    const ex = this.ex;
    const e = err as NodeJS.ErrnoException;
    if (this.headersSeen || ex.res.headersSent) {
      ex.res.destroy();
      return;
    }
    const route = ex.route;
    if (isConnectFailure(e)) {
      route.upCounters[ex.upIdx]!.connectionErrors++;
      ex.router.markDown(this.up);
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

function handleRequest(router: RouterImpl, req: http.IncomingMessage, res: http.ServerResponse): void {
  const ex = new Exchange(router, req, res);
  const inbound = new Inbound(req.rawHeaders, req.socket.remoteAddress, false);
  clientCookies(inbound.cookie, ex);
  const route = router.route(ex.pinned);
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
  ex.setVersion = ex.pinned !== route.version;
  res.on('close', ex.onClose);
  ex.attempt();
}

// ---------------------------------------------------------------------------------------------
// upgrades (WebSocket): the handshake goes through like a request, then bytes flow both ways

function handleUpgrade(router: RouterImpl, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const t0 = performance.now();
  socket.on('error', () => socket.destroy());
  const inbound = new Inbound(req.rawHeaders, req.socket.remoteAddress, true);
  const ck = { cid: undefined as string | undefined, newCid: null as string | null, pinned: undefined as string | undefined };
  clientCookies(inbound.cookie, ck);
  const route = router.route(ck.pinned);
  if (route === null) {
    router.noRoute++;
    const body = router.noRouteBody();
    socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    return;
  }
  const setVersion = ck.pinned !== route.version;
  let tried = 0;
  let finished = false;
  const record = (status: number) => {
    if (finished) return;
    finished = true;
    route.counters.record(status, performance.now() - t0, router.clock.now(), ck.cid);
  };
  const fail = () => {
    record(0);
    if (socket.writable) {
      socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n${VERSION_HEADER}: ${route.version}\r\nConnection: close\r\n\r\n`);
    } else socket.destroy();
  };
  const tryOne = (): void => {
    const ups = route.upstreams;
    let i = -1;
    for (let k = 0; k < ups.length && i === -1; k++) {
      const j = (route.rr + k) % ups.length;
      if (ups[j]!.healthy && !(tried & (1 << j))) i = j;
    }
    if (i === -1) for (let j = 0; j < ups.length && i === -1; j++) if (!(tried & (1 << j))) i = j;
    if (i === -1 || i >= 30) return fail();
    route.rr = (i + 1) % ups.length;
    tried |= 1 << i;
    const up = ups[i]!;
    const uc = route.upCounters[i]!;
    // no agent: an upgraded socket leaves the pool anyway
    const ureq = http.request({ host: up.host, port: up.port, method: req.method, path: req.url, headers: inbound.out, setHost: false, agent: false, timeout: router.idleTimeoutMs });
    ureq.on('timeout', () => ureq.destroy(Object.assign(new Error('upstream timeout'), { code: ureq.socket?.connecting ? 'GL_CONNECT_TIMEOUT' : 'ETIMEDOUT' })));
    ureq.on('error', (err: NodeJS.ErrnoException) => {
      uc.connectionErrors++;
      if (isConnectFailure(err) && !finished) {
        router.markDown(up);
        tryOne();
      } else if (!finished) fail();
      else socket.destroy();
    });
    ureq.on('response', (ures) => {
      // the upstream declined the upgrade: relay its answer and close
      uc.requests++;
      if ((ures.statusCode ?? 502) >= 500) uc.errors++;
      const h = responseHeaders(ures.rawHeaders, route.version, setVersion ? route.versionCookie : null, ck.newCid);
      let text = `HTTP/1.1 ${ures.statusCode} ${ures.statusMessage}\r\n`;
      for (let j = 0; j < h.length; j += 2) text += `${h[j]}: ${h[j + 1]}\r\n`;
      socket.write(text + 'connection: close\r\n\r\n');
      ures.pipe(socket);
      ures.on('end', () => record(ures.statusCode ?? 502));
    });
    ureq.on('upgrade', (ures, usock, uhead) => {
      uc.requests++;
      if (!up.healthy) router.markUp(up);
      ureq.setTimeout(0);
      usock.setTimeout(0);
      const h = responseHeaders(ures.rawHeaders, route.version, setVersion ? route.versionCookie : null, ck.newCid);
      let text = `HTTP/1.1 101 ${ures.statusMessage || 'Switching Protocols'}\r\nconnection: Upgrade\r\nupgrade: ${headerOf(ures.rawHeaders, 'upgrade') ?? 'websocket'}\r\n`;
      for (let j = 0; j < h.length; j += 2) text += `${h[j]}: ${h[j + 1]}\r\n`;
      socket.write(text + '\r\n');
      if (uhead.length > 0) socket.write(uhead);
      if (head.length > 0) usock.write(head);
      record(101);
      usock.on('error', () => socket.destroy());
      socket.on('close', () => usock.destroy());
      usock.on('close', () => socket.destroy());
      usock.pipe(socket);
      socket.pipe(usock);
    });
    ureq.end();
  };
  socket.on('close', () => {
    if (!finished) record(-1);
  });
  tryOne();
}

function headerOf(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// helpers for the admin side (not on the request path)

function listenOn(server: http.Server, a: ListenAddress, what: string): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = formatAddress(a);
      if (err.code === 'EADDRINUSE') {
        reject(new GreenlightError('PORT_IN_USE', `cannot listen on ${where} for ${what}: the address is already in use`, {
          hint: `another process holds ${where} (perhaps a router already running for this environment; see \`ss -ltnp 'sport = :${a.port}'\`): stop it, or start this router with another address`,
          cause: err,
        }));
      } else if (err.code === 'EACCES') {
        reject(new GreenlightError('USAGE', `cannot listen on ${where} for ${what}: permission denied`, { hint: 'ports below 1024 need privileges; pick a port >= 1024', cause: err }));
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(new GreenlightError('USAGE', `cannot listen on ${where} for ${what}: no such local address`, { hint: 'use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0', cause: err }));
      } else reject(err);
    };
    server.once('error', onError);
    server.listen(a.port, a.host, () => {
      server.off('error', onError);
      const got = server.address() as net.AddressInfo;
      resolve({ host: got.address, port: got.port });
    });
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function methodNotAllowed(res: http.ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, { error: 'USAGE', message: 'method not allowed', hint: `use ${allow}` });
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function writeAtomic(file: string, body: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // the rename itself is durable only once the directory is synced
  try {
    const dh = await open(dirname(file), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // some filesystems refuse to fsync a directory; the rename is still atomic
  }
}
