import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startIncidentAutomation } from './automation.ts';
import { Incidents } from './incidents.ts';
import { inline, mergeSections, parseSections, sectionHash, wrap, WIDTH } from './markdown.ts';
import { draftPostmortem, lintPostmortem, postmortemJson, regeneratePostmortem, SECTION_IDS } from './postmortem.ts';
import { canaryRollback, MIN, page, Recorder, S, switchBack, T0 } from './testing.ts';

async function breakGlassIncident() {
  const r = new Recorder();
  const auto = await startIncidentAutomation({ events: r.log, clock: r.clock, environments: () => ['staging', 'production'] });
  await canaryRollback(r, { id: 'd-1', diagnosis: true, breakGlass: 'hotfix for login, staging is down', actor: 'user:alice' });
  await auto.idle();
  auto.stop();
  const svc = new Incidents({ events: r.log, clock: r.clock });
  const [inc] = await svc.list();
  await page(r, inc!.id, T0 + 7 * S, T0 + 7 * S + 12 * MIN);
  return { r, svc, id: inc!.id };
}

test('postmortem: every section, local times with the zone, the break-glass and slow acknowledgement called out, markdownlint clean, Mermaid present', async () => {
  const { svc, id } = await breakGlassIncident();
  const rep = await svc.report(id);
  const md = draftPostmortem(rep, rep.timeline, { timeZone: 'Europe/Berlin' });
  for (const h of ['# Postmortem: web@2.0.0 rolled back in production', '## Issue Summary', '## Timeline', '## Root Cause and Resolution', '## Corrective and Preventative Measures', '## Lessons Learned']) {
    assert.ok(md.split('\n').includes(h), `has ${h}`);
  }
  assert.deepEqual(parseSections(md).flatMap((s) => (s.kind === 'section' ? [s.id] : [])), [...SECTION_IDS]);
  assert.deepEqual(lintPostmortem(md), []);
  assert.match(md, /\n```mermaid\ngantt\n {4}title .*\n {4}dateFormat x\n/);
  assert.match(md, /\| 10:00:05 CEST \| \*\*Detection\*\*: production: analysis verdict fail/);
  assert.match(md, /\| 10:00:02 CEST \| \*\*Impact\*\*: first failed request on web@2\.0\.0 \| router \|/);
  const flat = md.replace(/\n\s*/g, ' ');
  assert.match(flat, /this release skipped staging with a break-glass by alice: 'hotfix for login, staging is down' — review why the gate was bypassed/);
  assert.match(flat, /the alert took 12 min to be acknowledged — review the escalation policy/);
  assert.match(flat, /upgrade acme-auth in production to a version in >=3\.0\.0 \\<4/);
  assert.match(flat, /release web@2\.0\.0 requires acme-auth >=3\.0\.0 \\<4; production runs acme-auth 2\.4\.1 \(read from `http:\/\/127\.0\.0\.1:7102\/version`\)/);
  assert.match(flat, /19 of 8,000 requests failed \(0\.24%\); 9 of 1,200 clients \(0\.75%\) saw an error/);
  // The same moment in another zone.
  const ny = draftPostmortem(rep, rep.timeline, { timeZone: 'America/New_York' });
  assert.match(ny, /\| 04:00:05 EDT \| \*\*Detection\*\*/);
  assert.deepEqual(lintPostmortem(ny), []);
  assert.throws(() => draftPostmortem(rep, rep.timeline, { timeZone: 'Mars/Olympus' }), /not a time zone/);
});

test('postmortem: an edited section survives regeneration; unedited ones are regenerated', async () => {
  const { r, svc, id } = await breakGlassIncident();
  const first = draftPostmortem(await svc.report(id), undefined, { timeZone: 'Europe/Berlin' });
  // A person rewrites the root cause section and adds their own section at the end.
  const mine = '## Root Cause and Resolution\n\nOur acme-auth 2.x never learned the v3 handshake; we pinned it in 2024.\n';
  const edited =
    first.replace(/(<!-- greenlight:section id=root-cause hash=[0-9a-f]+-->\n)[\s\S]*?(\n<!-- greenlight:end -->)/, (_, open: string, end: string) => `${open}${mine.trimEnd()}${end}`) +
    '\n## Follow-up Meeting\n\nThursday with the auth team.\n';
  assert.notEqual(edited, first);
  // Then the incident moves on: resolved by hand, so the timeline and summary change.
  await r.at(T0 + 40 * MIN, 'incident.resolved', `incident/${id}`, { incidentId: id, text: 'acme-auth upgraded to 3.1.0' }, 'user:bob');
  const { markdown, kept, regenerated } = regeneratePostmortem(edited, await svc.report(id), { timeZone: 'Europe/Berlin' });
  assert.deepEqual(kept, ['root-cause']);
  assert.deepEqual(regenerated.sort(), SECTION_IDS.filter((s) => s !== 'root-cause').sort());
  assert.ok(markdown.includes('Our acme-auth 2.x never learned the v3 handshake; we pinned it in 2024.'), 'the edit is kept');
  assert.ok(markdown.includes('## Follow-up Meeting\n\nThursday with the auth team.'), 'text outside the markers is kept');
  assert.match(markdown, /\| 10:40:00 CEST \| \*\*Resolved\*\*: incident resolved by bob: acme-auth upgraded to 3\.1\.0 \| bob \|/, 'the timeline is regenerated');
  assert.ok(!first.includes('10:40:00'));
  assert.deepEqual(lintPostmortem(markdown), []);
  // Regenerating again keeps the edit (its marker still carries the old hash) and changes nothing else.
  const again = regeneratePostmortem(markdown, await svc.report(id), { timeZone: 'Europe/Berlin' });
  assert.deepEqual(again.kept, ['root-cause']);
  assert.equal(again.markdown, markdown);
});

test('postmortem: the JSON form carries the same facts, with local times', async () => {
  const { svc, id } = await breakGlassIncident();
  const rep = await svc.report(id);
  const j = postmortemJson(rep, rep.timeline, { timeZone: 'Europe/Berlin' });
  assert.equal(j.incidentId, id);
  assert.equal(j.rootCauseSource, 'compatibility');
  assert.equal(j.durations.timeToMitigateMs, 3200);
  assert.equal(j.impactFigures.failed, 19);
  assert.equal(j.breakGlass[0]!.reason, 'hotfix for login, staging is down');
  assert.ok(j.timeline.some((e) => e.localTime === '10:00:05 CEST' && e.milestone === 'detection'));
  assert.ok(j.measures.length >= 3);
  assert.deepEqual(JSON.parse(JSON.stringify(j)).incidentId, id);
});

test('postmortem: an incident opened by hand with no deployment still drafts cleanly', async () => {
  const r = new Recorder();
  const svc = new Incidents({ events: r.log, clock: r.clock });
  const inc = await svc.open({ title: 'Checkout | returns 500 for *some* users <EU>', severity: 'major', service: 'checkout', environment: 'production' }, 'user:dana');
  await r.clock.set(T0);
  await svc.note(inc.id, 'user:dana', 'see https://status.example.com/incidents/42, and mail ops@example.com');
  await svc.resolve(inc.id, 'user:dana', 'upstream fixed');
  const rep = await svc.report(inc.id);
  const md = draftPostmortem(rep, rep.timeline, { timeZone: 'UTC' });
  assert.deepEqual(lintPostmortem(md), []);
  assert.match(md, /Checkout \\\| returns 500 for \\\*some\\\* users \\<EU>/);
  assert.match(md, /`https:\/\/status\.example\.com\/incidents\/42`, and mail `ops@example\.com`/);
  assert.equal(rep.rootCause.source, 'none');
});

test('postmortem: an all-at-once rollback suggests a canary and drafts cleanly', async () => {
  const r = new Recorder();
  const auto = await startIncidentAutomation({ events: r.log, clock: r.clock });
  await switchBack(r, { id: 'd-9' });
  await auto.idle();
  auto.stop();
  const svc = new Incidents({ events: r.log, clock: r.clock });
  const [inc] = await svc.list();
  const md = draftPostmortem(await svc.report(inc!.id));
  assert.deepEqual(lintPostmortem(md), []);
  assert.match(md.replace(/\n\s*/g, ' '), /switched all traffic at once in production; a canary rollout policy/);
  assert.match(md, /not measured/);
});

test('markdown: wrapping never starts a line with block syntax and never passes the width with spaces', () => {
  const text = inline('a '.repeat(30) + '- not a list item + 1. nor this # nor a heading > nor a quote ' + 'word '.repeat(30));
  const out = wrap(text, '- ', '  ');
  for (const line of out.split('\n').slice(1)) assert.doesNotMatch(line.trimStart(), /^([-+*#>]|\d+[.)])/, line);
  for (const line of out.split('\n')) assert.ok(line.length <= WIDTH || !line.slice(WIDTH).includes(' '), line);
  assert.equal(sectionHash('a\r\nb\n\n'), sectionHash('a\nb'));
  // A document with no markers at all is the person's: kept whole, the draft is appended after it.
  const merged = mergeSections('# Mine\n\nHand written.\n', [{ id: 'summary', body: '## Issue Summary\n\nText.' }]);
  assert.ok(merged.markdown.startsWith('# Mine\n\nHand written.\n'));
  assert.match(merged.markdown, /<!-- greenlight:section id=summary hash=[0-9a-f]{64}-->\n## Issue Summary/);
});
