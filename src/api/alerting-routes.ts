// Alerts, silences, pages and on-call over the API; the Alertmanager webhook intake; and the
// signed action links sent in pages (public routes: the signature is the authorisation).
import type { Alerting } from '../alerting/alerting.ts';
import { whoIsOnCall } from '../alerting/oncall/schedule.ts';
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import { parseApiAlerts } from '../alerting/incoming/api.ts';
import { STREAMING, type Request, type Routes } from './http.ts';

export function alertingRoutes(
  routes: Routes,
  deps: { alerting: () => Alerting | undefined; clock: Clock; actorOf: (req: Request) => string; authorizeLink?: (by: string | undefined, pageId: string, action: string) => string | undefined },
): Routes {
  const need = (): Alerting => {
    const a = deps.alerting();
    if (!a) throw new GreenlightError('NOT_FOUND', 'alerting is not configured', { hint: 'add an "alerting:" section to greenlight.yaml (see docs/alerting.md)' });
    return a;
  };
  const page = (req: Request) => {
    const id = req.params.id!;
    if (!need().escalations.get(id)) throw new GreenlightError('NOT_FOUND', `no page ${id}`, { hint: 'greenlight pages lists them' });
    return id;
  };
  const actionLink = async (req: Request) => {
    const url = new URL(req.raw.url ?? '/', 'http://localhost');
    const out = await need().handleActionLink(url, { method: req.method, actor: 'link', ...(deps.authorizeLink ? { authorize: deps.authorizeLink } : {}) });
    req.res.writeHead(out.status, out.headers);
    req.res.end(out.body);
    return STREAMING;
  };
  return routes
    .add('GET', '/v1/alerts', async () => ({ alerts: need().dispatcher.alerts(), groups: need().dispatcher.groupViews() }))
    .add('POST', '/v1/alerts', async (req) => {
      const alerts = parseApiAlerts(req.body);
      return { received: need().receive(alerts, 'api').length };
    })
    .add('POST', '/v1/alerts/alertmanager', async (req) => {
      const out = need().receiveAlertmanagerWebhook(req.body);
      return { status: out.status, body: out.body };
    })
    .add('GET', '/v1/silences', async () => ({ silences: need().silences.list() }))
    .add('POST', '/v1/silences', async (req) => {
      const b = { created_by: deps.actorOf(req), ...((req.body ?? {}) as object) };
      return { status: 201, body: await need().silences.create(b) };
    })
    .add('POST', '/v1/silences/:id/expire', async (req) => need().silences.expire(req.params.id!, deps.actorOf(req)))
    .add('GET', '/v1/pages', async () => ({ pages: need().escalations.list() }))
    .add('POST', '/v1/pages/:id/acknowledge', async (req) => need().escalations.acknowledge(page(req), deps.actorOf(req)))
    .add('POST', '/v1/pages/:id/resolve', async (req) => need().escalations.resolve(page(req), deps.actorOf(req)))
    .add('POST', '/v1/pages/:id/snooze', async (req) => {
      const ms = (req.body as { ms?: unknown } | undefined)?.ms;
      return need().escalations.snooze(page(req), deps.actorOf(req), typeof ms === 'number' ? ms : undefined);
    })
    .add('GET', '/v1/oncall', async (req) => {
      const atText = req.query.get('at');
      const at = atText ? Date.parse(atText) : deps.clock.now();
      if (Number.isNaN(at)) throw new GreenlightError('USAGE', `at=${atText} is not a time`, { hint: 'use ISO 8601, e.g. 2026-11-21T09:00:00+01:00' });
      const schedules = [...need().schedules.entries()].map(([name, s]) => ({ schedule: name, at: new Date(at).toISOString(), onCall: whoIsOnCall(s, at) ?? null }));
      return { schedules };
    })
    .add('GET', '/v1/action/pages/:id/:action', actionLink, { public: true })
    .add('POST', '/v1/action/pages/:id/:action', actionLink, { public: true });
}
