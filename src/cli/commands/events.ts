import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { GreenlightError } from '../../errors/errors.ts';
import { matchesFilter, type EventFilter, type StoredEvent } from '../../events/log.ts';
import { openEventLog, storeSpec } from '../../store/registry.ts';
import { parseDuration } from '../../config/duration.ts';
import { configOf, globals, wholeNumber } from '../context.ts';
import { color } from '../output.ts';

/**
 * Reads the event store directly (not through the controller), so the record is readable even
 * when the controller is down. --follow subscribes to the store (PostgreSQL LISTEN/NOTIFY, SQLite
 * a watch of the file): new events print as they are committed, without polling.
 */
export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('list the events of the log (the source of truth), with filters; --follow for new ones')
    .option('--type <types...>', 'event types; "deployment.*" matches a prefix')
    .option('--subject <subject>', 'subject, e.g. deployment/<id> or "instance/*"')
    .option('--deployment <id>', 'events of one deployment')
    .option('--since <duration>', 'only the last e.g. 10m, 2h')
    .option('--limit <n>', 'at most n (the latest n)', wholeNumber(1, 1_000_000))
    .option('--follow', 'keep printing new events until interrupted')
    .action(async function (this: Command, opts: { type?: string[]; subject?: string; deployment?: string; since?: string; limit?: number; follow?: boolean }) {
      const loaded = configOf(this);
      const spec = storeSpec(loaded.config.store, loaded.stateDir);
      if (spec.kind === 'sqlite' && !existsSync(spec.file)) throw new GreenlightError('NOT_FOUND', `no event log at ${spec.file}`, { hint: 'it is created by the first greenlight up' });
      // Read-only: a read-write connection closing here could checkpoint and delete the WAL the
      // controller is writing, and a reader has no business writing the log.
      const log = await openEventLog(spec, { migrate: false, readOnly: true });
      const filter: EventFilter = {};
      if (opts.type) filter.types = opts.type.flatMap((t) => t.split(','));
      if (opts.subject) filter.subject = opts.subject;
      if (opts.since) {
        const ms = parseDuration(opts.since);
        if (ms === undefined) throw new GreenlightError('USAGE', `--since ${opts.since} is not a duration`, { hint: 'e.g. --since 10m' });
        filter.since = Date.now() - ms;
      }
      const keep = (e: StoredEvent) => !opts.deployment || (e.data as { deploymentId?: string }).deploymentId === opts.deployment;
      const json = !!globals(this).json;
      const print = (e: StoredEvent) => {
        if (!keep(e)) return;
        if (json) return void process.stdout.write(JSON.stringify(e) + '\n');
        const t = new Date(e.time).toISOString().replace('T', ' ').replace('Z', '');
        const summary = JSON.stringify(e.data);
        console.log(`${color.dim(`${String(e.seq).padStart(5)} ${t}`)} ${e.type.padEnd(32)} ${e.subject.padEnd(28)} ${color.dim(e.actor)} ${summary.length > 160 ? summary.slice(0, 157) + '...' : summary}`);
      };
      let last = 0;
      // subscribed before the first read, so nothing committed in between is missed; the seq
      // cursor drops what the first read already printed
      const held: StoredEvent[] = [];
      let live = false;
      const off = opts.follow
        ? log.subscribe((e) => {
            if (!live) return void held.push(e);
            if (e.seq > last && matchesFilter(e, { ...filter, afterSeq: undefined })) print(e);
            last = Math.max(last, e.seq);
          })
        : () => undefined;
      const initial = opts.limit !== undefined ? (await log.query({ ...filter, limit: opts.limit, descending: true })).reverse() : await log.query(filter);
      for (const e of initial) print(e);
      last = initial[initial.length - 1]?.seq ?? 0;
      if (!opts.follow) return void (await log.close());
      live = true;
      for (const e of held) if (e.seq > last && matchesFilter(e, { ...filter, afterSeq: undefined })) (print(e), (last = e.seq));
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      off();
      await log.close();
    });
}
