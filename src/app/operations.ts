// The "after the deploy" half of the controller: incidents opened from what happens, monitors per
// environment feeding alert rules, and the alerting pipeline that pages people. Built from config
// by the composition root; each part only knows the small interfaces of the others.
import type { Clock } from '../clock/clock.ts';
import type { Config } from '../config/schema.ts';
import type { EventLog } from '../events/log.ts';
import { describe } from '../errors/errors.ts';
import { createAlerting, type Alerting } from '../alerting/alerting.ts';
import { startIncidentAutomation, type IncidentAutomation } from '../incidents/automation.ts';
import { MonitorService } from '../monitor/service/service.ts';
import { monitorsSchema } from '../monitor/schema.ts';
import type { Runtime } from '../rollout/runtime.ts';
import type { RuleAlertChange } from '../alerting/alerts/alert.ts';
import { pageStarvedRollouts } from './starved-rollouts.ts';
import { pageApprovalRequests } from '../approvals/notify.ts';
import { buildApprovalUrl } from '../approvals/links.ts';

export interface Operations {
  incidents: IncidentAutomation;
  alerting: Alerting | undefined;
  monitors: Map<string, MonitorService>;
  status(): Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startOperations(deps: {
  config: Config;
  events: EventLog;
  clock: Clock;
  runtime: Runtime;
  log: (line: string) => void;
  /** a running drill marks the alerts of its environment (DRILL label and summary) */
  markAlert?: (c: RuleAlertChange, environment: string, service: string) => RuleAlertChange;
}): Promise<Operations> {
  const { config, events, clock, runtime } = deps;
  const onError = (what: string) => (err: unknown) => deps.log(`${what}: ${describe(err)}`);
  const incidents = await startIncidentAutomation({ events, clock, environments: () => config.environments.map((e) => e.name), onError: onError('incidents') });
  const alerting = config.alerting ? createAlerting(config.alerting, { clock, log: events, incidents: incidents.sink(), onError: onError('alerting') }) : undefined;
  if (alerting) {
    const r = await alerting.restore(events);
    if (r.pages || r.groups) deps.log(`alerting restored: ${r.alerts} alert(s), ${r.groups} group(s), ${r.pages} open page(s)${r.late ? `, ${r.late} escalation(s) late` : ''}`);
  }
  const unpageStarved = alerting ? pageStarvedRollouts({ events, clock, receive: (a, origin) => alerting.receive(a, origin) }) : () => {};
  const signer = alerting?.links;
  const unpageApprovals = alerting
    ? pageApprovalRequests({
        events,
        clock,
        receive: (a, origin) => alerting.receive(a, origin),
        ...(signer ? { link: (deploymentId: string, environment: string, expiresAt: number) => buildApprovalUrl({ baseUrl: signer.baseUrl, secret: signer.secret, deploymentId, environment, expiresAt: Math.min(expiresAt, clock.now() + (signer.ttlMs ?? 86_400_000)) }) } : {}),
      })
    : () => {};
  const unpage = () => (unpageStarved(), unpageApprovals());

  const monitors = new Map<string, MonitorService>();
  for (const env of config.environments) {
    for (const [service, svc] of Object.entries(config.services)) {
      if (!env.monitors && svc.slos.length === 0) continue;
      const rt = runtime.environments(service).find((e) => e.name === env.name)!;
      const mon = new MonitorService({
        clock,
        events,
        environment: env.name,
        service,
        config: env.monitors ?? monitorsDefaults(),
        slos: svc.slos,
        routerStats: () => rt.traffic.stats(),
        // a remote instance's pid means nothing to this machine's /proc: no local process sampling
        instances: () => rt.target.list({ service, environment: env.name }).filter((i) => i.state === 'ready').map((i) => (i.host === undefined ? i : { ...i, pid: 0 })),
        ...(alerting ? { onAlert: (c) => void alerting.receiveRuleChanges([deps.markAlert ? deps.markAlert(c, env.name, service) : c]) } : {}),
      });
      mon.start();
      monitors.set(`${env.name}/${service}`, mon);
    }
  }
  return {
    incidents,
    alerting,
    monitors,
    status: () => [...monitors.values()].map((m) => m.status() as unknown as Record<string, unknown>),
    async stop() {
      unpage();
      for (const m of monitors.values()) await m.stop();
      alerting?.stop();
      incidents.stop();
    },
  };
}

function monitorsDefaults() {
  return monitorsSchema.parse({});
}
