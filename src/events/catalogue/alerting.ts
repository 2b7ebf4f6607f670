// Events of src/alerting: alerts and their groups, pages and their escalation, notifications
// sent by the notifiers, silences.
import { z } from 'zod';
import { at, count, defineEvent, labels, ms, nonEmpty, num, str } from './define.ts';

const owner = 'alerting';

const alert = {
  fingerprint: nonEmpty,
  alertname: str,
  labels,
  annotations: labels,
  startsAt: at,
  origin: z.enum(['rule', 'alertmanager', 'api', 'rollout', 'controller']),
  generatorURL: str.optional(),
  from: z.enum(['pending', 'firing', 'resolved']).optional(),
  endsAt: at.optional(),
  value: num.optional(),
  incidentId: nonEmpty.optional(),
};
const page = { pageId: nonEmpty, policy: nonEmpty, dedupKey: str.optional(), incidentId: nonEmpty.optional() };
/** a timer that fell due while no controller ran fires at once and says how late */
const late = { lateByMs: ms.optional() };
const notification = {
  notifier: nonEmpty,
  kind: nonEmpty,
  notificationId: str.optional(),
  dedupKey: str.optional(),
  action: z.enum(['trigger', 'acknowledge', 'resolve']),
  severity: z.enum(['critical', 'error', 'warning', 'info']).optional(),
  attempts: count,
  durationMs: ms.optional(),
  incidentId: nonEmpty.optional(),
  recipient: str.optional(),
  status: z.number().int().optional(),
};
const silence = { id: nonEmpty };

export const alertingEvents = [
  defineEvent({ type: 'alert.pending', owner, meaning: 'an alert condition holds but not yet for its `for` duration', data: z.strictObject(alert) }),
  defineEvent({ type: 'alert.firing', owner, meaning: 'an alert fires: it is routed to its receivers', data: z.strictObject(alert) }),
  defineEvent({ type: 'alert.resolved', owner, meaning: 'an alert stopped firing', data: z.strictObject(alert) }),
  defineEvent({
    type: 'alert.group.notified',
    owner,
    meaning: 'a group of alerts was sent to a receiver (which fingerprints fired and resolved)',
    data: z.strictObject({ receiver: nonEmpty, groupKey: str, groupLabels: labels, firing: z.array(str), resolved: z.array(str) }),
  }),
  defineEvent({
    type: 'page.triggered',
    owner,
    meaning: 'a page was opened for a key: what a controller starting later needs to carry it on (the notification it sends)',
    data: z.strictObject({ ...page, key: str, notification: z.unknown() }),
  }),
  defineEvent({
    type: 'page.sent',
    owner,
    meaning: 'the people on call at one level of an escalation policy were paged',
    data: z.strictObject({
      ...page,
      level: count,
      round: count,
      reason: str.optional(),
      users: z.array(str),
      delivered: z.array(str),
      failed: z.array(z.strictObject({ user: str, error: str.optional() })),
      ackTimeoutMs: ms,
      /** when this level's time is up, so a controller starting later keeps the same deadline */
      dueAt: at.optional(),
      ...late,
    }),
  }),
  defineEvent({
    type: 'page.acknowledged',
    owner,
    meaning: 'a person acknowledged the page: escalation stops',
    data: z.strictObject({ ...page, level: count, round: count, timeToAcknowledgeMs: ms }),
  }),
  defineEvent({
    type: 'page.snoozed',
    owner,
    meaning: 'a person snoozed the page until a time',
    data: z.strictObject({ ...page, until: at, durationMs: ms, level: count }),
  }),
  defineEvent({
    type: 'page.resolved',
    owner,
    meaning: 'the page ended (its alert or incident resolved, or a person resolved it)',
    data: z.strictObject({ ...page, reason: str, durationMs: ms, acknowledged: z.boolean() }),
  }),
  defineEvent({
    type: 'page.escalated',
    owner,
    meaning: 'nobody acknowledged in time, or nobody was on call: the next level is paged',
    data: z.strictObject({ ...page, fromLevel: count, toLevel: count.optional(), round: count, reason: str, ...late }),
  }),
  defineEvent({
    type: 'page.exhausted',
    owner,
    meaning: 'the escalation policy ran out of levels and repeats: nobody more will be paged',
    data: z.strictObject({ ...page, reason: str }),
  }),
  defineEvent({ type: 'notification.sent', owner, meaning: 'a notifier delivered a notification', data: z.strictObject(notification) }),
  defineEvent({
    type: 'notification.failed',
    owner,
    meaning: 'a notifier could not deliver a notification, after its attempts',
    data: z.strictObject({ ...notification, reason: str, retryable: z.boolean() }),
  }),
  defineEvent({
    type: 'silence.created',
    owner,
    meaning: 'a silence mutes the alerts its matchers match, from startsAt to endsAt',
    data: z.strictObject({ ...silence, matchers: z.array(str), startsAt: at, endsAt: at, createdBy: str, comment: str }),
  }),
  defineEvent({
    type: 'silence.expired',
    owner,
    meaning: 'a silence ended (early: a person ended it before endsAt)',
    data: z.strictObject({ ...silence, early: z.boolean(), expiredBy: str.optional() }),
  }),
] as const;
