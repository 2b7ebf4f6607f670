import type { Command } from 'commander';
import { runDemo } from '../../demo/demo.ts';
import { globals } from '../context.ts';
import { printJson } from '../output.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('replay the 3 June 2023 outage with the sample services, then do it the Greenlight way (about a minute)')
    .option('--keep', 'keep the workspace (config, event log, logs, postmortem) instead of removing it')
    .option('--rate <n>', 'client requests per second to production', (v) => Number(v), 200)
    .option('--out <dir>', 'directory for the postmortem')
    .action(async function (this: Command, opts: { keep?: boolean; rate: number; out?: string }) {
      const json = !!globals(this).json;
      const result = await runDemo({ ...(opts.keep ? { keep: true } : {}), rate: opts.rate, ...(opts.out ? { out: opts.out } : {}), print: json ? () => undefined : (l) => console.log(l) });
      if (json) printJson(result);
      const [, b, c, d] = result.phases;
      const ok = b?.state === 'rolled_back' && c?.state === 'blocked' && d?.state === 'promoted';
      process.exitCode = ok ? 0 : 1;
    });
}
