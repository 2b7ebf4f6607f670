// The router: the data plane of one environment. An HTTP/1.1 reverse proxy that splits traffic
// between versions by the routing table's weights, keeps each client on its version by a hash of
// its identity (assignment.ts),
// and counts what each version does. It never depends on the controller to serve: the last table
// is kept in memory and in the state file, so a dead controller changes nothing for users.

import http from 'node:http';
import type net from 'node:net';
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { systemClock, type Clock } from '../clock/clock.ts';
import { GreenlightError, describe } from '../errors/errors.ts';
import { sameTable, validateTable, type RoutingTable } from './table.ts';
import { DEFAULT_CLIENT_CAP, snapshot, toPrometheus, type VersionCounters, type RouterStats } from './stats.ts';
import { handleAdmin, sendJson } from './admin.ts';
import { handleRequest, UPSTREAM_DOWN } from './proxy.ts';
import { compile, identityReader, type Compiled, type IdentityReader } from './routing.ts';
import type { IdentitySource } from './assignment.ts';
import { handleUpgrade } from './upgrade.ts';
import { Upstreams, type UpstreamState } from './upstreams.ts';
import type { HealthCheckOptions } from './health.ts';
import { RouterFaults, type RouterFault } from './faults.ts';

export { CLIENT_COOKIE } from './routing.ts';
export { VERSION_HEADER } from './headers.ts';

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
  /**
   * active health checks of every upstream (health.ts: GET path every interval, out after `fall`
   * unanswered, back after `rise` answered). The router process (main.ts, what the controller
   * runs) always has them (DEFAULT_HEALTH_CHECK unless configured); in-process routers only when
   * given, because a ManualClock advanced by a day would run 345,600 probes. Absent or false: only a
   * refused connection takes an upstream out, and a TCP probe with back-off brings it back.
   */
  healthCheck?: HealthCheckOptions | false;
  /** without active checks: first re-probe of an upstream taken out of rotation; doubles up to probeMaxMs */
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
  /**
   * When a version other than the highest-weight one (a canary) answers a GET/HEAD/OPTIONS
   * without body with a 5xx, or none of its upstreams can be reached, replay it once on the
   * highest-weight version and answer with that (the failure still counts for the canary).
   * Default true.
   */
  rescueCanaryErrors?: boolean;
  /** where the drill faults in force are kept with their absolute expiry; default beside stateFile */
  faultsFile?: string;
  /** what identifies a client for its version assignment; default Greenlight's own client cookie */
  identity?: IdentitySource;
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
  /** drill faults in force (PUT/GET/DELETE /faults on the admin API) */
  readonly faults: RouterFaults;
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

export function createRouter(opts: RouterOptions): Router {
  return new RouterImpl(opts);
}

// Not exported: callers get a Router. Fields read by admin.ts, proxy.ts and upgrade.ts are
// public here and reach them through the AdminHost and ProxyHost types.
class RouterImpl implements Router {
  readonly name: string;
  readonly clock: Clock;
  readonly clientCap: number;
  readonly opts: RouterOptions;
  readonly startedAt: number;
  compiled: Compiled | null = null;
  private readonly counters = new Map<string, VersionCounters>();
  readonly upstreams: Upstreams;
  noRoute = 0;
  readonly agent: http.Agent;
  readonly idleTimeoutMs: number;
  readonly useUndici: boolean;
  readonly rescue: boolean;
  readonly faults: RouterFaults;
  private readonly faultsFile: string | undefined;
  readonly identity: IdentityReader;
  private proxyServer: http.Server | null = null;
  private adminServer: http.Server | null = null;
  private persistChain: Promise<unknown> = Promise.resolve();
  lastPersistError: string | null = null;
  private readonly noTableBody: string;

  constructor(opts: RouterOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
    this.clientCap = opts.clientCap ?? DEFAULT_CLIENT_CAP;
    this.startedAt = this.clock.now();
    this.idleTimeoutMs = opts.upstreamIdleTimeoutMs ?? 60_000;
    this.useUndici = (opts.upstreamClient ?? 'undici') === 'undici';
    this.rescue = opts.rescueCanaryErrors ?? true;
    this.identity = identityReader(opts.identity);
    this.upstreams = new Upstreams(this.clock, opts, this.idleTimeoutMs);
    this.upstreams.onDown = (s) => this.endInFlight(s);
    this.faultsFile = opts.faultsFile ?? (opts.stateFile ? opts.stateFile.replace(/(\.json)?$/, '.faults.json') : undefined);
    this.faults = new RouterFaults(this.clock, (f) => this.persistFaults(f));
    // LIFO keeps the most recently used sockets hot, so fewer idle ones hit the upstream's
    // keep-alive timeout and race a new request.
    this.agent = new http.Agent({ keepAlive: true, maxFreeSockets: opts.maxFreeSockets ?? 256, scheduling: 'lifo' });
    this.noTableBody = JSON.stringify({
      error: 'NO_ROUTE',
      message: `router "${this.name}" has no routing table yet`,
      hint: 'the controller sends one when a version is deployed to this environment; check that the controller is running',
    });
  }

  /**
   * The health check took `s` out: what waits on it now would wait for a timeout (10 s to connect,
   * 60 s for an answer). Its pool and sockets are closed, so each such request fails over at once:
   * sent again elsewhere when it had not reached the upstream or is replayable, answered 502 otherwise.
   */
  private endInFlight(s: UpstreamState): void {
    const pool = s.pool;
    s.pool = null;
    pool?.destroy(Object.assign(new Error(`upstream ${s.host}:${s.port} stopped answering its health check`), { code: UPSTREAM_DOWN })).catch(() => {});
    const name = `${s.host}:${s.port}:`;
    for (const [key, socks] of Object.entries(this.agent.sockets)) {
      if (!key.startsWith(name)) continue;
      for (const sock of socks ?? []) {
        sock.destroy(Object.assign(new Error(`upstream ${s.host}:${s.port} stopped answering its health check`), { code: UPSTREAM_DOWN, wasConnected: !sock.connecting }));
      }
    }
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
    this.compiled = compile(t, this.counters, this.upstreams, this.clientCap);
    return true;
  }

  // ----- state file -------------------------------------------------------------------------

  async loadState(): Promise<number | null> {
    await this.loadFaults();
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

  /** Faults still in force after a restart; an unreadable file means none (a drill fails safe). */
  private async loadFaults(): Promise<void> {
    const file = this.faultsFile;
    if (!file) return;
    try {
      this.faults.restore((JSON.parse(await readFile(file, 'utf8')) as { faults?: unknown }).faults);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') process.emitWarning(`router ${this.name}: ignoring the drill faults file ${file}: ${describe(err)}`);
    }
  }

  private persistFaults(faults: RouterFault[]): Promise<void> {
    const file = this.faultsFile;
    if (!file) return Promise.resolve();
    const body = JSON.stringify({ format: 1, router: this.name, savedAt: this.clock.now(), faults }, null, 2) + '\n';
    const p = this.persistChain.then(() => writeAtomic(file, body)).catch((err: unknown) => {
      process.emitWarning(`router ${this.name}: could not write the drill faults file ${file}: ${describe(err)}; the faults still expire by this router's clock`);
    });
    this.persistChain = p;
    return p;
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

  // ----- serving ----------------------------------------------------------------------------

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
      handleAdmin(this, req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: describe(err) });
        else res.destroy();
      });
    });
    this.adminServer = server;
    return listenOn(server, parseAddress(addr), 'the admin API');
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
      healthy: (url) => this.upstreams.healthy(url),
    });
  }

  metrics(): string {
    return toPrometheus(this.stats());
  }

  async close(): Promise<void> {
    this.upstreams.stop();
    this.faults.stop();
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
    await this.upstreams.destroyPools();
    await this.persistChain;
  }

  /** Stops accepting and ends open connections now (tests, and the second SIGTERM). */
  destroyConnections(): void {
    this.proxyServer?.closeAllConnections();
    this.adminServer?.closeAllConnections();
  }
}

// ---------------------------------------------------------------------------------------------
// admin-side helpers (not on the request path)

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
