// Every API route x every role, on a real controller: allowed (anything but 401/403) or 403 naming
// the missing permission. The routes are enumerated from the controller's own router, and the
// expected table below must name exactly those routes: a route added without a decision fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { startController, type Controller } from './controller.ts';
import { createWorkspace, type DemoWorkspace } from '../demo/workspace.ts';
import { apiRoutes } from '../api/routes.ts';
import { ROUTE_PERMISSIONS, routeKey } from '../api/permissions.ts';

const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
type Role = (typeof ROLES)[number];
const ALL: Role[] = [...ROLES];
const DEPLOY: Role[] = ['deployer', 'admin'];
const MANAGE: Role[] = ['deployer', 'approver', 'admin'];
const ADMIN: Role[] = ['admin'];

/** who may call each route with the default roles; bodies chosen so a passed check fails later (400/404) without side effects */
const EXPECTED: Record<string, { allowed: Role[]; body?: unknown; public?: true }> = {
  'GET /v1/health': { allowed: ALL, public: true },
  'GET /': { allowed: ALL, public: true },
  'GET /ui': { allowed: ALL, public: true },
  'GET /ui/:file': { allowed: ALL, public: true },
  'GET /ui/panels/:file': { allowed: ALL, public: true },
  'GET /ui/uplot.js': { allowed: ALL, public: true },
  'GET /ui/uplot.css': { allowed: ALL, public: true },
  'GET /v1/action/pages/:id/:action': { allowed: ALL, public: true },
  'POST /v1/action/pages/:id/:action': { allowed: ALL, public: true },
  'GET /v1/action/approvals/:id/:environment': { allowed: ALL, public: true },
  'GET /v1/status': { allowed: ALL },
  'GET /v1/whoami': { allowed: ALL },
  'GET /v1/releases': { allowed: ALL },
  'POST /v1/releases': { allowed: DEPLOY, body: {} },
  'GET /v1/deployments': { allowed: ALL },
  'GET /v1/deployments/:id': { allowed: ALL },
  'GET /v1/deployments/:id/series': { allowed: ALL },
  'POST /v1/deployments': { allowed: DEPLOY, body: { service: 'nope', version: '0.0.0' } },
  'POST /v1/changes': { allowed: DEPLOY, body: { change: 'nope' } },
  'POST /v1/inventory': { allowed: DEPLOY, body: {} },
  'POST /v1/deployments/:id/approve': { allowed: ['approver', 'admin'], body: {} },
  'POST /v1/approvals/link': { allowed: ['approver', 'admin'], body: { environment: 'production' } },
  'POST /v1/deployments/:id/reject': { allowed: ['approver', 'admin'], body: {} },
  'POST /v1/services/:service/abort': { allowed: DEPLOY },
  'POST /v1/services/:service/pause': { allowed: DEPLOY },
  'POST /v1/services/:service/resume': { allowed: DEPLOY },
  'POST /v1/services/:service/promote': { allowed: DEPLOY },
  'POST /v1/services/:service/rollback': { allowed: DEPLOY, body: {} },
  'POST /v1/shutdown': { allowed: ADMIN, body: {} },
  'GET /v1/events': { allowed: ALL },
  'GET /v1/events/stream': { allowed: ALL },
  'GET /v1/events/catalogue': { allowed: ALL },
  'GET /v1/users': { allowed: ADMIN },
  'POST /v1/users': { allowed: ADMIN, body: { name: 'Not Valid', roles: ['viewer'] } },
  'POST /v1/users/:name/roles': { allowed: ADMIN, body: { roles: ['viewer'] } },
  'POST /v1/users/:name/tokens': { allowed: ADMIN, body: {} },
  'POST /v1/tokens/:id/revoke': { allowed: ADMIN, body: {} },
  'GET /v1/incidents': { allowed: ALL },
  'GET /v1/incidents/:id': { allowed: ALL },
  'GET /v1/incidents/:id/postmortem': { allowed: ALL },
  'POST /v1/incidents': { allowed: MANAGE, body: {} },
  'POST /v1/incidents/:id/acknowledge': { allowed: MANAGE },
  'POST /v1/incidents/:id/mitigate': { allowed: MANAGE },
  'POST /v1/incidents/:id/resolve': { allowed: MANAGE },
  'POST /v1/incidents/:id/notes': { allowed: MANAGE, body: {} },
  'POST /v1/incidents/:id/root-cause': { allowed: MANAGE, body: {} },
  'POST /v1/incidents/:id/severity': { allowed: MANAGE, body: {} },
  'GET /v1/alerts': { allowed: ALL },
  'POST /v1/alerts': { allowed: DEPLOY, body: {} },
  'POST /v1/alerts/alertmanager': { allowed: DEPLOY, body: {} },
  'GET /v1/silences': { allowed: ALL },
  'POST /v1/silences': { allowed: MANAGE, body: { matchers: ['environment="production"'] } },
  'POST /v1/silences/:id/expire': { allowed: MANAGE },
  'GET /v1/pages': { allowed: ALL },
  'POST /v1/pages/:id/acknowledge': { allowed: MANAGE },
  'POST /v1/pages/:id/resolve': { allowed: MANAGE },
  'POST /v1/pages/:id/snooze': { allowed: MANAGE },
  'GET /v1/oncall': { allowed: ALL },
  'GET /v1/drills': { allowed: ALL },
  'GET /v1/drills/:id': { allowed: ALL },
  'GET /v1/drills/:id/report': { allowed: ALL },
  'GET /v1/drills/from-incident/:id': { allowed: ALL },
  'POST /v1/drills': { allowed: DEPLOY, body: { environment: 'staging' } },
  'POST /v1/drills/stop': { allowed: DEPLOY, body: {} },
};

const fill = (pattern: string) => pattern.replace(/:service/g, 'web').replace(/:file/g, 'nope.js').replace(/:action/g, 'acknowledge').replace(/:[a-z]+/g, 'x');

test('every API route x every role: allowed or 403 naming the permission; no route forgotten', { timeout: 120_000 }, async (t) => {
  let ws: DemoWorkspace | undefined;
  let c: Controller | undefined;
  t.after(async () => {
    await c?.stop({ stopAll: true }).catch(() => undefined);
    await ws?.close().catch(() => undefined);
  });
  ws = await createWorkspace({ prefix: 'gl-perm-' });
  c = await startController({ configPath: ws.config });
  const routes = apiRoutes(c).list();
  const keys = routes.map(routeKey);

  // the table names exactly the router's routes, and the permission table covers every non-public one
  assert.deepEqual([...keys].sort(), Object.keys(EXPECTED).sort(), 'the expected table and the router disagree: decide who may call the new route');
  for (const r of routes) {
    assert.equal(!!EXPECTED[routeKey(r)]!.public, r.public, `${routeKey(r)}: public in one place only`);
    if (!r.public) assert.ok(ROUTE_PERMISSIONS[routeKey(r)], `${routeKey(r)} has no permission rule`);
  }

  const tokens: Record<string, string> = {};
  for (const role of ROLES) {
    const res: Response = await fetch(`${c.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `u-${role}`, roles: [role] }) });
    assert.equal(res.status, 201);
    tokens[role] = ((await res.json()) as { token: string }).token;
  }

  let checked = 0;
  for (const r of routes) {
    const spec = EXPECTED[routeKey(r)]!;
    for (const role of ROLES) {
      const ac = new AbortController();
      const res: Response = await fetch(`${c.url}${fill(r.pattern)}`, {
        method: r.method,
        headers: { authorization: `Bearer ${tokens[role]}`, ...(r.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(r.method === 'POST' ? { body: JSON.stringify(spec.body ?? {}) } : {}),
        signal: ac.signal,
      });
      const text = r.pattern === '/v1/events/stream' ? '' : await res.text();
      ac.abort();
      const what = `${routeKey(r)} as ${role}: ${res.status} ${text.slice(0, 200)}`;
      if (spec.allowed.includes(role)) {
        assert.ok(res.status !== 401 && res.status !== 403, `allowed, got ${what}`);
      } else {
        assert.equal(res.status, 403, `refused, got ${what}`);
        const err = (JSON.parse(text) as { error: { message: string; data: { missing: string } } }).error;
        assert.match(err.message, new RegExp(`user:u-${role} \\(roles: ${role}\\) lacks the permission "${err.data.missing.replace('.', '\\.')}"`), what);
      }
      checked++;
    }
  }
  console.log(`# routes covered: ${routes.length} (${routes.filter((r) => !r.public).length} authenticated, ${routes.filter((r) => r.public).length} public) x ${ROLES.length} roles = ${checked} requests`);

  // no token, a wrong one
  assert.equal((await fetch(`${c.url}/v1/status`)).status, 401);
  assert.equal((await fetch(`${c.url}/v1/status`, { headers: { authorization: 'Bearer glt_0000000000000000_' + 'a'.repeat(43) } })).status, 401);
  // a break-glass needs break_glass: a deployer may deploy but not force
  const force = await fetch(`${c.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${tokens.deployer}`, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'web', version: '9.9.9', force: true, reason: 'x' }) });
  assert.equal(force.status, 403);
  assert.match(((await force.json()) as { error: { message: string } }).error.message, /lacks the permission "break_glass" in staging/);
  // the header cannot choose the actor
  const inc = await fetch(`${c.url}/v1/incidents`, { method: 'POST', headers: { authorization: `Bearer ${tokens.deployer}`, 'x-greenlight-actor': 'someone-else', 'content-type': 'application/json' }, body: JSON.stringify({ title: 'who am I', severity: 'sev3' }) });
  assert.equal(inc.status, 201, await inc.clone().text());
  const opened = (await c.events.query({ types: ['incident.opened'] })).at(-1)!;
  assert.equal(opened.actor, 'user:u-deployer');
  // cross-site state change refused even with a valid token
  const cross = await fetch(`${c.url}/v1/incidents`, { method: 'POST', headers: { authorization: `Bearer ${tokens.admin}`, origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ title: 'csrf' }) });
  assert.equal(cross.status, 403);
  assert.match(((await cross.json()) as { error: { message: string } }).error.message, /cross-site POST refused/);
});

test('per-environment policy from greenlight.yaml: only admins deploy to production, deployers still to staging', { timeout: 120_000 }, async (t) => {
  let ws: DemoWorkspace | undefined;
  let c: Controller | undefined;
  t.after(async () => {
    await c?.stop({ stopAll: true }).catch(() => undefined);
    await ws?.close().catch(() => undefined);
  });
  ws = await createWorkspace({ prefix: 'gl-perm-env-' });
  appendFileSync(ws.config, '\naccess:\n  environments:\n    production:\n      deploy: [admin]\n');
  c = await startController({ configPath: ws.config });
  const mk = await fetch(`${c.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'dora', roles: ['deployer'] }) });
  const token = ((await mk.json()) as { token: string }).token;
  const deploy = (envs: string[]) => fetch(`${c!.url}/v1/deployments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'nope', version: '1.0.0', environments: envs }) });
  const prod = await deploy(['production']);
  assert.equal(prod.status, 403);
  const err = ((await prod.json()) as { error: { message: string; hint: string } }).error;
  assert.match(err.message, /user:dora \(roles: deployer\) lacks the permission "deploy" in production/);
  assert.match(err.hint, /roles holding it in production: admin/);
  assert.notEqual((await deploy(['staging'])).status, 403);
});
