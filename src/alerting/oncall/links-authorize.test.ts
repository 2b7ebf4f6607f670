// A signed page link acts as the person it was sent to, and the controller's permission check for
// that person applies: a refusal is a 403 page and nothing is done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildActionUrl, handleActionLink, type PageActions } from './links.ts';

test('signed links: the recipient lacking "acknowledge" gets 403 and the page is untouched; allowed recipients act under their name', async () => {
  const calls: string[] = [];
  const pages: PageActions = {
    acknowledge: async (id, by) => calls.push(`ack ${id} ${by}`),
    resolve: async (id, by) => calls.push(`resolve ${id} ${by}`),
    snooze: async (id, by) => calls.push(`snooze ${id} ${by}`),
  };
  const now = Date.UTC(2026, 0, 1);
  const url = (by: string) => new URL(buildActionUrl({ baseUrl: 'http://127.0.0.1:7070/v1/action', secret: 'k'.repeat(32), action: 'acknowledge', pageId: 'p-1', expiresAt: now + 60_000, by }));
  const authorize = (by: string | undefined) => (by === 'vic' ? 'user:vic (roles: viewer) lacks the permission "acknowledge" in production' : undefined);
  const deps = { secret: 'k'.repeat(32), now: () => now, pages, method: 'POST', authorize };
  const refused = await handleActionLink(url('vic'), deps);
  assert.equal(refused.status, 403);
  assert.match(refused.body, /user:vic \(roles: viewer\) lacks the permission &quot;acknowledge&quot; in production/);
  const form = await handleActionLink(url('vic'), { ...deps, method: 'GET' });
  assert.equal(form.status, 403, 'not even the confirmation form');
  assert.deepEqual(calls, []);
  const ok = await handleActionLink(url('alice'), deps);
  assert.equal(ok.status, 200);
  assert.deepEqual(calls, ['ack p-1 user:alice']);
});
