import type { Command } from 'commander';
import { clientOf, globals } from '../context.ts';
import { color, printJson } from '../output.ts';

interface AlertView { fingerprint: string; labels: Record<string, string>; annotations?: Record<string, string>; state?: string; status?: string; startsAt?: number }
interface PageView { id: string; state: string; summary?: string; level?: number; key?: string; [k: string]: unknown }

export function registerAlerting(program: Command): void {
  program
    .command('alerts')
    .description('alerts the alerting pipeline holds (pending, firing, silenced, inhibited)')
    .action(async function (this: Command) {
      const out = await clientOf(this).request<{ alerts: AlertView[] }>('GET', '/v1/alerts');
      if (globals(this).json) return printJson(out);
      if (!out.alerts.length) return console.log('no alerts');
      for (const a of out.alerts) console.log(`${a.labels.alertname ?? '?'} ${color.dim(JSON.stringify(a.labels))} ${a.state ?? a.status ?? ''}`);
    });

  const silence = program.command('silence').description('mute alerts matching label matchers for a while');
  silence
    .command('add <matchers...>')
    .description('e.g. greenlight silence add environment=production alertname=~"Probe.*" --for 2h --comment "maintenance"')
    .option('--for <duration>', 'how long', '1h')
    .requiredOption('--comment <text>', 'why the alerts are silenced')
    .action(async function (this: Command, matchers: string[], opts: { for: string; comment: string }) {
      const out = await clientOf(this).request<{ id: string }>('POST', '/v1/silences', { matchers, duration: opts.for, comment: opts.comment });
      if (globals(this).json) return printJson(out);
      console.log(`silence ${out.id} created for ${opts.for}`);
    });
  silence
    .command('list')
    .action(async function (this: Command) {
      const out = await clientOf(this).request<{ silences: { id: string; state: string; comment: string; createdBy?: string; created_by?: string; endsAt?: number; matchers: unknown }[] }>('GET', '/v1/silences');
      if (globals(this).json) return printJson(out);
      for (const s of out.silences) console.log(`${s.id} ${s.state} ${JSON.stringify(s.matchers)} "${s.comment}"${s.endsAt ? ` until ${new Date(s.endsAt).toISOString()}` : ''}`);
    });
  silence
    .command('expire <id>')
    .action(async function (this: Command, id: string) {
      const out = await clientOf(this).request('POST', `/v1/silences/${encodeURIComponent(id)}/expire`, {});
      if (globals(this).json) return printJson(out);
      console.log(`silence ${id} expired`);
    });

  program
    .command('oncall')
    .description('who is on call now (or --at a time) for each schedule')
    .option('--at <time>', 'ISO 8601 time, e.g. 2026-11-22T09:00:00+01:00')
    .action(async function (this: Command, opts: { at?: string }) {
      const out = await clientOf(this).request<{ schedules: { schedule: string; at: string; onCall: { user: string; source?: string; end?: number } | null }[] }>('GET', `/v1/oncall${opts.at ? `?at=${encodeURIComponent(opts.at)}` : ''}`);
      if (globals(this).json) return printJson(out);
      for (const s of out.schedules) console.log(`${s.schedule}: ${s.onCall ? `${s.onCall.user}${s.onCall.end ? ` until ${new Date(s.onCall.end).toISOString()}` : ''}` : 'nobody'}`);
    });

  const page = program.command('page').description('acknowledge, resolve or snooze a page');
  page
    .command('list')
    .action(async function (this: Command) {
      const out = await clientOf(this).request<{ pages: PageView[] }>('GET', '/v1/pages');
      if (globals(this).json) return printJson(out);
      for (const p of out.pages) console.log(`${p.id} ${p.state} ${p.summary ?? ''}`);
    });
  for (const action of ['acknowledge', 'resolve', 'snooze'] as const) {
    page
      .command(`${action === 'acknowledge' ? 'ack' : action} <id>`)
      .option('--for <ms>', 'snooze length in ms (snooze only)')
      .action(async function (this: Command, id: string, opts: { for?: string }) {
        const out = await clientOf(this).request<PageView>('POST', `/v1/pages/${encodeURIComponent(id)}/${action}`, opts.for ? { ms: Number(opts.for) } : {});
        if (globals(this).json) return printJson(out);
        console.log(`page ${id}: ${out.state}`);
      });
  }
}
