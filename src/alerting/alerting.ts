// Builds the alerting module from its parsed config: notifiers, receivers, the dispatcher, the
// schedules and the escalation engine, and exposes what the controller mounts (feeding alerts,
// the Alertmanager webhook, the action links, silences). The controller owns the HTTP routes.
import type { Clock } from '../clock/clock.ts';
import type { EventLog } from '../events/log.ts';
import type { Alert, AlertOrigin, IncomingAlert, RuleAlertChange } from './alerts/alert.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import { NotifierReceiver, type Receiver } from './dispatch/receiver.ts';
import { buildRoute } from './dispatch/route.ts';
import { Silences } from './dispatch/silences.ts';
import type { IncidentSink } from './dispatch/stages.ts';
import { receiveAlertmanagerWebhook, type WebhookResult } from './incoming/alertmanager.ts';
import { buildNotifier } from './notifiers/registry.ts';
import { resolveSecret } from './notifiers/spec.ts';
import type { Notifier } from './notifiers/notifier.ts';
import { EscalationEngine, type EscalationPolicy, type LevelTarget, type Person } from './oncall/escalation.ts';
import { EscalationReceiver } from './oncall/escalation-receiver.ts';
import { handleActionLink, type ActionLinkResponse, type LinkSigner } from './oncall/links.ts';
import { buildSchedule, type Schedule } from './oncall/schedule.ts';
import type { AlertingConfig } from './schema.ts';

export interface AlertingDeps {
  clock: Clock;
  log: EventLog;
  /** opens or joins incidents for paging alerts; without it alerts page but open no incident */
  incidents?: IncidentSink;
  /** where `{ env: NAME }` secrets are read; process.env by default */
  env?: Record<string, string | undefined>;
  /** back-off jitter for the notifiers' retries */
  random?: () => number;
  onError?: (err: unknown) => void;
}

export interface Alerting {
  dispatcher: Dispatcher;
  escalations: EscalationEngine;
  silences: Silences;
  schedules: ReadonlyMap<string, Schedule>;
  /** alerts from the API or any producer; notifications follow on the routes' timers */
  receive(alerts: readonly IncomingAlert[], origin?: AlertOrigin): Alert[];
  /** subscribe to the rule engine: `ruleEngine.subscribe((c) => alerting.receiveRuleChanges(c))` */
  receiveRuleChanges(changes: readonly RuleAlertChange[]): Alert[];
  /** POST body of an Alertmanager webhook_configs delivery */
  receiveAlertmanagerWebhook(body: unknown): WebhookResult;
  /** GET and POST `<action_links.base_url>/pages/:id/:action`; 404 when action_links is not configured */
  handleActionLink(url: string | URL, opts?: { method?: string; actor?: string; authorize?: (by: string | undefined, pageId: string, action: string) => string | undefined }): Promise<ActionLinkResponse>;
  /** action_links' base URL, secret and ttl, for other signed links (approvals); undefined when not configured */
  readonly links: LinkSigner | undefined;
  /**
   * Rebuilds silences, alerts, groups, pages and their timers from the log: on start, and when a
   * standby takes over. Escalations that fell due meanwhile fire at once, marked late.
   */
  restore(log: EventLog): Promise<{ silences: number; alerts: number; groups: number; pages: number; late: number }>;
  stop(): void;
}

export function createAlerting(config: AlertingConfig, deps: AlertingDeps): Alerting {
  const { clock, log } = deps;
  const onError = deps.onError ?? (() => {});
  // The dispatcher's notification log decides when a group is re-sent (repeat_interval, new alerts),
  // so the notifiers' own "never twice per key" memory is turned off here.
  const notifier = (spec: AlertingConfig['receivers'][number]['notifiers'][number]): Notifier =>
    buildNotifier(spec, { clock, log, dedup: false, ...(deps.env ? { env: deps.env } : {}), ...(deps.random ? { random: deps.random } : {}) });

  const schedules = new Map(config.schedules.map((s) => [s.name, buildSchedule(s.name, s)]));
  const policies = new Map<string, EscalationPolicy>(
    config.escalation_policies.map((p) => [
      p.name,
      {
        name: p.name,
        repeat: p.repeat,
        snoozeMs: p.snooze,
        levels: p.levels.map((l) => ({
          ackTimeoutMs: l.ack_timeout,
          targets: [...l.users.map((user): LevelTarget => ({ user })), ...l.schedules.map((schedule): LevelTarget => ({ schedule }))],
        })),
      },
    ]),
  );
  const people = new Map<string, Person>(config.users.map((u) => [u.id, { name: u.name, email: u.email, notifiers: u.notifiers.map(notifier) }]));
  let links: LinkSigner | undefined;
  if (config.action_links) {
    links = { baseUrl: config.action_links.base_url, secret: resolveSecret(config.action_links.secret, { clock, ...(deps.env ? { env: deps.env } : {}) }, 'alerting.action_links.secret'), ttlMs: config.action_links.ttl };
  }
  const escalations = new EscalationEngine({ clock, log, policies, schedules, people, ...(links ? { links } : {}), onError });

  const receivers = new Map<string, Receiver>();
  const receiverNotifiers = new Map<string, readonly Notifier[]>();
  for (const r of config.receivers) {
    const notifiers = r.notifiers.map(notifier);
    receiverNotifiers.set(r.name, notifiers);
    if (r.escalation_policy !== undefined) {
      // With a policy, the notifiers carry the pages (each with its recipient and links).
      receivers.set(r.name, new EscalationReceiver({ name: r.name, policy: r.escalation_policy, engine: escalations, notifiers }));
    } else {
      receivers.set(r.name, new NotifierReceiver({ name: r.name, notifiers, clock, sendResolved: r.send_resolved }));
    }
  }

  const silences = new Silences({ clock, log, onError });
  const dispatcher = new Dispatcher({
    clock,
    log,
    route: buildRoute(config.route),
    receivers,
    inhibitRules: config.inhibit_rules,
    silences,
    ...(deps.incidents ? { incidents: deps.incidents } : {}),
    onError,
  });

  return {
    dispatcher,
    escalations,
    silences,
    schedules,
    receive: (alerts, origin = 'api') => dispatcher.receive(alerts, origin),
    receiveRuleChanges: (changes) => dispatcher.receiveRuleChanges(changes),
    receiveAlertmanagerWebhook: (body) => receiveAlertmanagerWebhook(body, { dispatcher, now: () => clock.now() }),
    links,
    async handleActionLink(url, opts = {}) {
      if (!links) {
        return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'action links are not configured (alerting.action_links)' };
      }
      return handleActionLink(url, { secret: links.secret, now: () => clock.now(), pages: escalations, ...opts });
    },
    async restore(from) {
      const s = await silences.restore(from);
      // pages first: a restored group that flushes at once then finds its page open
      const p = await escalations.restore(from, (key) => receiverNotifiers.get(key.slice(0, key.indexOf('|'))) ?? []);
      const d = await dispatcher.restore(from);
      return { silences: s, alerts: d.alerts, groups: d.groups, pages: p.open, late: p.late };
    },
    stop() {
      dispatcher.stop();
      escalations.stop();
    },
  };
}
