// Two controllers sharing one throw-away PostgreSQL store, on the demo's workspace: a leader on
// controller.listen and a standby on a second port, a loopback webhook that records the pages
// the alerting sends, and helpers to kill and restart controllers. Used by the failover test and
// by `npm run bench:failover`.
import { createServer, type Server } from 'node:http';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { freePorts } from '../../src/app/free-port.ts';
import { freshDatabase, partitionProxy, type PartitionProxy } from '../../src/store/postgres/testing.ts';
import type { StoredEvent } from '../../src/events/log.ts';
import { PostgresEventLog } from '../../src/store/postgres/postgres-event-log.ts';
import { workspace, type Workspace } from './workspace.ts';

/** the part of GET /v1/status the cluster tests read */
export interface ControllerStatus {
  controller: { role?: string; pid: number; leaseToken?: number | null };
}

export interface Cluster {
  ws: Workspace;
  url: string;
  /** controller addresses: [0] is controller.listen, [1] the second controller's */
  addresses: string[];
  /** pages the webhook received: who, when */
  pages: { user: string; at: number; summary: string }[];
  /** starts controller i detached; its pid */
  up(i: number): Promise<number>;
  pids: (number | undefined)[];
  /** GET /v1/status of controller i itself (no following) */
  status(i: number): Promise<ControllerStatus | undefined>;
  /** index of the controller that leads now, if any answers as leader */
  leaderIndex(): Promise<number | undefined>;
  events(filter?: Parameters<PostgresEventLog['query']>[0]): Promise<StoredEvent[]>;
  /** with `partition: true`: controller 0 reaches PostgreSQL through this proxy, which the test can cut */
  proxy: PartitionProxy | undefined;
  close(): Promise<void>;
}

export async function cluster(opts: { lease?: string; ackTimeout?: string; steps?: string; partition?: boolean } = {}): Promise<Cluster> {
  const url = await freshDatabase();
  // store.url is `$GREENLIGHT_STORE_URL`: every process of the test reaches the database directly,
  // except controller 0 when there is a proxy (its own environment names the proxy)
  process.env.GREENLIGHT_STORE_URL = url;
  const proxy = opts.partition ? await partitionProxy(url) : undefined;
  const ws = await workspace();
  const [second, hookPort] = await freePorts(2);
  const pages: Cluster['pages'] = [];
  const hook: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      try {
        const n = JSON.parse(body) as { action?: string; recipient?: { name?: string }; summary?: string };
        if (n.action === 'trigger') pages.push({ user: n.recipient?.name ?? '?', at: Date.now(), summary: n.summary ?? '' });
      } catch {
        /* not a notification */
      }
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => hook.listen(hookPort, '127.0.0.1', () => r()));
  let config = readFileSync(ws.config, 'utf8');
  config = config.replace('version: 1\n', `version: 1\nstore: { kind: postgres, url: $GREENLIGHT_STORE_URL, lease: ${opts.lease ?? "4s"} }\n`);
  // one long canary step, so a kill lands while the canary has traffic
  config = config.replace(/steps:\n(\s+- \{ weight: \d+, hold: \d+s \}\n)+/, `steps:\n${opts.steps ?? '        - { weight: 20, hold: 60s }\n'}`);
  config += `
alerting:
  route: { receiver: oncall, group_by: [alertname], group_wait: 0s, group_interval: 1m, repeat_interval: 1h }
  receivers:
    - name: oncall
      escalation_policy: web
      notifiers:
        - { kind: webhook, url: "http://127.0.0.1:${hookPort}/page", retry: { attempts: 1 } }
  escalation_policies:
    - name: web
      repeat: 0
      levels:
        - { users: [alice], ack_timeout: ${opts.ackTimeout ?? '8s'} }
        - { users: [carol], ack_timeout: 1h }
  users:
    - { id: alice, name: Alice }
    - { id: carol, name: Carol }
`;
  writeFileSync(ws.config, config);
  const addresses = [`127.0.0.1:${ws.ports.controller}`, `127.0.0.1:${second}`];
  const token = () => readFileSync(`${ws.dir}/.greenlight/token`, 'utf8').trim();
  const pids: (number | undefined)[] = [undefined, undefined];
  const reader = await PostgresEventLog.open(url);
  const c: Cluster = {
    ws,
    url,
    addresses,
    pages,
    pids,
    async up(i) {
      const r = await ws.cli(['up', '--detach', '--json', ...(i === 0 ? [] : ['--listen', addresses[i]!])], i === 0 && proxy ? { env: { GREENLIGHT_STORE_URL: proxy.url } } : {});
      if (r.code !== 0) throw new Error(`up ${addresses[i]} failed: ${r.stdout}${r.stderr}`);
      const pid = JSON.parse(r.stdout).pid as number;
      pids[i] = pid;
      return pid;
    },
    async status(i) {
      try {
        const res = await fetch(`http://${addresses[i]}/v1/status`, { headers: { authorization: `Bearer ${token()}` }, signal: AbortSignal.timeout(10_000) });
        return res.ok ? ((await res.json()) as ControllerStatus) : undefined;
      } catch {
        return undefined;
      }
    },
    async leaderIndex() {
      for (const i of [0, 1]) if ((await c.status(i))?.controller.role === 'leader') return i;
      return undefined;
    },
    events: (filter) => reader.query(filter),
    proxy,
    async close() {
      if (proxy) {
        // a deposed controller 0 restarts itself (new pid) and waits for the store: heal the
        // link so it comes up and can be stopped by its pid like the others
        proxy.heal();
        for (let i = 0; i < 100; i++) {
          const s = await c.status(0);
          if (s) {
            pids[0] = s.controller.pid;
            break;
          }
          await new Promise((r) => setTimeout(r, 150));
        }
      }
      // standbys first, or one would take over (and restart the routers) when the leader stops
      const leader = await c.leaderIndex();
      for (const [i, pid] of pids.entries()) {
        if (i === leader || !pid) continue;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      await new Promise((r) => setTimeout(r, 500));
      if (leader !== undefined) await ws.cli(['down', '--all'], { env: { GREENLIGHT_URL: `http://${addresses[leader]}` }, timeoutMs: 60_000 }).catch(() => undefined);
      for (const pid of pids) {
        try {
          if (pid) process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      // `down` returns once the API is gone; the controller still stops its instances after that
      const alive = (pid: number | undefined) => {
        try {
          return !!pid && (process.kill(pid, 0), true);
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 300 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
      for (const pid of pids) {
        try {
          if (pid) process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      // a test that failed with no controller leading never got its `down --all` through: the
      // routers (detached on purpose, they outlive controllers) would keep running
      const routersDir = `${ws.dir}/.greenlight/routers`;
      for (const f of existsSync(routersDir) ? readdirSync(routersDir) : []) {
        if (!f.endsWith('.json') || f.endsWith('.table.json')) continue;
        try {
          const pid = (JSON.parse(readFileSync(`${routersDir}/${f}`, 'utf8')) as { pid?: number }).pid;
          // only that router: a pid may have been reused by an unrelated process since
          const ours = pid && alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(routersDir);
          if (ours) process.kill(pid, 'SIGTERM');
        } catch {
          /* gone, or not a router record */
        }
      }
      await reader.close();
      await proxy?.close();
      hook.close();
      await ws.close({ keep: !!process.env.GREENLIGHT_KEEP_WORKSPACE });
    },
  };
  return c;
}

/** Polls fn every 100 ms until it answers, or fails naming what it waited for. */
export async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
