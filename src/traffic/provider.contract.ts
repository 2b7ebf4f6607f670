// The one contract every traffic provider passes (the built-in router, HAProxy with cookie or hash
// stickiness): real upstreams on loopback, real HTTP clients that keep their cookies, the provider
// driven only through its TrafficProvider interface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { GreenlightError } from '../errors/errors.ts';
import { CookieJar, startUpstream, type TestUpstream } from '../router/testing.ts';
import { sampleSince } from '../rollout/samples.ts';
import type { RouterStats } from '../router/stats.ts';
import type { RoutingTable } from '../router/table.ts';
import type { TrafficProvider } from './provider.ts';

export interface ContractSubject {
  provider: TrafficProvider;
  close(): Promise<void>;
}

const STABLE = '1.0.0';
const CANARY = '2.0.0';

/** An upstream that answers as a version would: /fail answers 500, /slow waits 60 ms. */
function versionUpstream(version: string): Promise<TestUpstream> {
  return startUpstream(version, (req, res) => {
    req.resume();
    req.on('end', () => {
      const send = () => {
        res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'text/plain', 'x-served-by': version });
        res.end(version);
      };
      if (req.url === '/slow') setTimeout(send, 60);
      else send();
    });
  });
}

interface Answer {
  status: number;
  /** who answered: the upstream's own header, so the test does not trust the provider's */
  servedBy: string;
}

function get(url: string, jar?: CookieJar, agent?: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const cookie = jar?.header();
    const req = http.get(url, { agent: agent ?? false, headers: cookie ? { cookie } : {}, timeout: 10_000 }, (res) => {
      jar?.take(res.headers['set-cookie']);
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, servedBy: String(res.headers['x-served-by'] ?? '') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

function quantileMs(s: RouterStats, then: RouterStats, version: string, q: number): number {
  const { latency } = sampleSince(s, then, version);
  const total = latency.counts.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < latency.counts.length; i++) {
    seen += latency.counts[i]!;
    if (seen >= q * total) return latency.boundsMs[i] ?? Infinity;
  }
  return NaN;
}

export function trafficProviderContract(name: string, make: () => Promise<ContractSubject>, opts: { skip?: string } = {}): void {
  const it = (title: string, fn: (t: { subject: ContractSubject; stable: TestUpstream[]; canary: TestUpstream[]; table: (rev: number, canaryWeight: number, canaryUps?: TestUpstream[]) => RoutingTable }) => Promise<void>) =>
    test(`${name}: ${title}`, { timeout: 60_000, ...(opts.skip ? { skip: opts.skip } : {}) }, async () => {
      const subject = await make();
      const stable = [await versionUpstream(STABLE), await versionUpstream(STABLE)];
      const canary = [await versionUpstream(CANARY)];
      const table = (revision: number, canaryWeight: number, canaryUps = canary): RoutingTable => ({
        revision,
        versions: [
          { version: STABLE, weight: 100 - canaryWeight, upstreams: stable.map((u) => u.url) },
          { version: CANARY, weight: canaryWeight, upstreams: canaryUps.map((u) => u.url) },
        ],
      });
      try {
        await fn({ subject, stable, canary, table });
      } finally {
        await subject.close();
        for (const u of [...stable, ...canary]) await u.close();
      }
    });

  it('a split is applied and read back; an older revision is refused', async ({ subject, table }) => {
    const p = subject.provider;
    const t = table(5, 10);
    await p.setTable(t);
    assert.deepEqual(await p.getTable(), t);
    // the same table again is accepted (a controller repeating itself after a timeout)
    await p.setTable(t);
    await assert.rejects(p.setTable(table(4, 50)), (e: unknown) => e instanceof GreenlightError && e.code === 'CONFLICT');
    await assert.rejects(p.setTable({ revision: 6, versions: [{ version: 'bad name', weight: 1, upstreams: [] }] }), (e: unknown) => e instanceof GreenlightError && e.code === 'CONFIG_INVALID');
    assert.deepEqual(await p.getTable(), t);
  });

  it('new clients are split by the weights, within tolerance', async ({ subject, table }) => {
    await subject.provider.setTable(table(1, 20));
    const n = 500;
    let canary = 0;
    for (let i = 0; i < n; i++) {
      const a = await get(`${subject.provider.url}/`, new CookieJar());
      assert.equal(a.status, 200);
      if (a.servedBy === CANARY) canary++;
    }
    // 20% of 500 = 100 expected; +-50 holds for any fair split (binomial sd ~9) and a coarse hash ring
    assert.ok(canary >= 50 && canary <= 150, `canary got ${canary} of ${n} new clients at weight 20`);
  });

  it('a returning client keeps its version while the weight holds, and moves only stable -> canary as it rises', async ({ subject, table }) => {
    const p = subject.provider;
    await p.setTable(table(1, 10));
    const clients = Array.from({ length: 150 }, () => new CookieJar());
    const first: string[] = [];
    for (const jar of clients) first.push((await get(`${p.url}/`, jar)).servedBy);
    assert.ok(first.includes(STABLE) && first.includes(CANARY), 'both versions got clients');
    for (let round = 0; round < 2; round++) {
      for (const [i, jar] of clients.entries()) assert.equal((await get(`${p.url}/`, jar)).servedBy, first[i], `client ${i} changed version at a steady weight`);
    }
    await p.setTable(table(2, 50));
    let moved = 0;
    for (const [i, jar] of clients.entries()) {
      const now = (await get(`${p.url}/`, jar)).servedBy;
      if (first[i] === CANARY) assert.equal(now, CANARY, `client ${i} went back from the canary to stable while the canary weight rose`);
      if (now !== first[i]) moved++;
      // and it stays where it went
      assert.equal((await get(`${p.url}/`, jar)).servedBy, now);
    }
    // a cookie-pinned client never moves while its version has weight; a hash moves some: both are fine
    assert.ok(moved <= clients.length);
  });

  it('rollback: weight 0 moves every canary client to stable without an error', async ({ subject, table }) => {
    const p = subject.provider;
    await p.setTable(table(1, 50));
    const clients = Array.from({ length: 60 }, () => new CookieJar());
    const onCanary: CookieJar[] = [];
    for (const jar of clients) if ((await get(`${p.url}/`, jar)).servedBy === CANARY) onCanary.push(jar);
    assert.ok(onCanary.length > 0, 'some clients were on the canary');
    await p.setTable(table(2, 0));
    for (const jar of clients) {
      const a = await get(`${p.url}/`, jar);
      assert.equal(a.status, 200);
      assert.equal(a.servedBy, STABLE);
    }
  });

  it('per-version counts, errors and latency are read back', async ({ subject, table }) => {
    const p = subject.provider;
    await p.setTable(table(1, 50));
    const before = await p.stats();
    const seen = new Map<string, { ok: number; failed: number }>();
    let canaryClients = 0;
    for (let i = 0; i < 80; i++) {
      const jar = new CookieJar();
      const a = await get(`${p.url}/`, jar);
      const path = a.servedBy === CANARY ? (canaryClients++ % 2 ? '/fail' : '/slow') : '/';
      const b = await get(`${p.url}${path}`, jar);
      const c = seen.get(b.servedBy) ?? { ok: 0, failed: 0 };
      if (b.status >= 500) c.failed++;
      else c.ok++;
      seen.set(b.servedBy, c);
      const c0 = seen.get(a.servedBy) ?? { ok: 0, failed: 0 };
      c0.ok++;
      seen.set(a.servedBy, c0);
    }
    const after = await p.stats();
    for (const v of [STABLE, CANARY]) {
      const sample = sampleSince(after, before, v);
      const want = seen.get(v)!;
      assert.equal(sample.requests, want.ok + want.failed, `${v}: requests`);
      assert.equal(sample.errors, want.failed, `${v}: errors`);
      assert.equal(sample.latency.counts.reduce((a, b) => a + b, 0), want.ok + want.failed, `${v}: latency counts`);
    }
    assert.ok(seen.get(CANARY)!.failed > 0);
    assert.equal(after.versions[CANARY]!.weight, 50);
    // a quarter of the canary's requests waited 60 ms: its latency reads higher than stable's
    assert.ok(quantileMs(after, before, CANARY, 0.9) > quantileMs(after, before, STABLE, 0.9), 'canary reads slower than stable');
  });

  it('no request fails while weights change and the canary instance is replaced', async ({ subject, table, canary }) => {
    const p = subject.provider;
    await p.setTable(table(1, 0));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const replacement = await versionUpstream(CANARY);
    let stop = false;
    let sent = 0;
    const failures: string[] = [];
    const worker = async () => {
      const jar = new CookieJar();
      // bounded: at most 2000 requests per worker, and the steps below end it
      for (let i = 0; i < 2000 && !stop; i++) {
        sent++;
        try {
          const a = await get(`${p.url}/`, jar, agent);
          if (a.status !== 200) failures.push(`status ${a.status}`);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());
    const pause = () => new Promise((r) => setTimeout(r, 150));
    try {
      let rev = 2;
      for (const w of [1, 10, 50, 100]) {
        await pause();
        await p.setTable(table(rev++, w));
      }
      await pause();
      // the canary's instance is replaced (another port) at full weight, then the rollout goes back
      await p.setTable(table(rev++, 100, [canary[0]!, replacement]));
      await pause();
      await p.setTable(table(rev++, 100, [replacement]));
      await pause();
      await p.setTable(table(rev++, 0, [replacement]));
      await pause();
    } finally {
      stop = true;
      await Promise.all(workers);
      agent.destroy();
      await replacement.close();
    }
    assert.ok(sent > 50, `only ${sent} requests were sent`);
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
  });
}
