// greenlight store check | migrate: operations on the event store itself, run directly against it
// (not through the controller), so they work while no controller runs.
import type { Command } from 'commander';
import { GreenlightError } from '../../errors/errors.ts';
import { checkStore } from '../../store/check.ts';
import { migrateStore } from '../../store/migrate.ts';
import { resolveUrl, storeSpec } from '../../store/registry.ts';
import { configOf, globals } from '../context.ts';
import { color, printJson } from '../output.ts';

export function registerStore(program: Command): void {
  const store = program.command('store').description('the event store: check its integrity, migrate SQLite to PostgreSQL');

  store
    .command('check')
    .description('integrity, schema version, ordering (seqs, ids) and hash chain of the configured store (exit 1 when a check fails)')
    .action(async function (this: Command) {
      const loaded = configOf(this);
      const r = await checkStore(storeSpec(loaded.config.store, loaded.stateDir));
      if (globals(this).json) printJson(r);
      else {
        console.log(`${r.ok ? color.green('✓ store sound') : color.red('✗ store has problems')}: ${r.store}, ${r.events} event(s)`);
        for (const i of r.items) console.log(`  ${i.ok ? color.green('✓') : color.red('✗')} ${i.name.padEnd(9)} ${i.detail}`);
      }
      if (!r.ok) process.exitCode = 1;
    });

  store
    .command('migrate')
    .description('copy a SQLite event log into PostgreSQL verbatim (checked; run again to resume; the source is never written)')
    .requiredOption('--from <file>', 'the SQLite event log, e.g. .greenlight/events.db')
    .requiredOption('--to <url>', 'postgres://user:password@host:5432/database (or $ENV_VAR holding it)')
    .action(async function (this: Command, opts: { from: string; to: string }) {
      if (!/^(postgres(ql)?:\/\/|\$)/.test(opts.to)) throw new GreenlightError('USAGE', `--to ${opts.to} is not a postgres:// URL`, { hint: 'e.g. --to postgres://greenlight@127.0.0.1:5432/greenlight' });
      const json = !!globals(this).json;
      const r = await migrateStore({
        from: opts.from,
        to: resolveUrl(opts.to),
        progress: (done, total) => {
          if (!json) process.stderr.write(`\r  copied ${done}/${total}`);
        },
      });
      if (!json) process.stderr.write('\n');
      if (json) printJson(r);
      else {
        console.log(`${color.green('✓ migrated')}: ${r.copied} event(s) copied${r.alreadyThere ? ` after the ${r.alreadyThere} already there (resumed)` : ''}; the target holds ${r.targetEvents}, equal to the source event by event`);
        console.log(`  chain: ${r.chain.ok ? `intact${r.chain.head ? `, head ${r.chain.head.seq}:${r.chain.head.hash.slice(0, 16)}…` : ''}` : `broken: ${r.chain.problem}`}`);
        console.log(color.dim('  next: set `store: { kind: postgres, url: ... }` in greenlight.yaml and start the controllers'));
      }
      if (!r.chain.ok) process.exitCode = 1;
    });
}
