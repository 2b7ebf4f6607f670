// Alerts posted to Greenlight's own API (POST /v1/alerts), validated the way Alertmanager's
// intake (POST /api/v2/alerts, "postableAlerts") validates them: a JSON array of objects with a
// non-empty label set of string values, string annotations, RFC 3339 (or epoch ms) times and a
// string generatorURL. A malformed alert is refused with a 400 that names the field, so it never
// reaches a group, a notifier or the dashboard, where one bad value would spoil the others.
import { z } from 'zod';
import { GreenlightError } from '../../errors/errors.ts';
import type { IncomingAlert } from '../alerts/alert.ts';

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** RFC 3339 as Alertmanager accepts it; a number is epoch milliseconds (Greenlight's own producers). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

const time = z.union([
  z.string().refine((s) => s === GO_ZERO_TIME || (RFC3339.test(s) && Number.isFinite(Date.parse(s))), { message: 'expected an RFC 3339 time, e.g. 2026-11-21T09:00:00Z' }),
  z.number().finite().min(0, { message: 'expected epoch milliseconds >= 0' }).max(8.64e15, { message: 'time out of range' }),
]);

export const apiAlertSchema = z
  .object({
    labels: z
      .record(z.string().regex(LABEL_NAME, { message: 'expected a label name ([A-Za-z_][A-Za-z0-9_]*)' }), z.string({ message: 'label values must be strings' }))
      .refine((l) => Object.keys(l).length > 0, { message: 'an alert needs at least one label' }),
    annotations: z.record(z.string(), z.string({ message: 'annotation values must be strings' })).optional(),
    startsAt: time.optional(),
    endsAt: time.optional(),
    generatorURL: z.string().max(4096).optional(),
  })
  .strict();

export const apiAlertsSchema = z.array(apiAlertSchema, { message: 'send a JSON array of alerts: [{"labels": {...}, "annotations": {...}}]' }).max(10_000);

function toMs(t: string | number | undefined): number | undefined {
  if (t === undefined || t === GO_ZERO_TIME) return undefined;
  return typeof t === 'number' ? t : Date.parse(t);
}

/** Validates a POST /v1/alerts body; throws a USAGE error (400) naming each bad field. */
export function parseApiAlerts(body: unknown): IncomingAlert[] {
  const parsed = apiAlertsSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 20).map((i) => `${formatIssuePath(i.path)}: ${i.message}`);
    throw new GreenlightError('USAGE', `invalid alerts: ${problems.join('; ')}`, {
      hint: 'each alert is {"labels": {"alertname": "..."}, "annotations": {"summary": "..."}, "startsAt": "<RFC 3339>", "endsAt": "<RFC 3339>", "generatorURL": "..."}; values are strings',
      data: { problems },
    });
  }
  return parsed.data.map((a) => {
    const out: IncomingAlert = { labels: a.labels, annotations: a.annotations ?? {} };
    const s = toMs(a.startsAt);
    const e = toMs(a.endsAt);
    if (s !== undefined) out.startsAt = s;
    if (e !== undefined) out.endsAt = e;
    if (a.generatorURL) out.generatorURL = a.generatorURL;
    return out;
  });
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `.${String(seg)}`;
  return out ? out.replace(/^\./, '') : '(body)';
}

/**
 * The same rules for alerts handed in by any producer (rules, Alertmanager, the API): the
 * dispatcher refuses one that breaks them, alone, instead of letting it into a group.
 */
export function incomingAlertProblem(a: unknown): string | undefined {
  if (!a || typeof a !== 'object' || Array.isArray(a)) return 'an alert must be an object';
  const x = a as Record<string, unknown>;
  if (!x.labels || typeof x.labels !== 'object' || Array.isArray(x.labels)) return 'labels must be an object';
  const labels = Object.entries(x.labels as object);
  if (labels.length === 0) return 'an alert needs at least one label';
  for (const [k, v] of labels) if (!LABEL_NAME.test(k) || typeof v !== 'string') return `labels.${k}: expected a label name with a string value`;
  if (x.annotations !== undefined) {
    if (!x.annotations || typeof x.annotations !== 'object' || Array.isArray(x.annotations)) return 'annotations must be an object';
    for (const [k, v] of Object.entries(x.annotations as object)) if (typeof v !== 'string') return `annotations.${k}: expected a string`;
  }
  for (const k of ['startsAt', 'endsAt'] as const) {
    if (x[k] !== undefined && !(typeof x[k] === 'number' && Number.isFinite(x[k]))) return `${k}: expected a finite number`;
  }
  if (x.value !== undefined && typeof x.value !== 'number') return 'value: expected a number';
  if (x.generatorURL !== undefined && typeof x.generatorURL !== 'string') return 'generatorURL: expected a string';
  return undefined;
}
