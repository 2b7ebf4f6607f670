// A throw-away copy of the examples with free loopback ports, the two acme-auth services running,
// and a way to run the real CLI against it. Used by the end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../src/app/free-port.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/greenlight.js');

export interface Workspace {
  dir: string;
  config: string;
  ports: { controller: number; staging: number; production: number; authStaging: number; authProduction: number };
  cli(args: string[], opts?: { timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  setAuthVersion(env: 'staging' | 'production', version: string): Promise<void>;
  close(): Promise<void>;
}

export async function workspace(): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'gl-e2e-'));
  cpSync(join(root, 'examples'), dir, { recursive: true });
  const [controller, staging, production, authStaging, authProduction] = await freePorts(5);
  const ports = { controller: controller!, staging: staging!, production: production!, authStaging: authStaging!, authProduction: authProduction! };
  const config = join(dir, 'greenlight.yaml');
  const text = readFileSync(config, 'utf8')
    .replaceAll('127.0.0.1:7070', `127.0.0.1:${ports.controller}`)
    .replaceAll('127.0.0.1:8081', `127.0.0.1:${ports.staging}`)
    .replaceAll('127.0.0.1:8082', `127.0.0.1:${ports.production}`)
    .replaceAll('127.0.0.1:7101', `127.0.0.1:${ports.authStaging}`)
    .replaceAll('127.0.0.1:7102', `127.0.0.1:${ports.authProduction}`);
  writeFileSync(config, text);
  const auth: ChildProcess[] = [];
  for (const port of [ports.authStaging, ports.authProduction]) {
    const child = spawn(process.execPath, [join(dir, 'acme-auth/server.mjs'), String(port), '2.4.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    auth.push(child);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (c) => reject(new Error(`acme-auth on port ${port} exited with code ${c}`)));
      });
    } catch (err) {
      for (const a of auth) a.kill('SIGTERM');
      throw err;
    }
  }
  const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}`, NO_COLOR: '1', GREENLIGHT_ACTOR: 'e2e' };
  const ws: Workspace = {
    dir,
    config,
    ports,
    cli(args, opts = {}) {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [bin, '--config', config, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout, stderr });
        });
      });
    },
    async setAuthVersion(which, version) {
      const port = which === 'staging' ? ports.authStaging : ports.authProduction;
      const res = await fetch(`http://127.0.0.1:${port}/admin/version`, { method: 'POST', body: version });
      if (!res.ok) throw new Error(`acme-auth refused ${version}: ${await res.text()}`);
    },
    async close() {
      await ws.cli(['down', '--all'], { timeoutMs: 30_000 }).catch(() => undefined);
      for (const a of auth) a.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return ws;
}

/** A client hitting a URL at a steady pace until stopped; counts what it saw. Bounded in count and time. */
export function steadyClient(url: string, opts: { everyMs?: number; maxMs?: number; maxRequests?: number } = {}) {
  const seen = { requests: 0, failed: 0, failures: [] as string[], versions: new Map<string, number>() };
  let stop = false;
  const until = Date.now() + (opts.maxMs ?? 180_000);
  const done = (async () => {
    while (!stop && Date.now() < until && seen.requests < (opts.maxRequests ?? 50_000)) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        const body = await res.text();
        seen.requests++;
        if (res.status >= 500) {
          seen.failed++;
          if (seen.failures.length < 5) seen.failures.push(`${res.status} ${body.trim()}`);
        } else {
          const v = /web@(\S+)/.exec(body)?.[1] ?? '?';
          seen.versions.set(v, (seen.versions.get(v) ?? 0) + 1);
        }
      } catch (err) {
        seen.requests++;
        seen.failed++;
        if (seen.failures.length < 5) seen.failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, opts.everyMs ?? 10));
    }
  })();
  return { seen, stop: async () => ((stop = true), await done) };
}
