// The demo's workspace (examples with free ports, acme-auth running) plus a way to run the real
// CLI against it, for the end-to-end tests.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createWorkspace, repoRoot, type DemoWorkspace } from '../../src/demo/workspace.ts';

const bin = join(repoRoot, 'bin/greenlight.js');

export interface Workspace extends DemoWorkspace {
  /** actor: who the CLI acts as (GREENLIGHT_ACTOR), default e2e; env: more environment variables */
  cli(args: string[], opts?: { timeoutMs?: number; actor?: string; env?: Record<string, string> }): Promise<{ code: number; stdout: string; stderr: string }>;
}

export async function workspace(opts: { authVersion?: string; syntheticChecks?: boolean } = {}): Promise<Workspace> {
  const base = await createWorkspace({ prefix: 'gl-e2e-', ...opts });
  const env = { ...process.env, PATH: `${join(repoRoot, 'node_modules/.bin')}:${process.env.PATH}`, NO_COLOR: '1', GREENLIGHT_ACTOR: 'e2e' };
  const cli: Workspace['cli'] = (args, opts = {}) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, '--config', base.config, ...args], { cwd: base.dir, env: { ...env, ...(opts.actor ? { GREENLIGHT_ACTOR: opts.actor } : {}), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  return {
    ...base,
    cli,
    async close(o = {}) {
      await cli(['down', '--all'], { timeoutMs: 60_000 }).catch(() => undefined);
      await base.close(o);
    },
  };
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
