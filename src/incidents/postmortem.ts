// Drafts the postmortem the 3 June outage had to write by hand, from the recorded events: the
// seed's sections (Issue Summary, Timeline, Root Cause and Resolution, Corrective and Preventative
// Measures) with the Google SRE template's trigger, detection, resolution and lessons learned folded
// in, a Mermaid diagram, and a JSON form. Every generated section sits between markers carrying the
// hash of what was generated, so regenerating keeps the sections a person has edited.
import { lint } from 'markdownlint/sync';
import { GreenlightError } from '../errors/errors.ts';
import { bullet, cell, inline, mergeSections, paragraph, POSTMORTEM_MARKDOWNLINT_CONFIG, renderSections, table, type MergeResult, type Section } from './markdown.ts';
import { formatDurationMs, formatShare, type Measure } from './measures.ts';
import { SEVERITY_MEANING } from './model.ts';
import type { IncidentReport } from './report.ts';
import type { TimelineEntry } from './timeline.ts';

export interface PostmortemOptions {
  /** IANA zone for the times, e.g. "Europe/Berlin"; UTC by default */
  timeZone?: string;
}

export const SECTION_IDS = ['title', 'summary', 'timeline', 'diagram', 'root-cause', 'measures', 'lessons'] as const;

interface Clock {
  time(ms: number): string;
  date(ms: number): string;
  zone: string;
  spansDays: (a: number, b: number) => boolean;
}

function clockFor(timeZone = 'UTC'): Clock {
  let time: Intl.DateTimeFormat;
  let date: Intl.DateTimeFormat;
  let day: Intl.DateTimeFormat;
  let zones: Intl.DateTimeFormat[];
  try {
    time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    // Each locale knows the abbreviations of its own region (en-GB: CEST, BST; en-US: EDT, PST);
    // the first that has one wins, else the GMT offset.
    zones = ['en-GB', 'en-US', 'en-AU', 'en-IN', 'en-NZ'].map((l) => new Intl.DateTimeFormat(l, { timeZone, timeZoneName: 'short' }));
    date = new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'long', year: 'numeric' });
    day = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  } catch {
    throw new GreenlightError('USAGE', `"${timeZone}" is not a time zone`, { hint: 'use an IANA name such as Europe/Berlin or UTC' });
  }
  return {
    time: (ms) => `${time.format(ms)} ${zoneName(zones, ms)}`,
    date: (ms) => date.format(ms),
    zone: timeZone,
    spansDays: (a, b) => day.format(a) !== day.format(b),
  };
}

function zoneName(zones: Intl.DateTimeFormat[], ms: number): string {
  const names = zones.map((z) => z.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC');
  return names.find((n) => !/^(GMT|UTC)[+-−]/.test(n)) ?? names[0]!;
}

const who = (actor: string) => actor.replace(/^user:/, '');
const dur = (ms: number | undefined) => (ms === undefined ? 'not yet' : formatDurationMs(ms));
const num = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** The facts the Markdown and the JSON share. */
export interface PostmortemFacts {
  incidentId: string;
  title: string;
  severity: string;
  state: string;
  service?: string;
  environment?: string;
  timeZone: string;
  impactStart: string;
  impactEnd?: string;
  summary: string;
  impact: string;
  trigger: string;
  detection: string;
  resolution: string;
  rootCause: string;
  rootCauseSource: string;
  versions: string[];
  wentWell: string[];
  wentWrong: string[];
}

function factsOf(r: IncidentReport, c: Clock): PostmortemFacts {
  const inc = r.incident;
  const m = r.milestones;
  const d = r.durations;
  const dep = inc.deploymentIds[0];
  const ref = r.impact.canaryVersion && inc.service ? `${inc.service}@${r.impact.canaryVersion}` : undefined;
  const env = r.environment ?? inc.environment;
  const what = ref ? `${ref} failed in ${env ?? 'an environment'}` : inc.alerts[0] ? `alert ${inc.alerts[0].labels.alertname ?? inc.alerts[0].fingerprint} fired${inc.service ? ` for ${inc.service}` : ''}${env ? ` in ${env}` : ''}` : inc.title;
  const end = m.mitigatedAt ?? inc.resolvedAt;
  const i = r.impact;
  const impact =
    i.measured && i.requests !== undefined
      ? `${(i.failed ?? 0).toLocaleString('en-US')} of ${plural(i.requests, 'request')} failed (${formatShare(i.failedShare ?? 0)})` +
        (i.clients !== undefined ? `; ${i.clientsWithErrors ?? 0} of ${plural(i.clients, 'client')} (${formatShare(i.clientsAffectedShare ?? 0)}) saw an error` : '') +
        (i.canaryRequests !== undefined ? `; the canary served ${plural(i.canaryRequests, 'request')}, ${i.canaryFailed ?? 0} failed` : '')
      : 'the failed requests were not measured (no router figures were recorded for this incident)';
  const deploymentEv = r.timeline.find((e) => e.type === 'deployment.requested');
  const trigger = deploymentEv
    ? `deployment ${dep} of ${ref ?? 'a release'} requested by ${who(deploymentEv.actor)}${r.breakGlass.length ? `, with a break-glass past the ${r.breakGlass.map((b) => `${b.environment} gate`).join(', ')}` : ''}`
    : inc.trigger === 'alert'
      ? `alert ${inc.alerts.map((a) => a.labels.alertname ?? a.fingerprint).join(', ')}`
      : `opened by hand by ${who(inc.openedBy)}`;
  const detEntry = r.timeline.find((e) => e.milestone === 'detection');
  const detection =
    m.detectedAt !== undefined
      ? `${detEntry ? detectionKind(detEntry) : 'detected'} at ${c.time(m.detectedAt)}, ${dur(d.timeToDetectMs)} after ${m.firstFailedAt !== undefined ? 'the first failed request' : m.switchedAt !== undefined ? 'the switch' : 'the impact began'}`
      : 'not detected by Greenlight (the incident was opened by hand)';
  const restored = i.stableVersion && inc.service ? `${inc.service}@${i.stableVersion}` : 'the stable version';
  const resolution =
    m.mitigatedAt !== undefined
      ? `${inc.mitigatedBy && inc.mitigatedBy !== 'controller' && !r.timeline.some((e) => e.milestone === 'decision' && e.type !== 'incident.mitigated') ? `mitigated by ${who(inc.mitigatedBy)}` : `traffic back on ${restored}`} at ${c.time(m.mitigatedAt)}, ${dur(d.timeToMitigateMs)} after the impact began` +
        (inc.resolvedAt !== undefined ? `; resolved by ${who(inc.resolvedBy ?? '?')} at ${c.time(inc.resolvedAt)}` : '; not resolved yet')
      : inc.resolvedAt !== undefined
        ? `resolved by ${who(inc.resolvedBy ?? '?')} at ${c.time(inc.resolvedAt)}`
        : 'not mitigated yet';
  const summary =
    `On ${c.date(m.impactStartAt)}, from ${c.time(m.impactStartAt)}${end !== undefined ? ` to ${c.time(end)}` : ''} (${formatDurationMs(d.impactMs)}${d.ongoing ? ', ongoing' : ''}), ${what}. ` +
    `Impact: ${impact}. Root cause: ${r.rootCause.text.replace(/[.\s]+$/, '')}.`;

  const wentWell: string[] = [];
  const wentWrong: string[] = [];
  if (detEntry && (detEntry.type === 'analysis.verdict' || detEntry.type === 'check.failed')) wentWell.push(`Greenlight detected it by itself (${detectionKind(detEntry)}) ${dur(d.timeToDetectMs)} after the impact began.`);
  if (m.mitigatedAt !== undefined && r.timeline.some((e) => e.milestone === 'decision' && (e.type === 'rollout.weight.zero' || e.type === 'router.switched'))) {
    wentWell.push(`The rollback was automatic: traffic was back on ${restored} ${dur(d.timeToMitigateMs)} after the impact began.`);
  }
  if (i.measured && i.failedShare !== undefined && i.failedShare < 0.01) wentWell.push(`Only ${formatShare(i.failedShare)} of the requests failed.`);
  if (d.timeToAcknowledgeMs !== undefined && d.timeToAcknowledgeMs <= 300_000) wentWell.push(`The incident was acknowledged in ${dur(d.timeToAcknowledgeMs)}.`);
  for (const b of r.breakGlass) wentWrong.push(`The ${b.environment} gate was bypassed with a break-glass by ${who(b.actor)}: '${b.reason}'.`);
  if (r.rootCause.source === 'compatibility') wentWrong.push('The incompatibility reached the environment before a check refused it.');
  if (d.timeToAcknowledgeMs !== undefined && d.timeToAcknowledgeMs > 300_000) wentWrong.push(`The acknowledgement took ${dur(d.timeToAcknowledgeMs)}.`);
  if (i.measured && i.failedShare !== undefined && i.failedShare >= 0.01) wentWrong.push(`${formatShare(i.failedShare)} of the requests failed.`);
  if (d.ongoing) wentWrong.push('The impact has not been mitigated yet.');
  if (r.impact.crashes) wentWrong.push(`${plural(r.impact.crashes, 'instance crash', 'instance crashes')} during the incident.`);

  return {
    incidentId: inc.id,
    title: inc.title,
    severity: inc.severity,
    state: inc.state,
    ...(inc.service ? { service: inc.service } : {}),
    ...(env ? { environment: env } : {}),
    timeZone: c.zone,
    impactStart: new Date(m.impactStartAt).toISOString(),
    ...(end !== undefined ? { impactEnd: new Date(end).toISOString() } : {}),
    summary,
    impact,
    trigger,
    detection,
    resolution,
    rootCause: r.rootCause.text.replace(/[.\s]+$/, ''),
    rootCauseSource: r.rootCause.source,
    versions: r.impact.versions.map((v) => (inc.service && !v.includes('@') ? `${inc.service}@${v}` : v)),
    wentWell,
    wentWrong,
  };
}

function detectionKind(e: TimelineEntry): string {
  if (e.type === 'analysis.verdict') return 'the canary analysis said fail';
  if (e.type === 'check.failed') return 'a post-switch check failed';
  if (e.type === 'incident.alert.joined') return 'an alert fired';
  return 'detected';
}

function timelineTable(entries: TimelineEntry[], c: Clock): string {
  const multiDay = entries.length > 1 && c.spansDays(entries[0]!.at, entries.at(-1)!.at);
  const label: Record<string, string> = { impact: 'Impact', detection: 'Detection', decision: 'Rollback', recovery: 'Recovery', acknowledged: 'Acknowledged', resolved: 'Resolved' };
  const rows = entries.map((e) => {
    const t = c.time(e.at);
    const when = multiDay ? `${new Date(e.at).toISOString().slice(0, 10)} ${t}` : t;
    const text = e.milestone ? `**${label[e.milestone]}**: ${cell(e.text)}` : cell(e.text);
    return [when, text, cell(who(e.actor))];
  });
  return table(['Time', 'What happened', 'Who'], rows);
}

/** Mermaid's gantt grammar ends a task name at ':' ';' or '#', and '%%' starts a comment. */
function mermaidLabel(text: string, max = 40): string {
  const s = text.replace(/[:;#%,\n\r]/g, ' ').replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1).trimEnd()}…` : s || 'event';
}

function mermaid(r: IncidentReport): string {
  const m = r.milestones;
  const inc = r.incident;
  const end = inc.resolvedAt ?? r.now;
  const lines = ['gantt', `    title ${mermaidLabel(`${inc.id} ${inc.title}`, 70)}`, '    dateFormat x', '    axisFormat %H:%M:%S'];
  const task = (name: string, tags: string, from: number, to: number) => lines.push(`    ${mermaidLabel(name)} :${tags}${Math.round(from)}, ${Math.round(Math.max(from, to))}`);
  const ref = inc.service && r.impact.canaryVersion ? `${inc.service}@${r.impact.canaryVersion}` : undefined;
  if (m.deploymentRequestedAt !== undefined) {
    lines.push('    section Deployment');
    task(`deploy ${ref ?? ''}`, 'done, dep, ', m.deploymentRequestedAt, m.switchedAt ?? m.mitigatedAt ?? m.deploymentRequestedAt);
    if (m.switchedAt !== undefined) task(`${ref ?? 'new version'} serving`, 'active, serve, ', m.switchedAt, m.mitigatedAt ?? end);
  }
  lines.push('    section Users');
  task('requests failing', 'crit, impact, ', m.impactStartAt, m.mitigatedAt ?? end);
  lines.push('    section Response');
  const ms: [string, number | undefined][] = [
    ['detection', m.detectedAt],
    ['first page', m.firstPagedAt],
    ['acknowledged', m.acknowledgedAt],
    ['traffic back on stable', m.mitigatedAt],
    ['resolved', m.resolvedAt],
  ];
  let k = 0;
  for (const [name, at] of ms) if (at !== undefined) task(name, `milestone, m${++k}, `, at, at);
  lines.push('    section Incident');
  task(`incident ${inc.state === 'resolved' ? 'open until resolved' : 'open'}`, 'inc, ', inc.openedAt, end);
  return ['```mermaid', ...lines, '```'].join('\n');
}

function measureLines(measures: Measure[]): string {
  return measures.map((x) => bullet(`[ ] ${inline(x.text)} (${inline(x.because)})`)).join('\n');
}

/** The generated sections, in order, each a piece of Markdown. */
export function postmortemSections(report: IncidentReport, timeline: TimelineEntry[] = report.timeline, opts: PostmortemOptions = {}): Section[] {
  const c = clockFor(opts.timeZone);
  const r = { ...report, timeline };
  const f = factsOf(r, c);
  const inc = r.incident;
  const d = r.durations;
  const m = r.milestones;
  const measuresTable = table(
    ['Measure', 'Value', 'From', 'To'],
    [
      ['Time to detect', dur(d.timeToDetectMs), m.firstFailedAt !== undefined ? 'first failed request' : m.switchedAt !== undefined ? 'switch to the new version' : 'impact start', 'first failing verdict, check or alert'],
      ['Time to mitigate', dur(d.timeToMitigateMs), 'impact start', 'traffic back on stable'],
      ['Time to acknowledge', dur(d.timeToAcknowledgeMs), m.firstPagedAt !== undefined ? 'first page' : 'incident opened', 'first acknowledgement'],
      ['Time to resolve', dur(d.timeToResolveMs), 'impact start', 'resolved by a person'],
      ['Requests failed', r.impact.measured && r.impact.requests !== undefined ? `${num(r.impact.failed ?? 0)} of ${num(r.impact.requests)} (${formatShare(r.impact.failedShare ?? 0)})` : 'not measured', 'router', 'over the rollout'],
      ['Clients affected', r.impact.clients !== undefined ? `${num(r.impact.clientsWithErrors ?? 0)} of ${num(r.impact.clients)} (${formatShare(r.impact.clientsAffectedShare ?? 0)})` : 'not measured', 'router', 'over the rollout'],
    ].map((row) => row.map(cell)),
  );
  const title = [
    `# Postmortem: ${inline(inc.title)}`,
    '',
    paragraph(
      `Incident ${inline(inc.id)}, ${inc.severity} (${SEVERITY_MEANING[inc.severity]}), ${inc.state}${f.service ? `, ${inline(f.service)}` : ''}${f.environment ? ` in ${inline(f.environment)}` : ''}. ` +
        'Drafted by Greenlight from the recorded events. Edit any section: a regenerated draft keeps the sections you changed.',
    ),
  ].join('\n');
  const summary = [
    '## Issue Summary',
    '',
    paragraph(inline(f.summary)),
    '',
    bullet(`**Duration**: users were affected for ${formatDurationMs(d.impactMs)}${d.ongoing ? ' so far' : ''}; the incident ${inc.resolvedAt !== undefined ? `was open for ${formatDurationMs(inc.resolvedAt - inc.openedAt)}` : 'is still open'}.`),
    bullet(`**Impact**: ${inline(f.impact)}.`),
    bullet(`**Trigger**: ${inline(f.trigger)}.`),
    bullet(`**Detection**: ${inline(f.detection)}.`),
    bullet(`**Resolution**: ${inline(f.resolution)}.`),
    bullet(`**Root cause**: ${inline(f.rootCause)}.`),
    bullet(`**Versions involved**: ${f.versions.length ? f.versions.map(inline).join(', ') : 'none recorded'}.`),
    '',
    measuresTable,
  ].join('\n');
  const tl = ['## Timeline', '', paragraph(`Times in ${inline(c.zone)}, on ${c.date(timeline[0]?.at ?? inc.openedAt)}.`), '', timeline.length ? timelineTable(timeline, c) : 'No events recorded.'].join('\n');
  const diagram = ['### Timeline Diagram', '', paragraph("The axis shows the reader's local time."), '', mermaid(r)].join('\n');
  const rootCause = [
    '## Root Cause and Resolution',
    '',
    paragraph(
      r.rootCause.source === 'person'
        ? `${inline(r.rootCause.text)} (written by ${inline(who(r.rootCause.by ?? ''))})`
        : `${inline(r.rootCause.text.replace(/[.\s]+$/, ''))}. This is a draft from the ${rootCauseOrigin(r.rootCause.source)}; write the real cause with greenlight incident root-cause ${inline(inc.id)} "…".`,
    ),
    ...(r.rootCause.source === 'person' && r.rootCause.draft !== r.rootCause.text ? ['', paragraph(`The recorded evidence pointed at: ${inline(r.rootCause.draft)}.`)] : []),
    '',
    paragraph(`Resolution: ${inline(f.resolution)}.`),
  ].join('\n');
  const measures = ['## Corrective and Preventative Measures', '', measureLines(r.measures)].join('\n');
  const listOr = (xs: string[], none: string) => (xs.length ? xs.map((x) => bullet(inline(x))).join('\n') : paragraph(none));
  const lessons = [
    '## Lessons Learned',
    '',
    '### What went well',
    '',
    listOr(f.wentWell, 'Nothing recorded; to be written by the people involved.'),
    '',
    '### What went wrong',
    '',
    listOr(f.wentWrong, 'Nothing recorded; to be written by the people involved.'),
    '',
    '### Where we got lucky',
    '',
    paragraph('To be written by the people involved.'),
  ].join('\n');
  return [
    { id: 'title', body: title },
    { id: 'summary', body: summary },
    { id: 'timeline', body: tl },
    { id: 'diagram', body: diagram },
    { id: 'root-cause', body: rootCause },
    { id: 'measures', body: measures },
    { id: 'lessons', body: lessons },
  ];
}

function rootCauseOrigin(source: string): string {
  switch (source) {
    case 'compatibility':
      return 'compatibility check';
    case 'analysis':
      return 'canary analysis';
    case 'check':
      return 'failing check';
    case 'switch':
      return 'failed switch';
    case 'alert':
      return 'alert';
    default:
      return 'recorded events';
  }
}

/** The postmortem as Markdown, every section wrapped in its markers. */
export function draftPostmortem(report: IncidentReport, timeline: TimelineEntry[] = report.timeline, opts: PostmortemOptions = {}): string {
  return renderSections(postmortemSections(report, timeline, opts));
}

/** Regenerates into an existing postmortem, keeping the sections a person edited. */
export function regeneratePostmortem(existing: string | undefined, report: IncidentReport, opts: PostmortemOptions = {}): MergeResult {
  return mergeSections(existing, postmortemSections(report, report.timeline, opts));
}

export interface PostmortemJson extends PostmortemFacts {
  incident: IncidentReport['incident'];
  milestones: IncidentReport['milestones'];
  durations: IncidentReport['durations'];
  impactFigures: IncidentReport['impact'];
  measures: Measure[];
  breakGlass: IncidentReport['breakGlass'];
  timeline: (TimelineEntry & { localTime: string })[];
}

export function postmortemJson(report: IncidentReport, timeline: TimelineEntry[] = report.timeline, opts: PostmortemOptions = {}): PostmortemJson {
  const c = clockFor(opts.timeZone);
  const r = { ...report, timeline };
  return {
    ...factsOf(r, c),
    incident: r.incident,
    milestones: r.milestones,
    durations: r.durations,
    impactFigures: r.impact,
    measures: r.measures,
    breakGlass: r.breakGlass,
    timeline: timeline.map((e) => ({ ...e, localTime: c.time(e.at) })),
  };
}

/** markdownlint findings on a postmortem, with the one setting the generated tables need. */
export function lintPostmortem(markdown: string): string[] {
  const result = lint({ strings: { postmortem: markdown }, config: POSTMORTEM_MARKDOWNLINT_CONFIG });
  return (result.postmortem ?? []).map((e) => `line ${e.lineNumber}: ${e.ruleNames.join('/')} ${e.ruleDescription}${e.errorDetail ? ` [${e.errorDetail}]` : ''}${e.errorContext ? ` "${e.errorContext}"` : ''}`);
}
