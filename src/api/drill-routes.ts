// Drill routes of the v1 API: start, stop, the running drill, scorecards, reports, history and
// scenarios derived from incidents. The scenario travels as YAML text (the CLI reads the team's
// file, or names a built-in) and is validated here again, so the API refuses what the CLI would.
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { DrillRunner } from '../drills/runner.ts';
import type { DrillScheduler } from '../drills/schedule.ts';
import { scorecardOf } from '../drills/runner.ts';
import { builtinScenarioNames, loadScenario, parseScenario } from '../drills/scenario.ts';
import type { DrillsConfig } from '../drills/schema.ts';
import { drillReport } from '../drills/report.ts';
import { historyOf } from '../drills/history.ts';
import { scenarioFromIncident } from '../drills/from-incident.ts';
import type { Request, Routes } from './http.ts';

export interface DrillRouteDeps {
  events: EventLog;
  clock: Clock;
  drills: () => DrillRunner;
  schedule?: () => DrillScheduler | undefined;
  config: () => DrillsConfig;
  /** where scenario files named by path are resolved (the config's directory) */
  baseDir: string;
  actorOf: (req: Request) => string;
}

export function drillRoutes(routes: Routes, deps: DrillRouteDeps): Routes {
  const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
  const str = (b: Record<string, unknown>, k: string): string | undefined => (typeof b[k] === 'string' && (b[k] as string).trim() ? (b[k] as string).trim() : undefined);
  const card = async (id: string) => {
    const c = await scorecardOf(deps.events, id, deps.config());
    if (!c) throw new GreenlightError('NOT_FOUND', `no drill ${id}`, { hint: 'greenlight drill history lists them' });
    return c;
  };
  return routes
    .add('GET', '/v1/drills', async () => {
      const all = await deps.events.query({ types: ['drill.*'] });
      return { running: deps.drills().running(), history: historyOf(all), upcoming: deps.schedule?.()?.upcoming() ?? [], scenarios: builtinScenarioNames(), targets: deps.config().targets };
    })
    .add('POST', '/v1/drills', async (req) => {
      const b = body(req);
      const ref = str(b, 'scenario');
      const text = typeof b.scenarioText === 'string' ? b.scenarioText : undefined;
      if (!ref && !text) throw new GreenlightError('USAGE', '"scenario" (a built-in name or a file) or "scenarioText" is required');
      const scenario = text !== undefined ? parseScenario(text, ref ?? 'scenario') : loadScenario(ref!, deps.baseDir).scenario;
      const environment = str(b, 'environment');
      if (!environment) throw new GreenlightError('USAGE', '"environment" is required', { hint: 'greenlight drill run <scenario> --env staging' });
      const participants = Array.isArray(b.participants) ? b.participants.map(String) : undefined;
      const service = str(b, 'service');
      const reason = str(b, 'reason');
      const drill = await deps.drills().begin({ scenario, ref: ref ?? scenario.name, environment, actor: deps.actorOf(req), ...(service ? { service } : {}), ...(participants ? { participants } : {}), ...(reason ? { reason } : {}) });
      return { status: 201, body: { drill } };
    })
    .add('POST', '/v1/drills/stop', async (req) => ({ scorecard: await deps.drills().halt(deps.actorOf(req), str(body(req), 'reason') ?? 'stopped by a person') }))
    .add('GET', '/v1/drills/from-incident/:id', async (req) => scenarioFromIncident(deps.events, req.params.id!, deps.clock.now()))
    .add('GET', '/v1/drills/:id', async (req) => ({ scorecard: await card(req.params.id!) }))
    .add('GET', '/v1/drills/:id/report', async (req) => {
      const scorecard = await card(req.params.id!);
      return { drillId: scorecard.drillId, markdown: drillReport(scorecard), scorecard };
    });
}
