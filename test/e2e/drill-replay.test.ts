// `greenlight drill from-incident`: the 3 June outage is recorded for real (web@2.0.0 forced into
// production against acme-auth 2.4.1: canary fails, rollback, incident, diagnosis), a scenario is
// derived from that incident, and running it in staging reproduces the same failure through the
// same verdict path, on the real rollout machinery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { steadyClient, workspace } from './workspace.ts';

const STAGING_ROLLOUT = `    rollout:
      steps:
        - { weight: 10, hold: 5s }
        - { weight: 50, hold: 5s }
      min_requests: 10
      interval: 100ms
`;

test('a drill derived from a recorded incident reproduces its failure through the same verdict path', { timeout: 300_000 }, async (t) => {
  const ws = await workspace();
  const clients: ReturnType<typeof steadyClient>[] = [];
  t.after(async () => {
    for (const c of clients) await c.stop();
    await ws.close();
  });
  await ws.setAuthVersion('staging', '3.1.0');
  writeFileSync(ws.config, readFileSync(ws.config, 'utf8').replace('    checks: [compatibility, smoke]\n', `    checks: [compatibility, smoke]\n${STAGING_ROLLOUT}`));
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  for (const v of ['1.0.0', '2.0.0']) assert.equal((await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`])).code, 0);
  assert.equal((await ws.cli(['deploy', 'web@1.0.0'])).code, 0);

  // the outage, recorded: forced into production, where acme-auth is 2.4.1
  clients.push(steadyClient(`http://127.0.0.1:${ws.ports.production}/`, { everyMs: 5 }));
  const forced = await ws.cli(['deploy', 'web@2.0.0', '--env', 'production', '--force', '--reason', 'untested, as on 3 June']);
  assert.equal(forced.code, 1, `${forced.stdout}${forced.stderr}`);
  const incidents = JSON.parse((await ws.cli(['incident', 'list', '--json'])).stdout) as { incidents: { id: string; trigger: string; environment: string }[] };
  const original = incidents.incidents.find((i) => i.trigger === 'rollback' && i.environment === 'production')!;
  assert.ok(original, JSON.stringify(incidents));

  mkdirSync(join(ws.dir, 'drills'));
  const derived = await ws.cli(['drill', 'from-incident', original.id, '--out', 'drills/replay.yaml']);
  assert.equal(derived.code, 0, derived.stderr);
  const scenario = parse(readFileSync(join(ws.dir, 'drills/replay.yaml'), 'utf8')) as {
    deploy: { version: string };
    faults: { kind: string; share?: number; after?: string; dependency?: string; report?: string }[];
    cause: { match: string[] };
    origin: { incident: string; verdict_path: string[] };
  };
  assert.equal(scenario.deploy.version, '2.0.0');
  const errors = scenario.faults.find((f) => f.kind === 'error')!;
  assert.ok(errors.share! > 0.9, `the canary's measured failure share: ${errors.share}`);
  assert.deepEqual(scenario.faults.find((f) => f.kind === 'dependency'), { kind: 'dependency', after: 'failure', at: '0s', dependency: 'acme-auth', report: '2.4.1' });
  assert.deepEqual(scenario.cause.match, ['acme-auth']);
  assert.deepEqual(scenario.origin.verdict_path.slice(0, 2), ['analysis:fail', 'canary:weight-zero']);
  assert.ok(scenario.origin.verdict_path.includes('check:compatibility:diagnosis:fail'), scenario.origin.verdict_path.join(' '));

  // the replay, in staging, where acme-auth is really 3.1.0: only the drill's faults make it fail
  clients.push(steadyClient(`http://127.0.0.1:${ws.ports.staging}/`, { everyMs: 5 }));
  const run = await ws.cli(['drill', 'run', 'drills/replay.yaml', '--env', 'staging', '--participants', 'alice', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const drillId = (JSON.parse(run.stdout) as { drill: { id: string } }).drill.id;
  let incidentId: string | null = null;
  for (const until = Date.now() + 90_000; incidentId === null; ) {
    assert.ok(Date.now() < until, 'the drill never opened its incident');
    await new Promise((r) => setTimeout(r, 300));
    incidentId = (JSON.parse((await ws.cli(['drill', 'status', '--json'])).stdout) as { running: { incidentId: string | null } | null }).running?.incidentId ?? null;
  }
  // the automatic rollback mitigated it; the drill waits for the diagnosis
  const rc = await ws.cli(['incident', 'root-cause', incidentId, 'acme-auth reports 2.4.1, too old for web 2.0.0'], { actor: 'alice' });
  assert.equal(rc.code, 0, rc.stderr);
  let card: { outcome: string | null; mitigation: string | null; passed: boolean; misses: string[] } | undefined;
  for (const until = Date.now() + 60_000; card?.outcome == null; ) {
    assert.ok(Date.now() < until, 'the drill did not end');
    await new Promise((r) => setTimeout(r, 300));
    card = (JSON.parse((await ws.cli(['drill', 'scorecard', drillId, '--json'])).stdout) as { scorecard: typeof card }).scorecard;
  }
  assert.equal(card!.outcome, 'mitigated');
  assert.equal(card!.mitigation, 'rollback');

  const replayed = parse((await ws.cli(['drill', 'from-incident', incidentId])).stdout) as { origin: { verdict_path: string[] } };
  assert.deepEqual(replayed.origin.verdict_path, scenario.origin.verdict_path, 'the same verdict path as the recorded incident');
});
