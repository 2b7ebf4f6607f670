import { test } from 'node:test';
import { queryType } from '../../events/log.ts';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import type { Alert } from '../alerts/alert.ts';
import { fingerprint } from '../alerts/fingerprint.ts';
import { Inhibitor } from './inhibit.ts';
import { formatMatcher, matchesAll, parseMatcher, type Matcher } from './matchers.ts';
import type { GroupNotice, Receiver } from './receiver.ts';
import { buildRoute } from './route.ts';
import { Silences } from './silences.ts';
import { dedupStage, inhibitStage, Marker, needsUpdate, NotificationLog, recordStage, runStages, sendStage, silenceStage, type FlushContext } from './stages.ts';

const NOW = Date.UTC(2026, 2, 1);
function m(s: string): Matcher {
  const r = parseMatcher(s);
  if (typeof r === 'string') throw new Error(r);
  return r;
}
function alert(labels: Record<string, string>, over: Partial<Alert> = {}): Alert {
  return { fingerprint: fingerprint(labels), labels, annotations: {}, startsAt: NOW - 1000, pending: false, origin: 'api', updatedAt: NOW - 1000, ...over };
}
function receiver(name = 'r', answer: { ok: boolean; error?: string } = { ok: true }, sendResolved = true): Receiver & { notices: GroupNotice[] } {
  const notices: GroupNotice[] = [];
  return { name, sendResolved, notices, notify: async (n) => (notices.push(n), answer) };
}
function ctx(rx: Receiver, over: Partial<FlushContext> = {}): FlushContext {
  return { now: NOW, groupKey: 'g', dedupKey: 'd', route: buildRoute({ receiver: rx.name, repeat_interval: 3_600_000 }), groupLabels: {}, receiver: rx, ...over };
}

test('matchers: the four operators, anchoring, missing labels read as empty, quoting', () => {
  const labels = { service: 'web', code: '503' };
  assert.ok(matchesAll([m('service="web"'), m('code=~"5.."'), m('code!~"2.."'), m('team!="ops"')], labels));
  assert.ok(!matchesAll([m('code=~"5"')], labels), 'regexes are anchored');
  assert.ok(matchesAll([m('team=""')], labels), 'a missing label reads as ""');
  assert.ok(matchesAll([m('service = web')], labels), 'quotes are optional');
  assert.deepEqual(m('msg="say \\"hi\\""'), { name: 'msg', op: '=', value: 'say "hi"' });
  assert.equal(formatMatcher(m('a=~b|c')), 'a=~"b|c"');
  assert.match(String(parseMatcher('no operator')), /not a matcher/);
  assert.match(String(parseMatcher('a=~"("')), /invalid regular expression/);
});

test('needsUpdate follows Alertmanager', () => {
  const s = (...x: string[]) => new Set(x);
  const e = (firing: Set<string>, resolved: Set<string>, at = NOW - 60_000) => ({ firing, resolved, at });
  const H = 3_600_000;
  assert.equal(needsUpdate(undefined, s('a'), s(), true, H, NOW), true, 'first notification');
  assert.equal(needsUpdate(undefined, s(), s('a'), true, H, NOW), false, 'only resolved, never notified');
  assert.equal(needsUpdate(e(s('a'), s()), s('a', 'b'), s(), true, H, NOW), true, 'a new firing alert');
  assert.equal(needsUpdate(e(s('a', 'b'), s()), s('a'), s('b'), true, H, NOW), true, 'a resolution, send_resolved');
  assert.equal(needsUpdate(e(s('a', 'b'), s()), s('a'), s('b'), false, H, NOW), false, 'a resolution, not send_resolved');
  assert.equal(needsUpdate(e(s('a'), s()), s(), s('a'), false, H, NOW), true, 'all resolved: always, to clear the log');
  assert.equal(needsUpdate(e(s(), s('a')), s(), s('a'), true, H, NOW), false, 'nothing firing before or now');
  assert.equal(needsUpdate(e(s('a'), s(), NOW - H + 1), s('a'), s(), true, H, NOW), false, 'before repeat_interval');
  assert.equal(needsUpdate(e(s('a'), s(), NOW - H), s('a'), s(), true, H, NOW), true, 'at repeat_interval');
});

test('dedup stage passes or empties the list; record stage writes the log entry and an event', async () => {
  const nflog = new NotificationLog();
  const rx = receiver();
  const a = alert({ alertname: 'A' });
  assert.equal((await dedupStage(nflog)(ctx(rx), [a])).length, 1);
  const clock = new ManualClock(NOW);
  const log = new MemoryEventLog(clock);
  await recordStage(nflog, log)(ctx(rx), [a]);
  assert.deepEqual([...nflog.get('g', 'r')!.firing], [a.fingerprint]);
  assert.equal((await dedupStage(nflog)(ctx(rx), [a])).length, 0);
  assert.equal((await dedupStage(nflog)(ctx(rx, { now: NOW + 3_600_000 }), [a])).length, 1);
  const [ev] = await queryType(log, 'alert.group.notified');
  assert.equal(ev!.subject, 'alert/d');
  assert.deepEqual(ev!.data.firing, [a.fingerprint]);
});

test('send stage: a failing receiver fails the flush; a receiver without send_resolved does not hear of resolutions', async () => {
  const bad = receiver('bad', { ok: false, error: 'HTTP 500' });
  await assert.rejects(sendStage()(ctx(bad), [alert({ alertname: 'A' })]), /receiver "bad" failed: HTTP 500/);
  const quiet = receiver('quiet', { ok: true }, false);
  const resolved = alert({ alertname: 'A' }, { endsAt: NOW - 1 });
  await sendStage()(ctx(quiet), [resolved]);
  assert.equal(quiet.notices.length, 0);
  await sendStage()(ctx(quiet), [resolved, alert({ alertname: 'B' })]);
  assert.deepEqual(quiet.notices[0]!.resolved, []);
  assert.equal(quiet.notices[0]!.firing.length, 1);
});

test('silence and inhibit stages filter alone and mark why', async () => {
  const clock = new ManualClock(NOW);
  const silences = new Silences({ clock });
  const sil = await silences.create({ matchers: ['service="web"'], duration: '1h', created_by: 'amy', comment: 'known' });
  const marker = new Marker();
  const web = alert({ alertname: 'A', service: 'web' });
  const api = alert({ alertname: 'A', service: 'api' });
  const left = await silenceStage(silences, marker)(ctx(receiver()), [web, api]);
  assert.deepEqual(left.map((a) => a.labels.service), ['api']);
  assert.deepEqual(marker.status(web.fingerprint).silencedBy, [sil.id]);
  const source = alert({ alertname: 'rollback_in_progress', environment: 'production' });
  const target = alert({ alertname: 'Probe', kind: 'probe', environment: 'production' });
  const inhibitor = new Inhibitor([{ source_matchers: [m('alertname="rollback_in_progress"')], target_matchers: [m('kind="probe"')], equal: ['environment'] }], () => [source, target]);
  assert.deepEqual(await inhibitStage(inhibitor, marker)(ctx(receiver()), [target, source]), [source]);
  assert.deepEqual(marker.status(target.fingerprint).inhibitedBy, [source.fingerprint]);
  // a resolved source inhibits nothing
  const ended = new Inhibitor([{ source_matchers: [m('alertname="rollback_in_progress"')], target_matchers: [m('kind="probe"')], equal: ['environment'] }], () => [{ ...source, endsAt: NOW - 1 }, target]);
  assert.equal((await inhibitStage(ended)(ctx(receiver()), [target])).length, 1);
  silences.stop();
});

test('runStages stops at the first stage that leaves nothing', async () => {
  const seen: string[] = [];
  const ok = await runStages(
    [async (_c, a) => (seen.push('one'), a), async () => (seen.push('two'), []), async (_c, a) => (seen.push('three'), a)],
    ctx(receiver()),
    [alert({ alertname: 'A' })],
  );
  assert.equal(ok, false);
  assert.deepEqual(seen, ['one', 'two']);
});
