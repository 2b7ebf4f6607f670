// Starts (or finds again) the router process of each environment and service. Routers are the data
// plane: they are spawned detached so they outlive the controller, and keep serving the last
// routing table (kept in their state file) while the controller is down or restarting.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Clock } from '../clock/clock.ts';
import { GreenlightError, describe } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import { RouterClient } from '../router/client.ts';
import { freePort, splitHostPort, urlOf } from './free-port.ts';

export interface RouterRecord {
  environment: string;
  service: string;
  pid: number;
  listen: string;
  admin: string;
  stateFile: string;
  logFile: string;
  startedAt: number;
  /** the --identity the router was started with (absent in records of older routers: greenlight) */
  identity?: string;
  /** the --health-check it was started with (absent: an older router, without active health checks) */
  healthCheck?: string;
  /** "router-token": started with its own admin credential; absent: an older router holding the controller's token */
  credential?: 'router-token';
}

const routerEntry = fileURLToPath(new URL('../router/main.ts', import.meta.url));

export class RouterProcesses {
  private readonly dir: string;
  private readonly tokenFile: string;
  private readonly events: EventLog;
  private readonly clock: Clock;
  private readonly token: string;
  private readonly legacyToken: string | undefined;
  private readonly exitListeners = new Set<(environment: string, service: string, code: number | null, signal: string | null) => void>();

  /**
   * tokenFile/token: the routers' own admin credential; legacyToken: the controller's API token,
   * which routers started by an older Greenlight still hold (they are adopted as they are, and get
   * their own credential when next restarted, so an upgrade does not interrupt traffic).
   */
  constructor(opts: { stateDir: string; tokenFile: string; token: string; legacyToken?: string; events: EventLog; clock: Clock }) {
    this.dir = join(opts.stateDir, 'routers');
    this.tokenFile = opts.tokenFile;
    this.token = opts.token;
    this.legacyToken = opts.legacyToken;
    this.events = opts.events;
    this.clock = opts.clock;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private recordFile(environment: string, service: string): string {
    return join(this.dir, `${environment}--${service}.json`);
  }

  /** Called when a router this object spawned exits (the supervisor restarts it). */
  onExit(fn: (environment: string, service: string, code: number | null, signal: string | null) => void): () => void {
    this.exitListeners.add(fn);
    return () => this.exitListeners.delete(fn);
  }

  readRecord(environment: string, service: string): RouterRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.recordFile(environment, service), 'utf8')) as RouterRecord;
    } catch {
      return undefined;
    }
  }

  client(rec: { admin: string; credential?: string }): RouterClient {
    const token = rec.credential === 'router-token' || this.legacyToken === undefined ? this.token : this.legacyToken;
    return new RouterClient({ adminUrl: urlOf(rec.admin), token });
  }

  /** Adopts a running router for this environment/service, or starts one. */
  async ensure(environment: string, service: string, listen: string, admin: string | undefined, identity = 'greenlight', healthCheck?: string): Promise<{ record: RouterRecord; client: RouterClient; adopted: boolean }> {
    const existing = this.readRecord(environment, service);
    if (existing && existing.listen === listen && (!admin || existing.admin === admin) && (existing.identity ?? 'greenlight') === identity && sameHealthCheck(existing, healthCheck) && alive(existing.pid)) {
      const client = this.client(existing);
      if (await client.health().then(() => true, () => false)) {
        await this.events.append({ type: 'router.adopted', actor: 'controller', subject: `router/${environment}/${service}`, data: { environment, service, pid: existing.pid, listen, admin: existing.admin } });
        return { record: existing, client, adopted: true };
      }
    }
    if (existing && alive(existing.pid)) {
      // a router from an older configuration (another address): replace it
      try {
        process.kill(existing.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      await this.clock.sleep(300);
    }
    const adminAddr = admin ?? existing?.admin ?? `127.0.0.1:${await freePort()}`;
    const stateFile = join(this.dir, `${environment}--${service}.table.json`);
    const logFile = join(this.dir, `${environment}--${service}.log`);
    const out = openSync(logFile, 'a', 0o600);
    const child = spawn(process.execPath, [routerEntry, '--name', `${environment}/${service}`, '--listen', listen, '--admin', adminAddr, '--state-file', stateFile, '--token-file', this.tokenFile, '--identity', identity, ...(healthCheck !== undefined ? ['--health-check', healthCheck] : [])], {
      detached: true,
      stdio: ['ignore', 'pipe', out],
    });
    closeSync(out);
    const ready = await new Promise<{ ok: true } | { ok: false; why: string }>((resolve) => {
      let buf = '';
      const timer = setTimeout(() => resolve({ ok: false, why: 'it did not report ready within 10 s' }), 10_000);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        buf += d;
        if (buf.includes('"ready":true')) {
          clearTimeout(timer);
          resolve({ ok: true });
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ ok: false, why: `it exited with code ${code}` });
      });
    });
    if (!ready.ok) {
      const tail = readTail(logFile);
      const { port } = splitHostPort(listen);
      throw new GreenlightError('PORT_IN_USE', `the router of ${environment}/${service} on ${listen} did not start: ${ready.why}${tail ? `\n${tail}` : ''}`, {
        hint: tail.includes('EADDRINUSE') || tail.includes('in use') ? `another process listens on port ${port}: stop it (ss -ltnp 'sport = :${port}') or change environments[].router.listen` : `see ${logFile}`,
      });
    }
    child.stdout!.destroy();
    child.on('exit', (code, signal) => {
      for (const l of this.exitListeners) l(environment, service, code, signal);
    });
    child.unref();
    const record: RouterRecord = { environment, service, pid: child.pid!, listen, admin: adminAddr, stateFile, logFile, startedAt: this.clock.now(), identity, ...(healthCheck !== undefined ? { healthCheck } : {}), credential: 'router-token' };
    writeFileSync(this.recordFile(environment, service), JSON.stringify(record, null, 2), { mode: 0o600 });
    await this.events.append({ type: 'router.started', actor: 'controller', subject: `router/${environment}/${service}`, data: { ...record } });
    return { record, client: this.client(record), adopted: false };
  }

  /** Stops a router process (greenlight down); traffic to that environment stops. */
  async stop(environment: string, service: string): Promise<void> {
    const rec = this.readRecord(environment, service);
    if (!rec || !alive(rec.pid)) return;
    try {
      process.kill(rec.pid, 'SIGTERM');
    } catch (err) {
      throw new GreenlightError('INTERNAL', `could not stop router pid ${rec.pid}: ${describe(err)}`);
    }
    for (let i = 0; i < 50 && alive(rec.pid); i++) await this.clock.sleep(100);
    if (alive(rec.pid)) process.kill(rec.pid, 'SIGKILL');
    await this.events.append({ type: 'router.stopped', actor: 'controller', subject: `router/${environment}/${service}`, data: { environment, service, pid: rec.pid } });
  }
}

/**
 * A changed router.health_check replaces the router (like a changed identity). A router started by
 * an older Greenlight, without health checks (no healthCheck in its record), is adopted as it is,
 * as with the legacy token: an upgrade does not interrupt traffic; it runs the checks once restarted.
 */
function sameHealthCheck(existing: RouterRecord, healthCheck: string | undefined): boolean {
  return healthCheck === undefined || existing.healthCheck === undefined || existing.healthCheck === healthCheck;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}
