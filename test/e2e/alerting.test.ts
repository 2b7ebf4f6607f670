// Alerting through a real controller: an alert arrives on the Alertmanager webhook endpoint, opens
// an incident, pages the on-call person through a signed webhook, escalates when nobody answers,
// and stops when the signed "acknowledge" link in the page is used; all of it on the incident.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyWebhook } from '../../src/alerting/notifiers/webhook/webhook.ts';
import { workspace } from './workspace.ts';

interface Page { action: string; summary: string; incidentId: string | null; recipient: { name: string } | null; links: { acknowledge?: string } }

test('an external alert opens an incident, pages alice, escalates to bob, and a signed link acknowledges it', { timeout: 120_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  const pages: Page[] = [];
  const receiver = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ok = verifyWebhook({ secret: 'hook-secret', timestamp: req.headers['x-greenlight-timestamp'] as string, signature: req.headers['x-greenlight-signature'] as string, rawBody: body, now: Date.now() });
      res.writeHead(ok.ok ? 200 : 401).end();
      if (ok.ok) pages.push(JSON.parse(body));
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  t.after(() => receiver.close());
  const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/pages`;
  appendFileSync(
    ws.config,
    `
alerting:
  route:
    receiver: oncall
    group_by: [alertname, environment]
    group_wait: 0s
  receivers:
    - name: oncall
      escalation_policy: web
      notifiers:
        - { kind: webhook, url: "${hook}", secret: hook-secret, timeout: 2s }
  escalation_policies:
    - name: web
      levels:
        - { users: [alice], ack_timeout: 2s }
        - { users: [bob], ack_timeout: 60s }
  users:
    - { id: alice, name: Alice }
    - { id: bob, name: Bob }
  action_links:
    base_url: "http://127.0.0.1:${ws.ports.controller}/v1/action"
    secret: link-secret-of-at-least-16-chars
    ttl: 1h
`,
  );
  const v = await ws.cli(['validate']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  const token = readFileSync(join(ws.dir, '.greenlight/token'), 'utf8').trim();
  const now = new Date().toISOString();
  const res = await fetch(`http://127.0.0.1:${ws.ports.controller}/v1/alerts/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      version: '4', status: 'firing', receiver: 'greenlight', groupKey: 'k', truncatedAlerts: 0, externalURL: 'http://am', groupLabels: {}, commonLabels: {}, commonAnnotations: {},
      alerts: [{ status: 'firing', labels: { alertname: 'HighErrorRate', service: 'web', environment: 'production', severity: 'page' }, annotations: { summary: 'web 5xx above 5%' }, startsAt: now, endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom', fingerprint: 'abc' }],
    }),
  });
  assert.ok(res.ok, await res.text());

  const waitFor = async (what: string, cond: () => boolean, ms = 20_000) => {
    for (const until = Date.now() + ms; !cond(); ) {
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}; pages: ${JSON.stringify(pages.map((p) => [p.action, p.recipient?.name]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitFor('alice to be paged', () => pages.some((p) => p.recipient?.name === 'Alice'));
  await waitFor('the escalation to bob', () => pages.some((p) => p.recipient?.name === 'Bob'));
  const toBob = pages.find((p) => p.recipient?.name === 'Bob')!;
  assert.ok(toBob.incidentId, 'the page names its incident');
  assert.match(toBob.summary, /HighErrorRate|5xx above 5%/);

  // the signed link: GET shows a confirmation page (link previews cannot acknowledge), POST acts
  const link = toBob.links.acknowledge!;
  assert.ok(link.startsWith(`http://127.0.0.1:${ws.ports.controller}/v1/action/pages/`), link);
  const preview = await fetch(link);
  assert.equal(preview.status, 200);
  const ack = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
  assert.equal(ack.status, 200, await ack.text());
  const forged = link.replace(/sig=([^&]+)/, (_m, sig: string) => `sig=${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`);
  const tampered = await fetch(forged.replace('/acknowledge?', '/resolve?'), { method: 'POST' });
  assert.equal(tampered.status, 403);

  const list = JSON.parse((await ws.cli(['page', 'list', '--json'])).stdout) as { pages: { state: string }[] };
  assert.deepEqual(list.pages.map((p) => p.state), ['acknowledged']);
  const incident = JSON.parse((await ws.cli(['incident', 'show', toBob.incidentId!, '--json'])).stdout);
  const text = JSON.stringify(incident);
  assert.match(text, /acknowledged/);
  for (const type of ['page.sent', 'page.escalated', 'page.acknowledged']) assert.match(text, new RegExp(type.replace('.', '\\.')), `${type} on the incident`);
});
