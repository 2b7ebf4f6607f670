// The record that cannot be rewritten unnoticed, on the real CLI and controller: the head goes to a
// webhook, a break-glass is rewritten with a raw SQLite connection (triggers dropped), `audit verify`
// names the event, the controller refuses to start and says what to do, and starts again once a
// person accepted the break (which stays on record).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { workspace } from './workspace.ts';

test('audit: head webhook, tampering found by verify, the controller refuses a broken chain until it is accepted', { timeout: 180_000 }, async (t) => {
  const heads: { seq: number; hash: string; auth: string | undefined }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      heads.push({ ...(JSON.parse(body) as { seq: number; hash: string }), auth: req.headers.authorization });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => receiver.close(() => r())));
  process.env.HEAD_TOKEN = 'Bearer head-secret'; // the CLI's children inherit it (read when the workspace is made)
  const ws = await workspace();
  t.after(() => ws.close());
  appendFileSync(ws.config, `\naudit:\n  head_webhook:\n    url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/heads/secret-path\n    every: 1h\n    headers: { authorization: { env: HEAD_TOKEN } }\n`);

  const up = await ws.cli(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal((await ws.cli(['release', 'web', '1.0.0', '--artifact', 'web/v1'])).code, 0);
  // a break-glass: the event someone would want to rewrite
  const forced = await ws.cli(['deploy', 'web@1.0.0', '--force', '--reason', 'hotfix', '--env', 'production']);
  assert.equal(forced.code, 0, forced.stdout + forced.stderr);
  assert.equal(heads.length >= 1, true, 'the head was sent at start');
  assert.equal(heads[0]!.auth, 'Bearer head-secret', 'the header secret came from the environment variable');
  assert.equal((await ws.cli(['down'])).code, 0);

  const verified = await ws.cli(['audit', 'verify']);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /✓ chain intact: \d+ event\(s\)/);
  const headOut = join(ws.dir, 'head.json');
  const head = await ws.cli(['audit', 'head', '--out', headOut]);
  assert.equal(head.code, 0);
  assert.match(head.stdout, /^\d+:[0-9a-f]{64}\n$/);
  assert.equal((await ws.cli(['audit', 'verify', '--anchor', `${heads[0]!.seq}:${heads[0]!.hash}`])).code, 0, 'the head the webhook received is part of the log');

  // rewrite who broke the glass, as someone with the file could
  const db = new DatabaseSync(join(ws.dir, '.greenlight', 'events.db'));
  db.exec('DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete;');
  const row = db.prepare("SELECT seq FROM events WHERE type = 'deployment.gate.overridden' ORDER BY seq LIMIT 1").get() as { seq: number } | undefined;
  assert.ok(row, 'the forced deploy recorded a gate.overridden event');
  db.prepare("UPDATE events SET actor = 'user:nobody' WHERE seq = ?").run(row.seq);
  db.close();

  const broken = await ws.cli(['audit', 'verify']);
  assert.equal(broken.code, 1);
  assert.match(broken.stdout, new RegExp(`✗ chain broken \\(changed\\): event seq ${row.seq} \\(deployment\\.gate\\.overridden, id [0-9a-f-]+\\) was changed`));
  const json = JSON.parse((await ws.cli(['audit', 'verify', '--json'])).stdout);
  assert.deepEqual([json.ok, json.problem.kind, json.problem.seq], [false, 'changed', row.seq]);

  const refused = await ws.cli(['up'], { timeoutMs: 30_000 });
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, new RegExp(`refuses to start: the hash chain of .*events\\.db is broken: event seq ${row.seq} \\(deployment\\.gate\\.overridden`));
  assert.match(refused.stderr, /hint: .*restore events\.db from a backup.*greenlight audit accept --reason/);

  const accepted = await ws.cli(['audit', 'accept', '--reason', 'investigated: test of the tamper evidence']);
  assert.equal(accepted.code, 0, accepted.stderr);
  const again = await ws.cli(['audit', 'verify']);
  assert.equal(again.code, 0, again.stdout);
  assert.match(again.stdout, /a break was accepted at seq \d+ by local:\S+ .*was changed.*; reason: investigated/);
  assert.equal((await ws.cli(['up', '--detach'])).code, 0, 'the controller starts once the break is accepted');
  const log = readFileSync(join(ws.dir, '.greenlight', 'controller.log'), 'utf8');
  assert.match(log, /audit chain intact: .*break accepted at seq \d+ by local:/);
  assert.doesNotMatch(log, /head-secret|secret-path/, 'neither the header secret nor the webhook path is logged');
});
