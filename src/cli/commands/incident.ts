import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { GreenlightError } from '../../errors/errors.ts';
import { mergeDraft } from '../../incidents/markdown.ts';
import { formatDurationMs, formatShare, type Durations, type Impact, type Measure, type RootCause } from '../../incidents/measures.ts';
import type { Incident } from '../../incidents/model.ts';
import type { TimelineEntry } from '../../incidents/timeline.ts';
import { clientOf, globals } from '../context.ts';
import { color, printJson } from '../output.ts';

interface IncidentDetail {
  incident: Incident;
  timeline: TimelineEntry[];
  impact: Impact;
  durations: Durations;
  rootCause: RootCause;
  measures: Measure[];
}

const path = (id: string, rest = '') => `/v1/incidents/${encodeURIComponent(id)}${rest}`;
const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;
const clock = (ms: number) => new Date(ms).toLocaleString('en-GB', { hour12: false });
const who = (actor: string | undefined) => (actor ?? '').replace(/^user:/, '');

function stateColor(s: Incident['state']): string {
  return s === 'resolved' ? color.green(s) : s === 'mitigated' ? color.yellow(s) : color.red(s);
}

function line(i: Incident): string {
  const where = [i.service, i.environment].filter(Boolean).join('/');
  return `${i.id}  ${i.severity}  ${stateColor(i.state).padEnd(12)}  ${clock(i.openedAt)}  ${where ? `${where}  ` : ''}${i.title}`;
}

function printIncident(i: Incident): void {
  console.log(line(i));
}

export function registerIncident(program: Command): void {
  const incident = program.command('incident').description('incidents: open, acknowledge, mitigate, resolve, notes and root cause (opened automatically by rollbacks and alerts)');

  incident
    .command('open <title>')
    .description('open an incident by hand')
    .requiredOption('--severity <sev>', 'sev1 (most users cannot use the service) .. sev4 (no user impact); critical/major/minor also work')
    .option('--service <name>', 'the service affected; alerts for it and --env join this incident')
    .option('--env <name>', 'the environment affected')
    .option('--deployment <id>', 'the deployment that caused it (its events join the timeline)')
    .action(async function (this: Command, title: string, opts: { severity: string; service?: string; env?: string; deployment?: string }) {
      const out = await clientOf(this).request<{ incident: Incident }>('POST', '/v1/incidents', {
        title,
        severity: opts.severity,
        ...(opts.service ? { service: opts.service } : {}),
        ...(opts.env ? { environment: opts.env } : {}),
        ...(opts.deployment ? { deploymentId: opts.deployment } : {}),
      });
      if (globals(this).json) return printJson(out);
      console.log(`opened ${out.incident.id}`);
    });

  incident
    .command('list')
    .description('incidents, newest first')
    .option('--state <state>', 'open, acknowledged, mitigated, resolved, or active (not resolved)')
    .option('--service <name>')
    .option('--env <name>')
    .action(async function (this: Command, opts: { state?: string; service?: string; env?: string }) {
      const q = new URLSearchParams();
      if (opts.state) q.set('state', opts.state);
      if (opts.service) q.set('service', opts.service);
      if (opts.env) q.set('environment', opts.env);
      const out = await clientOf(this).request<{ incidents: Incident[] }>('GET', `/v1/incidents${q.size ? `?${q}` : ''}`);
      if (globals(this).json) return printJson(out);
      if (!out.incidents.length) return console.log('no incidents');
      for (const i of out.incidents) printIncident(i);
    });

  incident
    .command('show <id>')
    .description('an incident with its timeline, impact, durations and drafted root cause')
    .action(async function (this: Command, id: string) {
      const d = await clientOf(this).request<IncidentDetail>('GET', path(id));
      if (globals(this).json) return printJson(d);
      const i = d.incident;
      console.log(color.bold(`${i.id} ${i.title}`));
      console.log(`  ${i.severity}, ${stateColor(i.state)}; opened ${clock(i.openedAt)} by ${who(i.openedBy)}${i.acknowledgedBy ? `, acknowledged by ${who(i.acknowledgedBy)}` : ''}${i.resolvedBy ? `, resolved by ${who(i.resolvedBy)}` : ''}`);
      const dur = (ms: number | undefined) => (ms === undefined ? '-' : formatDurationMs(ms));
      const t = d.durations;
      console.log(`  detect ${dur(t.timeToDetectMs)}, mitigate ${dur(t.timeToMitigateMs)}, acknowledge ${dur(t.timeToAcknowledgeMs)}, resolve ${dur(t.timeToResolveMs)}; users affected for ${formatDurationMs(t.impactMs)}${t.ongoing ? ' (ongoing)' : ''}`);
      const m = d.impact;
      if (m.measured && m.requests !== undefined) {
        console.log(`  ${m.failed ?? 0} of ${m.requests} requests failed (${formatShare(m.failedShare ?? 0)})${m.clients !== undefined ? `, ${m.clientsWithErrors ?? 0} of ${m.clients} clients (${formatShare(m.clientsAffectedShare ?? 0)})` : ''}`);
      } else console.log(color.dim('  failed requests not measured'));
      console.log(`  root cause${d.rootCause.source === 'person' ? '' : color.dim(` (draft from ${d.rootCause.source})`)}: ${d.rootCause.text}`);
      console.log(color.bold('timeline'));
      for (const e of d.timeline) console.log(`  ${clock(e.at)}  ${e.milestone ? color.yellow(`[${e.milestone}] `) : ''}${e.text} ${color.dim(`(${who(e.actor)})`)}`);
      if (i.notes.length) {
        console.log(color.bold('notes'));
        for (const n of i.notes) console.log(`  ${clock(n.at)} ${who(n.actor)}: ${n.text}`);
      }
      if (d.measures.length) {
        console.log(color.bold('suggested measures'));
        for (const x of d.measures) console.log(`  - ${x.text}`);
      }
    });

  const transition = (name: string, route: string, description: string, withText: boolean) => {
    const cmd = incident.command(`${name} <id>`).description(description);
    if (withText) cmd.option('--note <text>', 'what was done, recorded with the event');
    cmd.action(async function (this: Command, id: string, opts: { note?: string }) {
      const out = await clientOf(this).request<{ incident: Incident }>('POST', path(id, `/${route}`), opts.note ? { text: opts.note } : {});
      if (globals(this).json) return printJson(out);
      console.log(`${out.incident.id} ${stateColor(out.incident.state)}`);
    });
  };
  transition('ack', 'acknowledge', 'acknowledge an incident (you are on it)', false);
  transition('mitigate', 'mitigate', 'mark an incident mitigated (users are no longer affected)', true);
  transition('resolve', 'resolve', 'resolve an incident (the cause is dealt with); rollbacks never resolve on their own', true);

  incident
    .command('note <id> <text>')
    .description('add a note to the timeline')
    .action(async function (this: Command, id: string, text: string) {
      const out = await clientOf(this).request<{ incident: Incident }>('POST', path(id, '/notes'), { text });
      if (globals(this).json) return printJson(out);
      console.log(`noted on ${out.incident.id}`);
    });

  incident
    .command('root-cause <id> <text>')
    .description('write the root cause (replaces the draft drawn from the events)')
    .action(async function (this: Command, id: string, text: string) {
      const out = await clientOf(this).request<{ incident: Incident }>('POST', path(id, '/root-cause'), { text });
      if (globals(this).json) return printJson(out);
      console.log(`root cause of ${out.incident.id} recorded`);
    });

  incident
    .command('severity <id> <sev>')
    .description('change the severity (sev1..sev4)')
    .action(async function (this: Command, id: string, sev: string) {
      const out = await clientOf(this).request<{ incident: Incident }>('POST', path(id, '/severity'), { severity: sev });
      if (globals(this).json) return printJson(out);
      console.log(`${out.incident.id} is ${out.incident.severity}`);
    });

  program
    .command('postmortem <incident>')
    .description('draft the postmortem from the recorded events; with --out, sections you edited in that file are kept')
    .option('--out <file>', 'write to this file (regenerates it, keeping your edits)')
    .option('--format <format>', 'md or json', 'md')
    .option('--tz <zone>', 'time zone for the times (default: this machine\'s)')
    .action(async function (this: Command, id: string, opts: { out?: string; format: string; tz?: string }) {
      if (opts.format !== 'md' && opts.format !== 'json') throw new GreenlightError('USAGE', `unknown format "${opts.format}"`, { hint: '--format md or --format json' });
      const q = new URLSearchParams({ format: opts.format, tz: opts.tz ?? localZone() });
      const out = await clientOf(this).request<{ markdown?: string; postmortem?: unknown }>('GET', path(id, `/postmortem?${q}`));
      const json = !!globals(this).json;
      if (opts.format === 'json') {
        const text = JSON.stringify(out.postmortem, null, 2) + '\n';
        if (opts.out) writeFileSync(opts.out, text);
        if (json || !opts.out) return printJson(opts.out ? { file: opts.out } : out.postmortem);
        return console.log(`wrote ${opts.out}`);
      }
      const draft = out.markdown ?? '';
      if (!opts.out) return json ? printJson({ markdown: draft }) : void process.stdout.write(draft);
      const existing = existsSync(opts.out) ? readFileSync(opts.out, 'utf8') : undefined;
      const merged = mergeDraft(existing, draft);
      writeFileSync(opts.out, merged.markdown);
      if (json) return printJson({ file: opts.out, kept: merged.kept, regenerated: merged.regenerated });
      console.log(`wrote ${opts.out}${merged.kept.length ? ` (kept your edits in: ${merged.kept.join(', ')})` : ''}`);
    });
}
