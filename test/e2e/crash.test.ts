// The crash test: a client under bounded load against production while the controller is killed
// with SIGKILL at each phase of a rollout (every canary step, the promotion, the verification
// window after the switch, the drain window after the new stable version was recorded) and
// started again. For every kill: 0 client failures, 0 orphan instance processes, the outcome is
// the one the log implies (promoted once environment.stable.changed was recorded, back on the
// old stable version before), and the log has no gap or reused sequence number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredEvent } from '../../src/events/log.ts';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.ts';
import { steadyClient, workspace } from './workspace.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Phase = { name: string; at: (e: StoredEvent, id: string, seen: StoredEvent[]) => boolean };
const prod = (e: StoredEvent) => e.data.environment === 'production';
const phases: Phase[] = [
  { name: 'canary step 1', at: (e) => e.type === 'rollout.step.started' && prod(e) && e.data.weight === 10 },
  { name: 'canary step 2', at: (e) => e.type === 'rollout.step.started' && prod(e) && e.data.weight === 30 },
  { name: 'canary step 3', at: (e) => e.type === 'rollout.step.started' && prod(e) && e.data.weight === 60 },
  { name: 'promotion', at: (e) => e.type === 'rollout.promoted' && prod(e) },
  { name: 'verification after the switch', at: (e) => e.type === 'router.switched' && prod(e) },
  { name: 'drain window after environment.stable.changed', at: (e) => e.type === 'environment.stable.changed' && prod(e) },
];

/** pids of processes whose working directory is inside the artifacts: the instances, wherever they came from */
function instanceProcesses(artifacts: string): Set<number> {
  const out = new Set<number>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readlinkSync(`/proc/${p}/cwd`).startsWith(artifacts)) out.add(Number(p));
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}

test('crash test: controller kill -9 at every phase of a rollout, under load', { timeout: 900_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  // short steps so every phase comes within seconds; enough canary traffic for min_requests
  writeFileSync(
    ws.config,
    readFileSync(ws.config, 'utf8')
      .replace('- { weight: 1, hold: 5s }', '- { weight: 10, hold: 1500ms }')
      .replace('- { weight: 10, hold: 5s }', '- { weight: 30, hold: 1500ms }')
      .replace('- { weight: 50, hold: 5s }', '- { weight: 60, hold: 1500ms }')
      .replace('min_requests: 10', 'min_requests: 3'),
  );
  await ws.setAuthVersion('staging', '3.1.0');
  await ws.setAuthVersion('production', '3.1.0');
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  for (const v of ['1.0.0', '2.0.0']) assert.equal((await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`])).code, 0);
  assert.equal((await ws.cli(['deploy', 'web@1.0.0'])).code, 0);
  const logFile = join(ws.dir, '.greenlight/events.db');
  const artifacts = join(ws.dir, '.greenlight/artifacts');
  const reader = new SqliteEventLog(logFile, undefined, { readOnly: true });
  t.after(() => reader.close());
  const status = async () => JSON.parse((await ws.cli(['status', '--json'])).stdout) as any;

  const client = steadyClient(`http://127.0.0.1:${ws.ports.production}/`, { everyMs: 8, maxMs: 800_000, maxRequests: 200_000 });
  const results: string[] = [];
  let stable = '1.0.0';
  for (const phase of phases) {
    const next = stable === '1.0.0' ? '2.0.0' : '1.0.0';
    const startSeq = await reader.lastSeq();
    const started = await ws.cli(['deploy', `web@${next}`, '--no-follow']);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    // watch the log and kill the controller the moment the phase's event is recorded
    const pid = (await status()).controller.pid as number;
    let hit: StoredEvent | undefined;
    const seen: StoredEvent[] = [];
    for (let i = 0; i < 6000 && !hit; i++) {
      for (const e of await reader.query({ afterSeq: seen.at(-1)?.seq ?? startSeq })) {
        seen.push(e);
        if (e.data.deploymentId === id && phase.at(e, id, seen)) hit = e;
        if (e.data.deploymentId === id && /^deployment\.(promoted|failed|rolled_back|blocked|aborted)$/.test(e.type)) break;
      }
      if (!hit) await sleep(5);
    }
    assert.ok(hit, `phase "${phase.name}" of ${id} was reached`);
    process.kill(pid, 'SIGKILL');
    await sleep(1500); // the data plane alone serves meanwhile
    const up = await ws.cli(['up', '--detach']);
    assert.equal(up.code, 0, up.stderr);

    // outcome consistent with the log
    let dep: any;
    for (let i = 0; i < 200; i++) {
      dep = (await status()).deployments.find((d: { id: string }) => d.id === id);
      if (dep && dep.state !== 'running') break;
      await sleep(100);
    }
    const log = await reader.query({});
    const changed = log.some((e) => e.type === 'environment.stable.changed' && e.data.deploymentId === id && prod(e));
    const expected = changed ? next : stable;
    assert.equal(dep.state, changed ? 'promoted' : 'failed', `${phase.name}: ${dep.reason}`);
    await sleep(2500); // recovery's drain, then old instances stop
    const s = await status();
    const production = s.environments.find((e: { name: string }) => e.name === 'production').services[0];
    assert.equal(production.stable.version, expected, phase.name);
    assert.deepEqual(production.router.table.versions.filter((v: { weight: number }) => v.weight > 0).map((v: { version: string }) => v.version), [expected], phase.name);
    const listed = s.environments.flatMap((e: any) => e.services[0].instances).filter((i: any) => i.state !== 'stopped');
    assert.deepEqual([...new Set(listed.filter((i: any) => i.environment === 'production').map((i: any) => i.version))], [expected], `${phase.name}: only ${expected} runs in production`);
    // 0 orphans: every instance process on the machine is one the controller lists
    const procs = instanceProcesses(artifacts);
    const known = new Set(listed.map((i: any) => i.pid as number));
    const orphans = [...procs].filter((p) => !known.has(p));
    assert.deepEqual(orphans, [], `${phase.name}: orphan instance processes`);
    // count(events) == max(seq)
    assert.equal(log.length, log.at(-1)!.seq, `${phase.name}: count(events) == max(seq)`);
    results.push(`${phase.name}: ${dep.state}, production on ${expected}, ${procs.size} instance processes all listed, ${log.length} events = max seq`);
    stable = expected;
  }
  await client.stop();
  const summary = `crash test: ${phases.length} kills; client ${client.seen.requests} requests, ${client.seen.failed} failed`;
  t.diagnostic(summary);
  for (const r of results) t.diagnostic(r);
  console.log([summary, ...results].join('\n'));
  assert.equal(client.seen.failed, 0, client.seen.failures.join(' | '));
});
