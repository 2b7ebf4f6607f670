// A tiny HTTP service written into a temp dir as a release artifact, for the target tests: real
// child processes, behaviour chosen through its environment.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceSpec } from '../target.ts';

export type FixtureMode = 'healthy' | 'never-ready' | 'crash-at-start' | 'ignore-sigterm';

const SERVER = String.raw`
import { createServer } from 'node:http';
const mode = process.env.FIXTURE_MODE ?? 'healthy';
const port = Number(process.env.PORT);
const log = (m) => console.log('[fixture ' + process.pid + '] ' + m);
if (mode === 'crash-at-start') {
  console.error('fatal: cannot read config/secrets.json (fixture crash at start)');
  setTimeout(() => process.exit(3), 20);
} else {
  let sick = false;
  const server = createServer((req, res) => {
    res.setHeader('connection', 'close');
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/healthz') {
      const bad = mode === 'never-ready' || sick;
      res.statusCode = bad ? 503 : 200;
      return res.end(bad ? 'not healthy' : 'ok');
    }
    if (url.pathname === '/sick') {
      sick = true;
      log('health turned bad');
      return res.end('sick');
    }
    if (url.pathname === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? 300);
      log('slow request for ' + ms + 'ms');
      return setTimeout(() => res.end('slow done'), ms);
    }
    if (url.pathname === '/crash') {
      log('crashing on request');
      res.end('bye');
      return setTimeout(() => process.exit(42), 5);
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version: process.env.VERSION ?? null, pid: process.pid, port }));
  });
  server.listen(port, process.env.HOST ?? '127.0.0.1', () => log('listening on ' + port));
  process.on('SIGTERM', () => {
    if (mode === 'ignore-sigterm') return log('ignoring SIGTERM');
    log('SIGTERM received, draining');
    server.close(() => {
      log('drained, exiting');
      process.exit(0);
    });
  });
}
`;

/** Writes the fixture service into a fresh temp dir and returns the dir (the "artifact"). */
export function writeFixtureApp(dir = mkdtempSync(join(tmpdir(), 'gl-artifact-'))): string {
  writeFileSync(join(dir, 'server.mjs'), SERVER);
  return dir;
}

export function fixtureSpec(artifactDir: string, mode: FixtureMode = 'healthy', over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: 'web',
    version: '1.0.0',
    environment: 'staging',
    artifactDir,
    command: [process.execPath, 'server.mjs'],
    env: { FIXTURE_MODE: mode, VERSION: over.version ?? '1.0.0' },
    health: { path: '/healthz', timeoutMs: mode === 'never-ready' ? 800 : 10_000, intervalMs: 25 },
    stopGraceMs: 2000,
    ...over,
  };
}
