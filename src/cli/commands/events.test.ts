// `greenlight events --follow` prints what other processes append as it is committed, for both
// stores, through the store's subscription (no polling loop in the command).
import { note } from '../../events/testing.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEventLog, type StoreSpec } from '../../store/registry.ts';
import { freshDatabase, postgresMissing } from '../../store/postgres/testing.ts';

const bin = fileURLToPath(new URL('../../../bin/greenlight.js', import.meta.url));

function workspace(store: string): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gl-follow-'));
  const config = join(dir, 'greenlight.yaml');
  writeFileSync(config, `version: 1\nstate_dir: state\nstore: ${store}\nservices:\n  web: { command: "true" }\nenvironments:\n  - { name: production, router: { listen: "127.0.0.1:9" } }\n`);
  return { dir, config };
}

async function follows(spec: StoreSpec, config: string): Promise<void> {
  const log = await openEventLog(spec);
  await log.append(note('before.follow', { actor: 'test', subject: 's' }));
  const child = spawn(process.execPath, ['--no-warnings', bin, 'events', '--follow', '--json', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const lines = () => out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { data: { text: string } }).data.text);
  const until = async (pred: () => boolean, what: string) => {
    for (let i = 0; i < 1000 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(pred(), `${what}; stdout: ${out} stderr: ${err}`);
  };
  try {
    await until(() => lines().includes('before.follow'), 'the existing event is printed first');
    await log.append(note('after.follow', { actor: 'test', subject: 's' }));
    await log.appendAll([note('batch.one', { actor: 'test', subject: 's' }), note('batch.two', { actor: 'test', subject: 's' })]);
    await until(() => lines().length >= 4, 'the new events are printed as they are committed');
    assert.deepEqual(lines(), ['before.follow', 'after.follow', 'batch.one', 'batch.two']);
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    await log.close();
  }
}

test('events --follow on SQLite prints another process\'s appends', async () => {
  const ws = workspace('{ kind: sqlite }');
  await follows({ kind: 'sqlite', file: join(ws.dir, 'state', 'events.db') }, ws.config);
});

const pgSkip = postgresMissing();
test('events --follow on PostgreSQL prints another process\'s appends (LISTEN/NOTIFY)', pgSkip ? { skip: pgSkip } : {}, async () => {
  const url = await freshDatabase();
  const ws = workspace(`{ kind: postgres, url: "${url}" }`);
  await follows({ kind: 'postgres', url }, ws.config);
});

test('events --limit / logs -n that is not a whole number is a usage error naming the option (--limit reached the store as "datatype mismatch", -n fell back to 50)', async () => {
  const ws = workspace('{ kind: sqlite }');
  const log = await openEventLog({ kind: 'sqlite', file: join(ws.dir, 'state', 'events.db') });
  await log.append(note('one', { actor: 'test', subject: 's' }));
  await log.close();
  for (const bad of ['abc', '-5', '0', '2.5']) {
    const r = spawnSync(process.execPath, ['--no-warnings', bin, 'events', '--limit', bad, '--config', ws.config], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, `--limit ${bad}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /option '--limit <n>' argument .* is invalid\. expected a whole number from 1/);
    assert.doesNotMatch(r.stderr, /datatype mismatch|at SqliteEventLog/);
  }
  const logs = spawnSync(process.execPath, ['--no-warnings', bin, 'logs', 'web', '--env', 'production', '-n', 'abc', '--config', ws.config], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(logs.status, 2);
  assert.match(logs.stderr, /option '-n, --lines <n>' argument 'abc' is invalid/, 'greenlight logs -n abc was read as the default 50');
  const ok = spawnSync(process.execPath, ['--no-warnings', bin, 'events', '--limit', '1', '--json', '--config', ws.config], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.trim().split('\n').length, 1);
});
