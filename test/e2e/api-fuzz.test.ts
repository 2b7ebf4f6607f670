// Seeded, bounded fuzzing of every write endpoint of the controller's API, against a real
// controller (routers and instances as processes, alerting configured): random JSON bodies built
// from the fields the API knows plus hostile values (prototype keys, wrong types, huge numbers,
// control characters, paths like "/" or "/dev"), random path parameters (bad percent-encoding
// included), wrong content types and broken JSON. The target: no 5xx and every request answered
// within 5 s. Counts are printed: N tried, 5xx, hangs, and the status classes seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { startController } from '../../src/app/controller.ts';
import { apiRoutes } from '../../src/api/routes.ts';
import { HttpReceiver } from '../../src/alerting/notifiers/loopback-receivers.ts';
import { createWorkspace } from '../../src/demo/workspace.ts';
import { seededRandom } from '../../src/analysis/simulation.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const PER_ENDPOINT = Number(process.env.FUZZ_PER_ENDPOINT ?? 60);
const HANG_MS = 5000;

const prng = seededRandom;

const KEYS = ['service', 'version', 'artifact', 'requires', 'force', 'reason', 'environments', 'environment', 'to', 'full', 'stopAll', 'labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL', 'status', 'alerts', 'receiver', 'title', 'summary', 'severity', 'text', 'note', 'cause', 'rootCause', 'deploymentId', 'matchers', 'starts_at', 'ends_at', 'comment', 'created_by', 'ms', 'drill', 'name', 'scenario', 'kind', 'id', 'alertname', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const STRINGS = ['web', '1.0.0', '2.0.0', 'production', 'staging', '__proto__', 'constructor', 'toString', '', ' ', '/', '/dev', '/dev/zero', '/proc/self', '..', '.', 'web/v1', 'not-a-date', '2026-12-01T10:00:00Z', '0001-01-01T00:00:00Z', 'sev1', 'page', 'critical', 'alertname="x"', 'x=~"("', '%', '%zz', '\u0000', '\x1b[2J\x1b]0;t\x07', '\u202e', '😀'.repeat(50), 'a'.repeat(5000), 'NaN', '-1', '1e309', 'true', 'null', '{}', '[]'];
const NUMBERS = [0, -1, 1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1, 86_400_000, 1e15];

function value(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.35) return STRINGS[Math.floor(rnd() * STRINGS.length)];
  if (r < 0.5) return NUMBERS[Math.floor(rnd() * NUMBERS.length)];
  if (r < 0.58) return rnd() < 0.5;
  if (r < 0.64) return null;
  if (r < 0.8) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, depth + 1));
  return object(rnd, depth + 1);
}

function object(rnd: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    const k = rnd() < 0.85 ? KEYS[Math.floor(rnd() * KEYS.length)]! : STRINGS[Math.floor(rnd() * STRINGS.length)]!;
    Object.defineProperty(o, k, { value: value(rnd, depth), enumerable: true, writable: true, configurable: true });
  }
  return o;
}

function body(rnd: () => number): { text: string; type: string } {
  const r = rnd();
  const type = rnd() < 0.9 ? 'application/json' : rnd() < 0.5 ? 'text/plain' : 'application/x-www-form-urlencoded';
  if (r < 0.05) return { text: '', type };
  if (r < 0.1) return { text: '{"service": "web",', type };
  if (r < 0.13) return { text: '\u0000\u0001garbage', type };
  if (r < 0.25) return { text: JSON.stringify(Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => value(rnd, 1))), type };
  if (r < 0.3) return { text: JSON.stringify(value(rnd, 3)), type };
  return { text: JSON.stringify(object(rnd, 0)), type };
}

/** Near-valid bodies per endpoint, so the fuzz reaches past the first validation. */
let releaseCounter = 0;
function templates(artifact: string, now: number): Record<string, () => unknown> {
  return {
    '/v1/releases': () => ({ service: 'web', version: `1.0.${releaseCounter++}`, artifact }),
    '/v1/deployments': () => ({ service: 'web', version: '1.0.0' }),
    '/v1/alerts': () => [{ labels: { alertname: 'FuzzAlert', severity: 'page', service: 'web', environment: 'production' }, annotations: { summary: 'fuzz' }, startsAt: new Date(now).toISOString() }],
    '/v1/alerts/alertmanager': () => ({ version: '4', status: 'firing', receiver: 'greenlight', alerts: [{ status: 'firing', labels: { alertname: 'FuzzAM', severity: 'warning' }, annotations: { summary: 'x' }, startsAt: new Date(now).toISOString() }] }),
    '/v1/incidents': () => ({ title: 'fuzz incident', severity: 'sev3', service: 'web', environment: 'production' }),
    '/v1/incidents/:id/notes': () => ({ text: 'a note' }),
    '/v1/incidents/:id/severity': () => ({ severity: 'sev2' }),
    '/v1/incidents/:id/root-cause': () => ({ text: 'the cause' }),
    '/v1/silences': () => ({ matchers: ['alertname="FuzzAlert"'], ends_at: new Date(now + 3_600_000).toISOString(), comment: 'fuzz' }),
    '/v1/pages/:id/snooze': () => ({ ms: 60_000 }),
    '/v1/services/:service/rollback': () => ({ environment: 'production' }),
    '/v1/drills': () => ({ scenario: 'router-errors', environment: 'staging', service: 'web', reason: 'fuzz' }),
  };
}

/** One random change to a near-valid body: a field replaced, added or removed. */
function mutateBody(base: unknown, rnd: () => number): unknown {
  if (rnd() < 0.3) return base;
  const target = Array.isArray(base) ? (base[0] as Record<string, unknown>) : (base as Record<string, unknown>);
  const keys = Object.keys(target);
  const r = rnd();
  const k = keys[Math.floor(rnd() * keys.length)] ?? 'x';
  if (r < 0.5) target[k] = value(rnd, 2);
  else if (r < 0.8) Object.defineProperty(target, KEYS[Math.floor(rnd() * KEYS.length)]!, { value: value(rnd, 2), enumerable: true, writable: true, configurable: true });
  else delete target[k];
  return base;
}

/** ids seen in answers (incidents, pages, silences, deployments), used as path parameters */
const seenIds: string[] = [];
function collectIds(v: unknown, depth = 0): void {
  if (!v || typeof v !== 'object' || depth > 4 || seenIds.length > 200) return;
  for (const [k, x] of Object.entries(v)) {
    if ((k === 'id' || k.endsWith('Id')) && typeof x === 'string' && !seenIds.includes(x)) seenIds.push(x);
    else collectIds(x, depth + 1);
  }
}

function param(rnd: () => number): string {
  const r = rnd();
  if (seenIds.length && r < 0.35) return encodeURIComponent(seenIds[Math.floor(rnd() * seenIds.length)]!);
  if (r < 0.15) return '%';
  if (r < 0.2) return '%E0%A4%A';
  if (r < 0.3) return 'web';
  if (r < 0.4) return '__proto__';
  if (r < 0.45) return 'constructor';
  return encodeURIComponent(String(STRINGS[Math.floor(rnd() * STRINGS.length)])).slice(0, 300) || 'x';
}

test(`API fuzz: every write endpoint, ${PER_ENDPOINT} seeded requests each: no 5xx, no request unanswered after 5 s`, { timeout: 600_000 }, async (t) => {
  const ws = await createWorkspace({ prefix: 'gl-fuzz-' });
  const hook = await HttpReceiver.start({ ok: { status: 200, body: 'ok' } });
  appendFileSync(ws.config, `
alerting:
  route: { receiver: ops, group_by: [alertname], group_wait: 0s, group_interval: 1s }
  receivers:
    - name: ops
      notifiers: [{ kind: webhook, url: "${hook.url('/ops')}", retry: { attempts: 1 } }]
`);
  const c = await startController({ configPath: ws.config });
  t.after(async () => {
    await c.stop({ stopAll: true });
    await hook.close();
    await ws.close();
  });
  const writes = apiRoutes(c).list().filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
  assert.ok(writes.length >= 20, `found ${writes.length} write endpoints`);
  const rnd = prng(SEED);
  const counts = { tried: 0, fivexx: 0, hangs: 0, byClass: new Map<string, number>() };
  const bad: string[] = [];
  for (const route of writes) {
    if (process.env.FUZZ_VERBOSE) process.stderr.write(`${route.method} ${route.pattern} (${counts.tried} so far)\n`);
    for (let i = 0; i < PER_ENDPOINT; i++) {
      const path = route.pattern.replace(/:[a-z]+/gi, () => param(rnd));
      const tpl = templates(`${ws.dir}/web/v1`, Date.now())[route.pattern];
      const b = tpl && rnd() < 0.6 ? { text: JSON.stringify(mutateBody(tpl(), rnd)), type: 'application/json' } : body(rnd);
      counts.tried++;
      const started = Date.now();
      try {
        const res = await fetch(`${c.url}${path}`, {
          method: route.method,
          headers: { authorization: `Bearer ${c.token}`, 'content-type': b.type, 'x-greenlight-actor': 'fuzz' },
          body: b.text,
          signal: AbortSignal.timeout(HANG_MS),
        });
        const text = await res.text();
        if (res.status < 300) {
          try {
            collectIds(JSON.parse(text));
          } catch {
            /* not JSON */
          }
        }
        const cls = String(res.status);
        counts.byClass.set(cls, (counts.byClass.get(cls) ?? 0) + 1);
        if (res.status >= 500) {
          counts.fivexx++;
          if (bad.length < 10) bad.push(`${route.method} ${path} ${b.text.slice(0, 200)} -> ${res.status} ${text.slice(0, 300)}`);
        }
      } catch (err) {
        counts.hangs++;
        if (bad.length < 10) bad.push(`${route.method} ${path} ${b.text.slice(0, 200)} -> no answer after ${Date.now() - started} ms (${String((err as Error).name)})`);
      }
    }
  }
  // the bad-path cases the issue names, explicitly
  for (const [method, path] of [['GET', '/%'], ['GET', '/v1/deployments/%E0%A4%A'], ['POST', '/v1/services/%/abort']] as const) {
    counts.tried++;
    const res = await fetch(`${c.url}${path}`, { method, headers: { authorization: `Bearer ${c.token}` }, signal: AbortSignal.timeout(HANG_MS) });
    assert.equal(res.status, 400, `${method} ${path}`);
  }
  const summary = `API fuzz (seed ${SEED}): ${counts.tried} requests over ${writes.length} write endpoints; 5xx: ${counts.fivexx}; unanswered after 5 s: ${counts.hangs}; by class: ${[...counts.byClass].map(([k, v]) => `${k} ${v}`).join(', ')}`;
  t.diagnostic(summary);
  console.log(summary);
  assert.deepEqual(bad, [], summary);
  // the controller is still healthy afterwards
  assert.equal((await fetch(`${c.url}/v1/health`)).status, 200);
});
