// Router processes and their health check settings: the same settings adopt the running router
// (traffic never stops), changed ones replace it, and one started by an older Greenlight (its
// record has no health check) is adopted as it is. Real router processes on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../clock/clock.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { DEFAULT_HEALTH_CHECK, formatHealthCheck } from '../router/health.ts';
import { freePort } from './free-port.ts';
import { RouterProcesses } from './routers.ts';
import { ensureRouterToken, routerTokenPath } from './token.ts';

test('router processes: same health check adopts, a changed one replaces, an older router without one is adopted', { timeout: 60_000 }, async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'gl-routers-'));
  const routers = new RouterProcesses({ stateDir, tokenFile: routerTokenPath(stateDir), token: ensureRouterToken(stateDir), events: new MemoryEventLog(), clock: systemClock });
  const listen = `127.0.0.1:${await freePort()}`;
  const a = formatHealthCheck(DEFAULT_HEALTH_CHECK);
  const b = formatHealthCheck({ ...DEFAULT_HEALTH_CHECK, intervalMs: 500, timeoutMs: 400 });
  try {
    const first = await routers.ensure('production', 'web', listen, undefined, 'greenlight', a);
    assert.equal(first.adopted, false);
    const again = await routers.ensure('production', 'web', listen, undefined, 'greenlight', a);
    assert.equal(again.adopted, true, 'same settings: adopted');
    assert.equal(again.record.pid, first.record.pid);
    const changed = await routers.ensure('production', 'web', listen, undefined, 'greenlight', b);
    assert.equal(changed.adopted, false, 'changed settings: replaced');
    assert.notEqual(changed.record.pid, first.record.pid);
    assert.equal(changed.record.healthCheck, b);
    // as an older Greenlight wrote it: no healthCheck
    const file = join(stateDir, 'routers', 'production--web.json');
    const { healthCheck: _gone, ...older } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify(older));
    const upgraded = await routers.ensure('production', 'web', listen, undefined, 'greenlight', a);
    assert.equal(upgraded.adopted, true, 'an older router is adopted: an upgrade does not interrupt traffic');
    assert.equal(upgraded.record.pid, changed.record.pid);
  } finally {
    await routers.stop('production', 'web');
  }
});
