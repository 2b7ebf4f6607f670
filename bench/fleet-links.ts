// Part of `npm run bench:fleet`: how long a host that goes away without a word stays in rotation.
// For each fault (silent link loss: the host's end of its link down inside its namespace, no RST,
// no ICMP; a hung host: every process of its namespace SIGSTOPped), ROUNDS times: the time from
// the fault to the built-in router's health check taking the upstream out (in-process router with
// the default settings, stats polled every 2 ms), and to HAProxy's own checks marking the slot
// DOWN (Greenlight's backend section, `show stat` polled every 10 ms). Bounded: ROUNDS per fault,
// and each wait gives up after 10 s (counted as a miss).
import { spawn, type ChildProcess } from 'node:child_process';
import { createRouter } from '../src/router/router.ts';
import { DEFAULT_HEALTH_CHECK, worstDetectionMs } from '../src/router/health.ts';
import type { TestFleet } from '../src/targets/ssh/testing/netns-fleet.ts';
import { HaproxyProvider } from '../src/traffic/haproxy/provider.ts';
import { RuntimeApi } from '../src/traffic/haproxy/runtime-api.ts';
import { haproxyMissing, startHaproxy } from '../src/traffic/haproxy/testing.ts';

export interface LinkLossRow {
  fault: 'silent link loss' | 'hung host';
  provider: 'builtin' | 'haproxy';
  runs: number[];
  misses: number;
  medianMs: number | null;
  worstMs: number | null;
}

const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timeUntil(cond: () => boolean | Promise<boolean>, everyMs: number, maxMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    if (await cond()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return -1;
}

export async function measureLinkLoss(fleet: TestFleet, rounds: number): Promise<{ rows: LinkLossRow[]; settings: typeof DEFAULT_HEALTH_CHECK & { worstMs: number } }> {
  const [a, b] = fleet.hosts;
  if (!a || !b) throw new Error('the link-loss bench needs two hosts');
  // any HTTP answer is alive: a two-line server on each host's address
  const servers: ChildProcess[] = [a, b].map((h) => spawn('ip', ['netns', 'exec', h.netns, process.execPath, '-e', `require('http').createServer((q,r)=>r.end('ok')).listen(8080,'${h.address}')`], { stdio: 'ignore' }));
  const urls = [a, b].map((h) => `http://${h.address}:8080`);
  const lost = urls[1]!;
  const rows: LinkLossRow[] = [];
  const router = createRouter({ name: 'bench', healthCheck: DEFAULT_HEALTH_CHECK });
  const hap = haproxyMissing() ? undefined : await startHaproxy();
  try {
    await timeUntil(async () => (await Promise.all(urls.map((u) => fetch(u).then((r) => r.ok, () => false)))).every(Boolean), 50, 10_000);
    await router.setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: urls }] });
    const api = hap && new RuntimeApi({ socket: hap.config.socket, timeoutMs: 1000 });
    if (hap) await new HaproxyProvider(hap.config).setTable({ revision: 1, versions: [{ version: 'v1', weight: 1, upstreams: urls }] });
    const hapStatus = async () => (await api!.stat(hap!.config.backend)).find((r) => r.addr === `${b.address}:8080`)?.status ?? '';
    const builtinIn = () => router.stats().versions.v1!.upstreams[lost]!.healthy;
    for (const fault of ['silent link loss', 'hung host'] as const) {
      for (const provider of hap ? (['builtin', 'haproxy'] as const) : (['builtin'] as const)) {
        const runs: number[] = [];
        let misses = 0;
        for (let r = 0; r < rounds; r++) {
          // HAProxy's "UP 1/2" is a server going down (a check failed, during the other provider's
          // rounds): only a plain "UP" is a clean start
          const isIn = provider === 'builtin' ? async () => builtinIn() : async () => (await hapStatus()) === 'UP';
          if ((await timeUntil(isIn, 10, 10_000)) < 0) throw new Error(`${provider}: ${b.name} not in rotation before round ${r}`);
          // a random phase against the checks' schedule
          await new Promise((res) => setTimeout(res, 300 + Math.random() * DEFAULT_HEALTH_CHECK.intervalMs));
          if (fault === 'silent link loss') await fleet.loseLinkSilently(b.name);
          else fleet.freeze(b.name);
          const out = provider === 'builtin' ? async () => !builtinIn() : async () => /DOWN/.test(await hapStatus());
          const ms = await timeUntil(out, provider === 'builtin' ? 2 : 10, 10_000);
          if (ms < 0) misses++;
          else runs.push(Math.round(ms));
          if (fault === 'silent link loss') await fleet.restoreLink(b.name);
          else fleet.thaw(b.name);
        }
        const row: LinkLossRow = { fault, provider, runs, misses, medianMs: median(runs), worstMs: runs.length ? Math.max(...runs) : null };
        rows.push(row);
        console.log(`${fault}, ${provider === 'builtin' ? 'built-in router' : 'HAProxy'}: out of rotation after median ${row.medianMs} ms, worst ${row.worstMs} ms (${rounds} rounds${misses ? `, ${misses} not within 10 s` : ''}: ${runs.join(', ')})`);
      }
    }
  } finally {
    router.destroyConnections();
    await router.close();
    await hap?.stop();
    for (const s of servers) s.kill('SIGKILL');
    for (const h of [a, b]) {
      fleet.thaw(h.name);
      await fleet.restoreLink(h.name);
    }
  }
  if (!hap) console.log(`HAProxy rows skipped: ${haproxyMissing()}`);
  return { rows, settings: { ...DEFAULT_HEALTH_CHECK, worstMs: worstDetectionMs(DEFAULT_HEALTH_CHECK) } };
}
