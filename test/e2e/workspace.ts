// The demo's workspace (examples with free ports, acme-auth running) plus a way to run the real
// CLI against it, for the end-to-end tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkspace, repoRoot, type DemoWorkspace } from '../../src/demo/workspace.ts';
import type { LoadCounts } from '../../src/load/clients.ts';

const bin = join(repoRoot, 'bin/greenlight.js');

/** what a run of the CLI gave */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Workspace extends DemoWorkspace {
  /** actor: who the CLI acts as: a user of that name (admin role), created with the bootstrap token on first use */
  cli(args: string[], opts?: { timeoutMs?: number; actor?: string; env?: Record<string, string>; input?: string }): Promise<CliRun>;
}

export async function workspace(opts: { authVersion?: string; syntheticChecks?: boolean } = {}): Promise<Workspace> {
  const base = await createWorkspace({ prefix: 'gl-e2e-', ...opts });
  const env = { ...process.env, PATH: `${join(repoRoot, 'node_modules/.bin')}:${process.env.PATH}`, NO_COLOR: '1' };
  // The controller records whoever authenticated, so acting as someone means holding their token.
  const tokens = new Map<string, string>();
  const tokenFor = async (actor: string): Promise<string> => {
    const known = tokens.get(actor);
    if (known) return known;
    const bootstrap = readFileSync(join(base.dir, '.greenlight', 'token'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${base.ports.controller}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${bootstrap}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: actor, roles: ['admin'] }) });
    if (res.status !== 201) throw new Error(`creating user ${actor}: ${res.status} ${await res.text()}`);
    const token = ((await res.json()) as { token: string }).token;
    tokens.set(actor, token);
    return token;
  };
  const cli: Workspace['cli'] = async (args, opts = {}) => {
    const as = opts.actor ? { GREENLIGHT_TOKEN: await tokenFor(opts.actor) } : {};
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, '--config', base.config, ...args], { cwd: base.dir, env: { ...env, ...as, ...opts.env }, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      if (opts.input !== undefined) child.stdin!.end(opts.input);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  };
  return {
    ...base,
    cli,
    async close(o = {}) {
      const down = await cli(['down', '--all'], { timeoutMs: 180_000 }).catch((err: unknown) => ({ code: -1, stdout: '', stderr: String(err) }));
      // Routers are detached on purpose (they outlive controllers): one still running now would
      // outlive the test (it did, when `down` returned before the controller had stopped them and
      // the directory holding their records was removed). Stopped here, and the test fails saying so.
      const leaked = stopLeftRouters(base.dir);
      await base.close(o);
      if (leaked.length > 0) throw new Error(`${leaked.join('; ')} outlived the test (stopped now); greenlight down --all exited ${down.code}: ${down.stderr.trim().slice(-500)}`);
    },
  };
}

/** Routers of this workspace still running (by their records, checked by command line): SIGKILLed; what they were. */
export function stopLeftRouters(dir: string): string[] {
  const routersDir = join(dir, '.greenlight', 'routers');
  const left: string[] = [];
  for (const f of existsSync(routersDir) ? readdirSync(routersDir) : []) {
    if (!f.endsWith('.json') || f.endsWith('.table.json')) continue;
    try {
      const rec = JSON.parse(readFileSync(join(routersDir, f), 'utf8')) as { pid?: number; environment?: string; service?: string };
      // only that router: a pid may have been reused by an unrelated process since
      if (!rec.pid || !readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').includes(routersDir)) continue;
      process.kill(rec.pid, 'SIGKILL');
      left.push(`router ${rec.environment}/${rec.service} (pid ${rec.pid})`);
    } catch {
      /* gone, or not a router record */
    }
  }
  return left;
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

/**
 * A web@2.0.0 canary that failed every request it answered was rolled back (the CLI's exit and words) and
 * only its answers failed, stable (1.0.0) none: the load's counts. `via` and `canary` word the messages.
 */
export function assertCanaryRolledBack(run: CliRun, counts: LoadCounts, words: { via: string; canary: string }): void {
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /rolled back/i);
  const canary = counts.byVersion.get('2.0.0');
  assert.ok(canary && canary.requests > 0, `the canary got requests ${words.via}`);
  assert.equal(canary.failed, canary.requests, `${words.canary} failed every request it answered`);
  assert.equal(counts.byVersion.get('1.0.0')?.failed ?? 0, 0, 'stable never failed');
  assert.equal(counts.failed, canary.failed, `failed: only canary answers (${counts.failed} of ${counts.sent})`);
}
