// The data plane is supervised: each environment's router is its own process, and one that dies
// (kill -9, OOM, a crash) is restarted by the controller on the same listen and admin addresses,
// from its state file, so it serves its last routing table again within about a second. Every
// death and restart is an event and an alert; a router that keeps dying (crash_loop.deaths within
// crash_loop.window) is escalated as a paging alert and restarted with a growing back-off instead
// of in a hot loop.
import type { Alert, IncomingAlert } from '../alerting/alerts/alert.ts';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { describe } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { RouterProcesses } from './routers.ts';

export const ROUTER_RESTARTED_ALERT = 'RouterRestarted';
export const ROUTER_CRASH_LOOP_ALERT = 'RouterCrashLooping';

export interface SupervisedRouter {
  environment: string;
  service: string;
  listen: string;
  admin: string | undefined;
  /** how the router tells clients apart (formatIdentity of the config's router.identity) */
  identity?: string;
  /** the router's --health-check (formatHealthCheck of routerHealthCheck) */
  healthCheck?: string;
}

export interface RouterSupervisorOptions {
  routers: RouterProcesses;
  events: EventLog;
  clock: Clock;
  entries: SupervisedRouter[];
  /** the alerting pipeline's intake, when alerting is configured */
  alert?: (alerts: IncomingAlert[]) => Alert[] | void;
  log?: (line: string) => void;
  /** how often a router's pid is checked (its own exit is noticed at once when this controller spawned it) */
  pollMs?: number;
  crashLoop?: { deaths: number; windowMs: number; maxBackoffMs: number };
}

interface Watch {
  entry: SupervisedRouter;
  busy: boolean;
  deaths: number[];
}

export class RouterSupervisor {
  private readonly o: RouterSupervisorOptions;
  private readonly watches: Watch[];
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly offExit: () => void;
  private readonly pending = new Set<Promise<void>>();

  constructor(o: RouterSupervisorOptions) {
    this.o = o;
    this.watches = o.entries.map((entry) => ({ entry, busy: false, deaths: [] }));
    this.offExit = o.routers.onExit((environment, service) => {
      const w = this.watches.find((x) => x.entry.environment === environment && x.entry.service === service);
      if (w) this.check(w);
    });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      for (const w of this.watches) this.check(w);
      this.timer = this.o.clock.setTimeout(tick, this.o.pollMs ?? 100);
    };
    tick();
  }

  /** Stops supervising (before routers are stopped on purpose); waits for a restart in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.offExit();
    await Promise.all([...this.pending]);
  }

  private check(w: Watch): void {
    if (this.stopped || w.busy) return;
    const rec = this.o.routers.readRecord(w.entry.environment, w.entry.service);
    if (!rec || alive(rec.pid)) return;
    w.busy = true;
    const p = this.restart(w, rec.pid).finally(() => {
      w.busy = false;
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  private async restart(w: Watch, pid: number): Promise<void> {
    const { environment, service, listen, admin } = w.entry;
    const { events, clock } = this.o;
    const subject = `router/${environment}/${service}`;
    const cl = this.o.crashLoop ?? { deaths: 3, windowMs: 60_000, maxBackoffMs: 30_000 };
    const diedAt = clock.now();
    w.deaths = [...w.deaths.filter((t) => t > diedAt - cl.windowMs), diedAt];
    const looping = w.deaths.length >= cl.deaths;
    await events.append({ type: 'router.died', actor: 'controller', subject, data: { environment, service, pid, listen, deathsInWindow: w.deaths.length, windowMs: cl.windowMs } }).catch(() => undefined);
    this.o.log?.(`router ${environment}/${service} (pid ${pid}) died; restarting it on ${listen}`);
    if (looping) {
      const backoffMs = Math.min(cl.maxBackoffMs, 1000 * 2 ** (w.deaths.length - cl.deaths));
      await events.append({ type: 'router.crash_looping', actor: 'controller', subject, data: { environment, service, deaths: w.deaths.length, windowMs: cl.windowMs, backoffMs } }).catch(() => undefined);
      this.alert(ROUTER_CRASH_LOOP_ALERT, 'page', w.entry, `the router of ${environment}/${service} died ${w.deaths.length} times in ${Math.round(cl.windowMs / 1000)} s; restarting with a ${Math.round(backoffMs / 1000)} s back-off`, 3_600_000);
      await clock.sleep(backoffMs);
      if (this.stopped) return;
    }
    try {
      const { record } = await this.o.routers.ensure(environment, service, listen, admin, w.entry.identity ?? 'greenlight', w.entry.healthCheck);
      const gapMs = clock.now() - diedAt;
      await events.append({ type: 'router.restarted', actor: 'controller', subject, data: { environment, service, pid: record.pid, previousPid: pid, listen, gapMs } }).catch(() => undefined);
      this.alert(ROUTER_RESTARTED_ALERT, 'warning', w.entry, `the router of ${environment}/${service} (pid ${pid}) died and was restarted on ${listen} after ${gapMs} ms`, 15 * 60_000);
      this.o.log?.(`router ${environment}/${service} restarted (pid ${record.pid}) after ${gapMs} ms`);
    } catch (err) {
      await events.append({ type: 'router.restart_failed', actor: 'controller', subject, data: { environment, service, listen, error: describe(err) } }).catch(() => undefined);
      this.alert(ROUTER_CRASH_LOOP_ALERT, 'page', w.entry, `the router of ${environment}/${service} died and could not be restarted on ${listen}: ${describe(err)}`, 3_600_000);
      // the next poll tries again, after a pause so a port taken by someone else is not hammered
      await clock.sleep(Math.min(cl.maxBackoffMs, 1000 * 2 ** Math.max(0, w.deaths.length - 1)));
    }
  }

  private alert(alertname: string, severity: string, e: SupervisedRouter, summary: string, forMs: number): void {
    if (!this.o.alert) return;
    const now = this.o.clock.now();
    try {
      this.o.alert([{ labels: { alertname, severity, environment: e.environment, service: e.service, component: 'router' }, annotations: { summary }, startsAt: now, endsAt: now + forMs }]);
    } catch (err) {
      this.o.log?.(`alerting: ${describe(err)}`);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
