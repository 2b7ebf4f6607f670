// The drill report in Markdown, written like the postmortem (same escaping, wrapping and
// markdownlint rules): what happened, the timings against the targets, what went well and what to
// practise. Every string from the log goes through inline()/cell(), so nothing a person typed (a
// root cause, a note) can turn into markup.
import { bullet, cell, inline, paragraph, table } from '../incidents/markdown.ts';
import { formatDurationMs } from '../incidents/measures.ts';
import { lintPostmortem } from '../incidents/postmortem.ts';
import { MEASURES, type Measure, type MeasureName, type Scorecard } from './scorecard.ts';

const WORDS: Record<MeasureName, string> = {
  detect: 'Detect (faults in → alert)',
  acknowledge: 'Acknowledge (page → ack)',
  diagnose: 'Diagnose (page → right root cause)',
  mitigate: 'Mitigate (page → mitigated)',
};

const who = (actor: string | null) => (actor ?? '').replace(/^user:/, '');
const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const dur = (m: Measure) => (m.ms === null ? 'did not happen' : formatDurationMs(m.ms));
const target = (m: Measure) => (m.targetMs === null ? 'no target' : formatDurationMs(m.targetMs));
const verdict = (m: Measure) => (m.met === null ? (m.ms === null ? 'missed' : 'recorded') : m.met ? 'met' : 'missed');

export function drillReport(c: Scorecard): string {
  const out: string[] = [];
  out.push(`# DRILL report: ${inline(c.title)}`);
  out.push(
    paragraph(
      `Drill ${inline(c.drillId)}, scenario ${inline(c.scenario)}, in ${inline(c.environment)} on ${inline(c.service)}${c.version ? `@${inline(c.version)}` : ' (every version)'}, ` +
        `${time(c.startedAt)}${c.endedAt !== null ? ` to ${time(c.endedAt)}` : ' (still running)'}. ` +
        `This was a rehearsal: the faults were injected and every page, incident and event was marked DRILL.`,
    ),
  );
  out.push(`## Result: ${c.passed ? 'passed' : 'not passed'}`);
  out.push(
    paragraph(
      c.passed
        ? 'Every target was met, the right root cause was recorded and the problem was mitigated.'
        : `Not passed: ${inline(c.misses.join('; '))}.`,
    ),
  );
  out.push('## Scorecard');
  out.push(
    table(
      ['Measure', 'Took', 'Target', 'Result', 'By'],
      MEASURES.map((n) => {
        const m = c.measures[n];
        return [WORDS[n], dur(m), target(m), verdict(m), cell(who(m.by) || ' ')];
      }),
    ),
  );
  out.push('## What happened');
  const lines: string[] = [];
  lines.push(bullet(`Participants: ${c.participants.length ? inline(c.participants.join(', ')) : 'whoever was on call'}${c.pagedUsers.length ? `; paged: ${inline(c.pagedUsers.join(', '))}` : ''}.`));
  for (const f of c.faults) lines.push(bullet(`${time(f.at)}: fault ${inline(f.id)} (${inline(f.kind)}): ${inline(f.detail)}.`));
  if (c.incidentId) lines.push(bullet(`Incident ${inline(c.incidentId)} was opened and marked as a drill.`));
  for (const a of c.actions) lines.push(bullet(`${time(a.at)}: ${inline(who(a.by))} ${inline(a.what)}.`));
  lines.push(bullet(`Ended: ${inline(c.outcome ?? 'still running')}${c.mitigation ? ` (mitigated by ${inline(c.mitigation)})` : ''}.`));
  out.push(lines.join('\n'));
  out.push('## Root cause');
  out.push(paragraph(c.rootCause ? `Recorded: "${inline(c.rootCause)}", which names the scenario's cause.` : 'No root cause naming the scenario\'s cause was recorded.'));
  if (c.wrongDiagnoses.length) out.push(c.wrongDiagnoses.map((w) => bullet(`${time(w.at)}: ${inline(who(w.by))} first recorded "${inline(w.text)}".`)).join('\n'));
  out.push('## What went well');
  const well = MEASURES.filter((n) => c.measures[n].met === true).map((n) => bullet(`${WORDS[n]}: ${dur(c.measures[n])}, within ${target(c.measures[n])}.`));
  if (c.rootCause && c.wrongDiagnoses.length === 0) well.push(bullet('The first root cause recorded was the right one.'));
  out.push(well.length ? well.join('\n') : paragraph('Nothing met its target this time.'));
  out.push('## What to practise');
  const practise = c.misses.map((m) => bullet(`${inline(m[0]!.toUpperCase() + m.slice(1))}.`));
  out.push(practise.length ? practise.join('\n') : paragraph('Run it again with a harder scenario, or with someone who has not taken part yet.'));
  return out.join('\n\n') + '\n';
}

/** markdownlint findings on a drill report (same settings as the postmortem). */
export function lintDrillReport(markdown: string): string[] {
  return lintPostmortem(markdown);
}
