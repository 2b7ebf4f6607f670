import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.ts';
import { systemClock } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { startClientLoad, type LoadCounts } from '../../load/clients.ts';
import { globals } from '../context.ts';
import { printJson } from '../output.ts';

// a version header comes from the network: keep it printable before it reaches the terminal
const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);

function line(c: LoadCounts, seconds: number): string {
  const versions = [...c.byVersion].map(([v, x]) => `${v ? printable(v) : '(no version header)'} ${x.requests}${x.failed ? ` (${x.failed} failed)` : ''}`).join(', ');
  return `${seconds.toFixed(0).padStart(4)} s  sent ${c.sent}, answered ${c.answered}, failed ${c.failed}${c.posts ? ` (POST ${c.posts}, ${c.postsFailed} failed)` : ''}${c.skipped ? `, skipped ${c.skipped} (every client waiting: the service is slower than the rate)` : ''}  ${versions}`;
}

export function registerLoad(program: Command): void {
  program
    .command('load <url>')
    .description('send bounded traffic from returning clients that keep their cookies (enough for a canary to be judged), and show which version answered')
    .option('--rate <n>', 'requests per second over all clients (max 5000)', (v) => Number(v), 20)
    .option('--duration <d>', 'how long, e.g. 30s, 5m (max 1h)', '2m')
    .option('--clients <n>', 'distinct returning clients, each keeping its cookies', (v) => Number(v), 50)
    .option('--post-share <x>', 'share of requests that are POSTs with a body (0..1)', (v) => Number(v), 0)
    .action(async function (this: Command, url: string, opts: { rate: number; duration: string; clients: number; postShare: number }) {
      const json = !!globals(this).json;
      const durationMs = parseDuration(opts.duration);
      if (durationMs === undefined) throw new GreenlightError('USAGE', `--duration "${opts.duration}" is not a duration`, { hint: 'e.g. 30s, 2m, 1h' });
      const load = startClientLoad({ url, rate: opts.rate, durationMs, clients: opts.clients, postShare: opts.postShare }, systemClock);
      const t0 = Date.now();
      if (!json) console.log(`load ${printable(url)}: ${opts.rate} req/s from ${opts.clients} clients for ${opts.duration}${opts.postShare ? `, ${Math.round(opts.postShare * 100)}% POST` : ''} (Ctrl-C stops)`);
      const every = setInterval(() => !json && console.log(line(load.counts, (Date.now() - t0) / 1000)), 5000);
      const onSigint = () => void load.stop();
      process.once('SIGINT', onSigint);
      const c = await load.done;
      clearInterval(every);
      process.off('SIGINT', onSigint);
      if (json) printJson({ ...c, byVersion: Object.fromEntries(c.byVersion) });
      else console.log(line(c, (Date.now() - t0) / 1000));
      process.exitCode = c.answered === 0 ? 1 : 0;
    });
}
