import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { GreenlightError } from '../../errors/errors.ts';
import { buildActionLinks, buildActionUrl, handleActionLink, verifyActionUrl, type PageActions } from './links.ts';

const SECRET = 'link-secret';
const NOW = Date.UTC(2026, 2, 2, 10);
const BASE = 'https://gl.example.com/api/alerting';

function recorder(): PageActions & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async acknowledge(id, by) {
      if (id === 'gone') throw new GreenlightError('NOT_FOUND', `no page ${id}`);
      calls.push(`ack ${id} ${by}`);
    },
    async resolve(id, by) {
      if (id === 'done') throw new GreenlightError('CONFLICT', `page ${id} is already resolved`);
      calls.push(`resolve ${id} ${by}`);
    },
    async snooze(id, by) {
      calls.push(`snooze ${id} ${by}`);
    },
  };
}

test('a built link verifies, and the scheme is what docs/alerting.md says', () => {
  const links = buildActionLinks({ baseUrl: `${BASE}/`, secret: SECRET, ttlMs: 3_600_000 }, 'p-1', NOW, 'alice');
  const v = verifyActionUrl(links.acknowledge, SECRET, NOW);
  assert.deepEqual(v, { ok: true, action: 'acknowledge', pageId: 'p-1', by: 'alice', expiresAt: NOW + 3_600_000 });
  // recomputed independently from the documented recipe
  const u = new URL(links.acknowledge);
  assert.equal(u.pathname, '/api/alerting/pages/p-1/acknowledge');
  const expires = u.searchParams.get('expires');
  const sig = createHmac('sha256', SECRET).update(`greenlight-page-action\nacknowledge\np-1\n${expires}\nalice`).digest('base64url');
  assert.equal(u.searchParams.get('sig'), sig);
  assert.equal(verifyActionUrl(links.snooze, SECRET, NOW).ok, true);
  // a path-and-query URL, as a server sees it, verifies too
  assert.equal(verifyActionUrl(u.pathname + u.search, SECRET, NOW).ok, true);
});

test('tampered links are refused: other action, other page, longer expiry, other person, other secret', () => {
  const good = buildActionUrl({ baseUrl: BASE, secret: SECRET, action: 'acknowledge', pageId: 'p-1', expiresAt: NOW + 60_000, by: 'alice' });
  const tamper = (f: (u: URL) => void) => {
    const u = new URL(good);
    f(u);
    return verifyActionUrl(u, SECRET, NOW);
  };
  const bad = (r: ReturnType<typeof verifyActionUrl>) => (r.ok ? 'ok' : r.reason);
  assert.equal(bad(tamper((u) => (u.pathname = u.pathname.replace('acknowledge', 'resolve')))), 'bad-signature');
  assert.equal(bad(tamper((u) => (u.pathname = u.pathname.replace('p-1', 'p-2')))), 'bad-signature');
  assert.equal(bad(tamper((u) => u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600)))), 'bad-signature');
  assert.equal(bad(tamper((u) => u.searchParams.set('by', 'mallory'))), 'bad-signature');
  assert.equal(bad(tamper((u) => u.searchParams.delete('by'))), 'bad-signature');
  assert.equal(bad(tamper((u) => u.searchParams.set('sig', 'A'.repeat(43)))), 'bad-signature');
  assert.equal(bad(tamper((u) => u.searchParams.set('sig', 'short'))), 'malformed');
  assert.equal(bad(verifyActionUrl(good, 'another-secret', NOW)), 'bad-signature');
  assert.equal(bad(verifyActionUrl('https://x/pages/p-1?expires=1&sig=x', SECRET, NOW)), 'malformed');
});

test('expired links are refused from the expiry second on', () => {
  const url = buildActionUrl({ baseUrl: BASE, secret: SECRET, action: 'resolve', pageId: 'p-1', expiresAt: NOW + 60_000 });
  assert.equal(verifyActionUrl(url, SECRET, NOW + 59_999).ok, true);
  const r = verifyActionUrl(url, SECRET, NOW + 60_000);
  assert.equal(r.ok ? 'ok' : r.reason, 'expired');
});

test('handleActionLink: GET only shows a form, POST acts as the person named in the link', async () => {
  const pages = recorder();
  const url = buildActionUrl({ baseUrl: BASE, secret: SECRET, action: 'acknowledge', pageId: 'p-1', expiresAt: NOW + 60_000, by: 'alice' });
  const get = await handleActionLink(url, { secret: SECRET, now: () => NOW, pages });
  assert.equal(get.status, 200);
  assert.match(get.body, /<form method="post"/);
  assert.deepEqual(pages.calls, [], 'a link preview must not acknowledge');
  const post = await handleActionLink(url, { secret: SECRET, now: () => NOW, pages, method: 'POST' });
  assert.equal(post.status, 200);
  assert.deepEqual(pages.calls, ['ack p-1 user:alice']);
  assert.equal(post.headers['cache-control'], 'no-store');
});

test('handleActionLink: status codes for bad, expired, unknown and finished pages', async () => {
  const pages = recorder();
  const deps = { secret: SECRET, now: () => NOW, pages, method: 'POST' };
  const mk = (action: 'acknowledge' | 'resolve' | 'snooze', pageId: string, expiresAt = NOW + 60_000) =>
    buildActionUrl({ baseUrl: BASE, secret: SECRET, action, pageId, expiresAt });
  assert.equal((await handleActionLink(mk('acknowledge', 'p-1').replace('p-1', 'p-9'), deps)).status, 403);
  assert.equal((await handleActionLink(mk('acknowledge', 'p-1', NOW - 1000), deps)).status, 410);
  assert.equal((await handleActionLink('/nothing', deps)).status, 400);
  assert.equal((await handleActionLink(mk('acknowledge', 'gone'), deps)).status, 404);
  assert.equal((await handleActionLink(mk('resolve', 'done'), deps)).status, 409);
  const snoozed = await handleActionLink(mk('snooze', 'p-1'), { ...deps, actor: 'user:api-caller' });
  assert.equal(snoozed.status, 200);
  assert.deepEqual(pages.calls, ['snooze p-1 user:api-caller']);
  const xss = await handleActionLink(mk('acknowledge', '<script>'), { ...deps, method: 'GET' });
  assert.ok(!xss.body.includes('<script>'));
});
