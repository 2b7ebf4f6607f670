// Events of src/monitor: per-service summaries, anomalies, trend warnings, rule alerts and probes.
import { z } from 'zod';
import { at, count, defineEvent, labels, ms, nonEmpty, num, str } from './define.ts';

const owner = 'monitor';
const where = { environment: nonEmpty, service: nonEmpty };
const ruleChange = (state: 'pending' | 'firing' | 'resolved') =>
  z.strictObject({
    name: nonEmpty,
    labels,
    state: z.literal(state),
    activeAt: at,
    firedAt: at.optional(),
    resolvedAt: at.optional(),
    value: num,
    annotations: labels,
  });
const probe = (state: 'up' | 'down') =>
  z.strictObject({ probe: nonEmpty, labels, state: z.literal(state), at, previous: z.enum(['up', 'down']).optional(), reason: str.optional() });

export const monitorEvents = [
  defineEvent({
    type: 'monitor.summary',
    owner,
    meaning: 'a periodic summary of a service in an environment: traffic per version, SLOs, active signals',
    data: z.strictObject({
      ...where,
      windowMs: ms,
      requestRate: num,
      versions: z.array(z.strictObject({ version: str, requestRate: num, errorRatio: num.nullable(), p50Ms: num.nullable(), p99Ms: num.nullable() })),
      slos: z.array(z.strictObject({ name: str, objective: num, budgetRemaining: num.nullable(), errorRatio: num.nullable(), compliant: z.boolean().nullable() })),
      alerts: z.strictObject({ pending: count, firing: count }),
      anomalies: count,
      trendWarnings: count,
      series: count,
    }),
  }),
  defineEvent({
    type: 'monitor.anomaly',
    owner,
    meaning: 'a series behaves unlike its recent past (score above threshold)',
    data: z.strictObject({
      ...where,
      series: str,
      name: str,
      labels,
      value: num,
      score: num,
      threshold: num,
      /** what the point was expected to be, on which basis, and how many robust deviations away */
      expected: num.optional(),
      deviations: num.optional(),
      /** step change: how many times the level moved */
      ratio: num.optional(),
      detector: str.optional(),
      basis: z.enum(['level', 'step', 'recent mean', 'time of day', 'shape', 'held value']).optional(),
      severity: z.enum(['warning', 'ticket']).optional(),
      message: str,
    }),
  }),
  defineEvent({
    type: 'monitor.trend.warning',
    owner,
    meaning: 'a series is predicted to reach its limit (memory, error budget) in etaMs',
    data: z.strictObject({
      ...where,
      metric: str,
      slo: str.optional(),
      instance: str.optional(),
      version: str.optional(),
      pid: count.optional(),
      key: str,
      limit: num,
      level: num,
      status: str,
      etaMs: num.nullable(),
      /** the forecast's 95% range */
      etaEarliestMs: num.nullable().optional(),
      etaLatestMs: num.nullable().optional(),
      /** 1 for the first announcement of an episode, 2+ when announced again because it sped up */
      announcement: count.optional(),
      message: str,
    }),
  }),
  defineEvent({ type: 'monitor.alert.pending', owner, meaning: 'a rule of the rule engine holds, not yet for its `for`', data: ruleChange('pending') }),
  defineEvent({ type: 'monitor.alert.firing', owner, meaning: 'a rule of the rule engine fires', data: ruleChange('firing') }),
  defineEvent({ type: 'monitor.alert.resolved', owner, meaning: 'a rule of the rule engine stopped firing', data: ruleChange('resolved') }),
  defineEvent({ type: 'monitor.probe.up', owner, meaning: 'a probe succeeds again (or for the first time)', data: probe('up') }),
  defineEvent({ type: 'monitor.probe.down', owner, meaning: 'a probe fails', data: probe('down') }),
] as const;
