// A throw-away copy of the examples with free loopback ports and the two acme-auth services
// (staging, production) running: what the demo and the end-to-end tests deploy into.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../app/free-port.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Ports {
  controller: number;
  staging: number;
  production: number;
  authStaging: number;
  authProduction: number;
}

export interface DemoWorkspace {
  dir: string;
  config: string;
  ports: Ports;
  authVersion(env: 'staging' | 'production'): Promise<string>;
  setAuthVersion(env: 'staging' | 'production', version: string): Promise<void>;
  /** stops the auth services; removes the directory unless keep */
  close(opts?: { keep?: boolean }): Promise<void>;
}

/**
 * syntheticChecks (default false here, true in a real config): the demo and the drills replay the
 * 3 June release meeting live traffic, which the synthetic pre-checks would refuse before any user
 * request; tests of the default pass true.
 */
export async function createWorkspace(opts: { authVersion?: string; prefix?: string; syntheticChecks?: boolean } = {}): Promise<DemoWorkspace> {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix ?? 'greenlight-demo-'));
  cpSync(join(repoRoot, 'examples'), dir, { recursive: true });
  const [controller, staging, production, authStaging, authProduction] = await freePorts(5);
  const ports: Ports = { controller: controller!, staging: staging!, production: production!, authStaging: authStaging!, authProduction: authProduction! };
  const config = join(dir, 'greenlight.yaml');
  writeFileSync(
    config,
    readFileSync(config, 'utf8')
      .replaceAll('127.0.0.1:7070', `127.0.0.1:${ports.controller}`)
      .replaceAll('127.0.0.1:8081', `127.0.0.1:${ports.staging}`)
      .replaceAll('127.0.0.1:8082', `127.0.0.1:${ports.production}`)
      .replaceAll('127.0.0.1:7101', `127.0.0.1:${ports.authStaging}`)
      .replaceAll('127.0.0.1:7102', `127.0.0.1:${ports.authProduction}`)
      .replace(/^( {2}- name: \w+\n)/gm, opts.syntheticChecks ? '$1' : '$1    synthetic_checks: false\n'),
  );
  const auth: ChildProcess[] = [];
  const stopAuth = () => {
    for (const a of auth) if (a.exitCode === null) a.kill('SIGTERM');
  };
  for (const port of [ports.authStaging, ports.authProduction]) {
    const child = spawn(process.execPath, [join(dir, 'acme-auth/server.mjs'), String(port), opts.authVersion ?? '2.4.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    auth.push(child);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (c) => reject(new Error(`acme-auth on port ${port} exited with code ${c}`)));
      });
    } catch (err) {
      stopAuth();
      throw err;
    }
    child.stdout!.resume();
    child.stderr!.resume();
  }
  const authPort = (env: 'staging' | 'production') => (env === 'staging' ? ports.authStaging : ports.authProduction);
  return {
    dir,
    config,
    ports,
    async authVersion(env) {
      const res = await fetch(`http://127.0.0.1:${authPort(env)}/version`);
      return ((await res.json()) as { version: string }).version;
    },
    async setAuthVersion(env, version) {
      const res = await fetch(`http://127.0.0.1:${authPort(env)}/admin/version`, { method: 'POST', body: version });
      if (!res.ok) throw new Error(`acme-auth refused ${version}: ${await res.text()}`);
    },
    async close(o = {}) {
      stopAuth();
      await Promise.all(auth.map((a) => (a.exitCode === null ? new Promise((r) => a.once('exit', r)) : undefined)));
      if (!o.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
