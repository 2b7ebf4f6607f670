// The users of the rollout benchmark, as a process of its own (forked with IPC by bench/rollout.ts).
// Open loop: request i is sent at t0 + i / rate whatever happened to the earlier ones, on a pool
// of keep-alive connections; each request has a timeout (headers and body). Every request is kept
// in a ring (send time, status, version that answered) so the parent can ask, after the fact, what
// clients saw in any window of the last RING_SECONDS. Bounded: stops after maxMs or maxRequests.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface ClientSpec {
  url: string;
  rate: number;
  connections: number;
  timeoutMs: number;
  maxMs: number;
  /**
   * returning clients: this many visitors that keep the cookies they are given (as browsers do),
   * each request from one of them picked at random (one request at a time per visitor), postShare
   * of them POSTs with a body (which the router never replays). Absent: every request is a new
   * client with no cookie.
   */
  returning?: { clients: number; postShare: number };
}

/** What clients saw for the requests SENT in [from, to) (epoch ms). */
export interface WindowReport {
  from: number;
  to: number;
  sent: number;
  /** still without an answer when asked (should be 0: the parent waits past the timeout) */
  pending: number;
  ok: number;
  /** status >= 500, transport errors and timeouts */
  failed: number;
  http5xx: number;
  transport: number;
  timeouts: number;
  byVersion: Record<string, { requests: number; failed: number }>;
}

export type ToClient = { type: 'window'; id: number; from: number; to: number } | { type: 'stop' };
export type FromClient =
  | { type: 'ready' }
  | { type: 'window'; id: number; report: WindowReport }
  | { type: 'stopped'; sent: number; completed: number; lateStarts: number; elapsedMs: number; maxLateMs: number };

const RING_SECONDS = 300;
const PENDING = -1;
const TRANSPORT = 0;
const TIMEOUT = 1;

async function main(spec: ClientSpec): Promise<void> {
  const size = Math.ceil(spec.rate * RING_SECONDS);
  const sentAt = new Float64Array(size);
  const status = new Int16Array(size).fill(PENDING);
  const version = new Uint8Array(size);
  const versions: string[] = ['?'];
  const codes = new Map<string, number>();
  const codeOf = (v: string | undefined): number => {
    if (!v) return 0;
    let c = codes.get(v);
    if (c === undefined) {
      // the codes wrap after 255 versions; old ones have left the ring long before
      c = (versions.length % 255) + 1;
      versions[c] = v;
      codes.set(v, c);
    }
    return c;
  };

  const u = new URL(spec.url);
  const pool = new Pool(u.origin, { connections: spec.connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: spec.timeoutMs, bodyTimeout: spec.timeoutMs });
  const path = u.pathname + u.search;
  const epoch = () => performance.timeOrigin + performance.now();
  let sent = 0;
  let completed = 0;
  let lateStarts = 0;
  let maxLateMs = 0;
  const t0 = performance.now();
  const max = Math.ceil((spec.rate * spec.maxMs) / 1000);
  const interval = 1000 / spec.rate;
  let stopping = false;

  const returning = spec.returning;
  const jars: (string | undefined)[] = returning ? new Array(returning.clients) : [];
  const busy = new Uint8Array(returning?.clients ?? 0);
  const body = Buffer.from('{"order":1}');
  const fire = () => {
    const slot = sent % size;
    sent++;
    sentAt[slot] = epoch();
    status[slot] = PENDING;
    version[slot] = 0;
    const deadline = setTimeout(() => ac.abort(), spec.timeoutMs);
    const ac = new AbortController();
    let client = -1;
    let post = false;
    const headers: Record<string, string> = {};
    if (returning) {
      client = Math.floor(Math.random() * returning.clients);
      for (let k = 0; k < 16 && busy[client]; k++) client = (client + 1) % returning.clients;
      busy[client] = 1;
      const jar = jars[client];
      if (jar !== undefined) headers.cookie = jar;
      post = Math.random() < returning.postShare;
      if (post) headers['content-type'] = 'application/json';
    }
    pool.request({ path, method: post ? 'POST' : 'GET', headers, ...(post ? { body } : {}), signal: ac.signal }).then(
      (r) => {
        version[slot] = codeOf(r.headers['x-greenlight-version'] as string | undefined);
        if (client >= 0) {
          const sc = r.headers['set-cookie'];
          const set = sc === undefined ? [] : Array.isArray(sc) ? sc : [sc];
          if (set.length) {
            const m = new Map((jars[client] ?? '').split('; ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv] as [string, string]));
            for (const c of set) {
              const kv = c.split(';')[0]!;
              m.set(kv.slice(0, kv.indexOf('=')), kv);
            }
            jars[client] = [...m.values()].join('; ');
          }
        }
        return r.body.dump().then(
          () => finish(slot, r.statusCode, deadline, client),
          () => finish(slot, ac.signal.aborted ? TIMEOUT : TRANSPORT, deadline, client),
        );
      },
      (err: { code?: string }) => finish(slot, ac.signal.aborted || err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT' ? TIMEOUT : TRANSPORT, deadline, client),
    );
  };
  const finish = (slot: number, s: number, deadline: NodeJS.Timeout, client = -1) => {
    if (client >= 0) busy[client] = 0;
    clearTimeout(deadline);
    status[slot] = s;
    completed++;
  };

  const tick = () => {
    const now = performance.now();
    while (!stopping && sent < max && t0 + sent * interval <= now) {
      const late = now - (t0 + sent * interval);
      if (late > 1) lateStarts++;
      if (late > maxLateMs) maxLateMs = late;
      fire();
    }
    if (!stopping && sent < max && now - t0 < spec.maxMs) setTimeout(tick, 1);
  };

  const report = (from: number, to: number): WindowReport => {
    const r: WindowReport = { from, to, sent: 0, pending: 0, ok: 0, failed: 0, http5xx: 0, transport: 0, timeouts: 0, byVersion: {} };
    const oldest = Math.max(0, sent - size);
    for (let i = sent - 1; i >= oldest; i--) {
      const slot = i % size;
      const at = sentAt[slot]!;
      if (at >= to) continue;
      if (at < from) break;
      r.sent++;
      const s = status[slot]!;
      const v = versions[version[slot]!] ?? '?';
      const bv = (r.byVersion[v] ??= { requests: 0, failed: 0 });
      bv.requests++;
      if (s === PENDING) r.pending++;
      else if (s === TRANSPORT || s === TIMEOUT || s >= 500) {
        r.failed++;
        bv.failed++;
        if (s === TRANSPORT) r.transport++;
        else if (s === TIMEOUT) r.timeouts++;
        else r.http5xx++;
      } else r.ok++;
    }
    return r;
  };

  const send = (m: FromClient) => process.send!(m);
  process.on('message', (m: ToClient) => {
    if (m.type === 'window') send({ type: 'window', id: m.id, report: report(m.from, m.to) });
    else if (m.type === 'stop') {
      stopping = true;
      const until = performance.now() + spec.timeoutMs + 500;
      const wait = () => {
        if (completed >= sent || performance.now() > until) {
          send({ type: 'stopped', sent, completed, lateStarts, elapsedMs: performance.now() - t0, maxLateMs });
          void pool.destroy().finally(() => process.exit(0));
        } else setTimeout(wait, 10);
      };
      wait();
    }
  });
  process.on('disconnect', () => process.exit(0));
  tick();
  send({ type: 'ready' });
}

if (import.meta.url === `file://${process.argv[1]}`) await main(JSON.parse(process.argv[2] ?? '{}') as ClientSpec);
