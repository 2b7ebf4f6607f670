// `greenlight drill ...`: run a rehearsal on the real tools, stop it, read its scorecard, report
// and history, list or check scenarios, and derive one from a recorded incident.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatDurationMs } from '../../incidents/measures.ts';
import { builtinScenarioNames, loadScenario } from '../../drills/scenario.ts';
import type { DrillView } from '../../drills/runner.ts';
import { MEASURES, type Scorecard } from '../../drills/scorecard.ts';
import type { DrillHistory } from '../../drills/history.ts';
import type { Slot } from '../../drills/schedule.ts';
import { clientOf, globals } from '../context.ts';
import { color, printJson } from '../output.ts';

/** Text from the log (scenario titles, root causes) without terminal control sequences. */
// eslint-disable-next-line no-control-regex
const safe = (s: unknown) => String(s ?? '').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
const ms = (x: number | null) => (x === null ? '-' : formatDurationMs(x));

function printScorecard(c: Scorecard): void {
  console.log(`${color.bold(`DRILL ${safe(c.drillId)}`)} ${safe(c.title)}: ${c.passed ? color.green('passed') : color.red('not passed')} (${safe(c.outcome ?? 'running')})`);
  for (const n of MEASURES) {
    const m = c.measures[n];
    const mark = m.met === null ? color.dim('no target') : m.met ? color.green('met') : color.red('missed');
    console.log(`  ${n.padEnd(12)} ${ms(m.ms).padEnd(12)} target ${ms(m.targetMs).padEnd(10)} ${mark}${m.by ? color.dim(` ${safe(m.by)}`) : ''}`);
  }
  for (const x of c.misses) console.log(color.dim(`  - ${safe(x)}`));
}

export function registerDrill(program: Command): void {
  const drill = program.command('drill').description('rehearse incidents on the real tools, with bounded injected faults, DRILL-marked pages and a scorecard');

  drill
    .command('run <scenario>')
    .description('start a drill: a built-in scenario name or a scenario file')
    .requiredOption('--env <name>', 'the environment drilled (production needs drills.allow_production and --reason)')
    .option('--service <name>', 'the service drilled (default: the scenario\'s, or the only one)')
    .option('--participants <ids>', 'comma-separated user ids taking part')
    .option('--reason <text>', 'why (required in production)')
    .action(async function (this: Command, ref: string, opts: { env: string; service?: string; participants?: string; reason?: string }) {
      // read and validate here, so a bad file is reported with file:line:column before anything starts
      const { scenario, file, builtin } = loadScenario(ref);
      const out = await clientOf(this).request<{ drill: DrillView }>('POST', '/v1/drills', {
        scenario: builtin ? ref : file,
        scenarioText: readFileSync(file, 'utf8'),
        environment: opts.env,
        ...(opts.service ? { service: opts.service } : {}),
        ...(opts.participants ? { participants: opts.participants.split(',').map((p) => p.trim()).filter(Boolean) } : {}),
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      if (globals(this).json) return printJson(out);
      const d = out.drill;
      console.log(`${color.yellow('DRILL')} ${d.id} started: ${safe(scenario.title)} in ${d.environment} on ${d.service}${d.version ? `@${d.version}` : ''}; ends by ${new Date(d.endsAt).toISOString()}`);
      console.log(color.dim('  respond as for real (page ack link, greenlight incident ack/root-cause, rollback); greenlight drill stop ends it'));
    });

  drill
    .command('stop')
    .description('end the running drill now; every fault is removed')
    .option('--reason <text>')
    .action(async function (this: Command, opts: { reason?: string }) {
      const out = await clientOf(this).request<{ scorecard: Scorecard | null }>('POST', '/v1/drills/stop', opts.reason ? { reason: opts.reason } : {});
      if (globals(this).json) return printJson(out);
      if (out.scorecard) printScorecard(out.scorecard);
    });

  drill
    .command('status')
    .description('the running drill, if any')
    .action(async function (this: Command) {
      const out = await clientOf(this).request<{ running: DrillView | null }>('GET', '/v1/drills');
      if (globals(this).json) return printJson({ running: out.running });
      if (!out.running) return console.log('no drill is running');
      const d = out.running;
      console.log(`${color.yellow('DRILL')} ${d.id} ${safe(d.title)} in ${d.environment}; faults ${d.faults.filter((f) => f.pushed).length}/${d.faults.length} pushed; incident ${d.incidentId ?? '-'}; ends ${new Date(d.endsAt).toISOString()}`);
    });

  drill
    .command('scorecard <id>')
    .description('a drill\'s scorecard: detect, acknowledge, diagnose, mitigate against the targets')
    .action(async function (this: Command, id: string) {
      const out = await clientOf(this).request<{ scorecard: Scorecard }>('GET', `/v1/drills/${encodeURIComponent(id)}`);
      if (globals(this).json) return printJson(out);
      printScorecard(out.scorecard);
    });

  drill
    .command('report <id>')
    .description('the drill report in Markdown (like the postmortem)')
    .option('--out <file>', 'write it to this file')
    .action(async function (this: Command, id: string, opts: { out?: string }) {
      const out = await clientOf(this).request<{ markdown: string; scorecard: Scorecard }>('GET', `/v1/drills/${encodeURIComponent(id)}/report`);
      if (opts.out) writeFileSync(resolve(opts.out), out.markdown);
      if (globals(this).json) return printJson(opts.out ? { file: opts.out, scorecard: out.scorecard } : out);
      if (opts.out) return console.log(`wrote ${opts.out}`);
      process.stdout.write(out.markdown);
    });

  drill
    .command('history')
    .description('every drill with its result, and trends per person and for the team')
    .action(async function (this: Command) {
      const out = await clientOf(this).request<{ history: DrillHistory }>('GET', '/v1/drills');
      const h = out.history;
      if (globals(this).json) return printJson(h);
      if (!h.drills.length && !h.missed.length) return console.log('no drills yet');
      for (const c of h.drills) {
        console.log(`${safe(c.drillId)}  ${new Date(c.startedAt).toISOString().slice(0, 16)}  ${c.passed ? color.green('passed') : color.red('failed')}  ${safe(c.scenario)}  ack ${ms(c.measures.acknowledge.ms)}  mitigate ${ms(c.measures.mitigate.ms)}`);
      }
      for (const m of h.missed) console.log(`${color.red('missed')}  ${new Date(m.at).toISOString().slice(0, 16)}  ${safe(m.scenario)}  ${safe(m.participants.join(', '))}  ${safe(m.reason)}`);
      const line = (who: string, t: DrillHistory['team']) =>
        console.log(`  ${who.padEnd(14)} ${t.passed}/${t.drills} passed; median ack ${ms(t.median.acknowledge)}, mitigate ${ms(t.median.mitigate)}${t.change.mitigate !== null ? `; last mitigate ${t.change.mitigate <= 0 ? color.green(`${ms(-t.change.mitigate)} faster`) : color.red(`${ms(t.change.mitigate)} slower`)} than before` : ''}`);
      console.log(color.bold('trends'));
      line('team', h.team);
      for (const [p, t] of Object.entries(h.people)) line(safe(p), t);
    });

  drill
    .command('schedule')
    .description('the next scheduled drills (drills.schedule): when, which scenario, who')
    .action(async function (this: Command) {
      const out = await clientOf(this).request<{ upcoming: Slot[] }>('GET', '/v1/drills');
      if (globals(this).json) return printJson({ upcoming: out.upcoming });
      if (!out.upcoming.length) return console.log('no drill schedule (drills.schedule in greenlight.yaml)');
      for (const s of out.upcoming) console.log(`${new Date(s.dueAt).toISOString().slice(0, 16)}  ${safe(s.scenario).padEnd(16)} ${safe(s.participants.join(', '))}${s.movedBy ? color.dim(` (moved: ${safe(s.movedBy)})`) : ''}`);
    });

  drill
    .command('scenarios')
    .description('the built-in scenarios')
    .action(function (this: Command) {
      const all = builtinScenarioNames().map((n) => loadScenario(n).scenario);
      if (globals(this).json) return printJson({ scenarios: all });
      for (const s of all) console.log(`${s.name.padEnd(16)} ${s.title} ${color.dim(`(${formatDurationMs(s.duration)})`)}`);
    });

  drill
    .command('validate <file>')
    .description('check a scenario file: every problem at once, with file:line:column')
    .action(function (this: Command, file: string) {
      const { scenario } = loadScenario(file);
      if (globals(this).json) return printJson({ ok: true, scenario });
      console.log(`${file}: ${scenario.name} is valid (${scenario.faults.length} fault(s), ${formatDurationMs(scenario.duration)})`);
    });

  drill
    .command('from-incident <id>')
    .description('derive a scenario from a recorded incident: what failed, how much, in what order and when')
    .option('--out <file>', 'write the scenario YAML to this file')
    .action(async function (this: Command, id: string, opts: { out?: string }) {
      const out = await clientOf(this).request<{ yaml: string; notes: string[] }>('GET', `/v1/drills/from-incident/${encodeURIComponent(id)}`);
      if (opts.out) writeFileSync(resolve(opts.out), out.yaml);
      if (globals(this).json) return printJson(opts.out ? { file: opts.out, ...out } : out);
      if (opts.out) return console.log(`wrote ${opts.out}${out.notes.length ? `\n${out.notes.map((n) => `  - ${safe(n)}`).join('\n')}` : ''}`);
      process.stdout.write(out.yaml);
    });
}
