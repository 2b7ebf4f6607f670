// Builds the drill schedule from the config for the controller: who is in the rotation, how a
// reminder reaches them (their own notifiers, else the first receiver's), and how a due drill
// starts (the runner, as `greenlight drill run` would).
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { Clock } from '../clock/clock.ts';
import type { Config } from '../config/schema.ts';
import type { EventLog } from '../events/log.ts';
import { buildNotifier } from '../alerting/notifiers/registry.ts';
import { buildSchedule } from '../alerting/oncall/schedule.ts';
import type { DrillRunner } from './runner.ts';
import { loadScenario } from './scenario.ts';
import { DrillScheduler } from './schedule.ts';

export function drillScheduler(config: Config, configFile: string, deps: { clock: Clock; events: EventLog; runner: DrillRunner; onError: (err: unknown) => void }): DrillScheduler | undefined {
  const s = config.drills?.schedule;
  if (!s) return undefined;
  const alerting = config.alerting;
  let pool = s.participants ?? [];
  if (s.oncall_schedule !== undefined) {
    const spec = alerting?.schedules.find((x) => x.name === s.oncall_schedule);
    // the rotation's order, every layer in turn: each person drills once per round
    if (spec) pool = [...new Set(buildSchedule(spec.name, spec).layers.flatMap((l) => l.users))];
  }
  const build = (spec: NonNullable<typeof alerting>['users'][number]['notifiers'][number]) => buildNotifier(spec, { clock: deps.clock, log: deps.events, dedup: false });
  const fallback = alerting?.receivers.find((r) => r.notifiers.length > 0)?.notifiers ?? [];
  return new DrillScheduler({
    clock: deps.clock,
    events: deps.events,
    schedule: s,
    pool,
    async remind(participants, text) {
      for (const id of participants) {
        const user = alerting?.users.find((u) => u.id === id);
        const specs = user && user.notifiers.length ? user.notifiers : fallback;
        for (const spec of specs) {
          const r = await build(spec).send({
            id: randomUUID(),
            dedupKey: `drill-reminder/${id}/${text}`,
            action: 'trigger',
            severity: 'info',
            summary: text,
            source: `${s.environment}/drills`,
            labels: { drill: 'reminder', environment: s.environment },
            startsAt: deps.clock.now(),
            recipient: { name: user?.name ?? id, ...(user?.email ? { email: user.email } : {}) },
          });
          if (!r.ok) throw new Error(`reminder to ${id} not delivered: ${r.error ?? 'unknown error'}`);
        }
      }
    },
    async start(slot) {
      const { scenario } = loadScenario(slot.scenario, dirname(configFile));
      const d = await deps.runner.begin({ scenario, ref: slot.scenario, environment: s.environment, participants: slot.participants, actor: 'drills:schedule' });
      return d.id;
    },
    onError: deps.onError,
  });
}
