// greenlight audit verify | head | accept: the hash chain of the event log, read from the file
// directly (like `greenlight events`), so it works while the controller is down or refuses to start.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { acceptBreak, CHAIN_HINT, parseHead, verifyChain, type ChainHead } from '../../audit/chain.ts';
import { GreenlightError } from '../../errors/errors.ts';
import type { EventLog } from '../../events/log.ts';
import { describeStore, openEventLog, storeSpec } from '../../store/registry.ts';
import { configOf, globals } from '../context.ts';
import { color, printJson } from '../output.ts';

async function openLog(cmd: Command, readOnly: boolean): Promise<{ log: EventLog; file: string }> {
  const loaded = configOf(cmd);
  const spec = storeSpec(loaded.config.store, loaded.stateDir);
  if (spec.kind === 'sqlite' && !existsSync(spec.file)) throw new GreenlightError('NOT_FOUND', `no event log at ${spec.file}`, { hint: 'it is created by the first greenlight up' });
  return { log: await openEventLog(spec, { readOnly }), file: describeStore(spec) };
}

function readAnchor(value: string): ChainHead {
  const text = existsSync(value) ? readFileSync(value, 'utf8') : value;
  try {
    return parseHead(text);
  } catch (err) {
    throw new GreenlightError('USAGE', `--anchor ${value}: ${(err as Error).message}`, { hint: 'pass the file `greenlight audit head --out` wrote, or "<seq>:<hash>"' });
  }
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident record: verify the hash chain of the event log, export its head');

  audit
    .command('verify')
    .description('check every event against its hash and its predecessor; names the first event changed, removed or reordered (exit 1 when broken)')
    .option('--anchor <head>', 'an exported head (file from `audit head --out`, or "<seq>:<hash>"): also catches a recomputed chain or a cut-off tail')
    .action(async function (this: Command, opts: { anchor?: string }) {
      const { log, file } = await openLog(this, true);
      try {
        const anchor = opts.anchor ? readAnchor(opts.anchor) : undefined;
        const r = await verifyChain(log, anchor ? { anchor } : {});
        if (globals(this).json) printJson({ file, ...r, ...(anchor ? { anchor } : {}) });
        else if (r.ok) {
          console.log(`${color.green('✓ chain intact')}: ${r.checked} event(s) in ${file}${r.head ? `, head ${r.head.seq}:${r.head.hash}` : ''}`);
          if (r.legacy) console.log(color.dim(`  ${r.legacy} event(s) at the start are covered as one block (${r.accepted ? 'before the accepted break' : 'recorded before the chain started'})`));
          if (r.accepted) console.log(color.yellow(`  a break was accepted at seq ${r.accepted.seq} by ${r.accepted.actor} on ${new Date(r.accepted.time).toISOString()}: ${r.accepted.problem}; reason: ${r.accepted.reason}`));
          if (anchor) console.log(color.dim(`  the exported head ${anchor.seq}:${anchor.hash.slice(0, 16)}… is part of this log`));
        } else {
          console.log(`${color.red('✗ chain broken')} (${r.problem!.kind}): ${r.problem!.detail}`);
          console.log(`  ${color.dim('hint:')} ${CHAIN_HINT}`);
        }
        if (!r.ok) process.exitCode = 1;
      } finally {
        await log.close();
      }
    });

  audit
    .command('head')
    .description('print the chain head (last seq and hash); keep copies elsewhere and check with `audit verify --anchor`')
    .option('--out <file>', 'also write it to a file (JSON)')
    .action(async function (this: Command, opts: { out?: string }) {
      const { log } = await openLog(this, true);
      try {
        const last = (await log.query({ descending: true, limit: 1 }))[0];
        if (!last?.hash) throw new GreenlightError('NOT_FOUND', 'the log has no chained event yet', { hint: 'start the controller once (greenlight up)' });
        const head: ChainHead = { seq: last.seq, hash: last.hash, at: Date.now() };
        if (opts.out) writeFileSync(opts.out, JSON.stringify(head) + '\n');
        if (globals(this).json) printJson(head);
        else console.log(`${head.seq}:${head.hash}`);
      } finally {
        await log.close();
      }
    });

  audit
    .command('accept')
    .description('record that a broken chain was looked at and accepted (the controller refuses to start until then); run with the controller stopped')
    .requiredOption('--reason <text>', 'why the break is accepted (kept in the record)')
    .action(async function (this: Command, opts: { reason: string }) {
      if (!opts.reason.trim()) throw new GreenlightError('USAGE', '--reason must not be empty');
      const { log } = await openLog(this, false);
      try {
        // no controller runs here to authenticate anyone: the actor is the local account that holds the file
        const out = await acceptBreak(log, { actor: `local:${userInfo().username}`, reason: opts.reason.trim() });
        if (!out) throw new GreenlightError('USAGE', 'the chain is intact: nothing to accept');
        if (globals(this).json) printJson({ accepted: out.accepted.seq, problem: out.problem });
        else console.log(`break accepted at seq ${out.accepted.seq} (${out.problem}); the controller can start again`);
      } finally {
        await log.close();
      }
    });
}
