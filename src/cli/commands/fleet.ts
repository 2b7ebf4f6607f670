// `greenlight inventory` and `greenlight logs`: they talk to the hosts themselves (over SSH, with
// the environment's target config), not through the controller, so what runs where can be read
// while the controller is down.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { queryType } from '../../events/log.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { fleetOf } from '../../fleet/fleet.ts';
import { collectInventory, formatInventory, inventoryProblems, type EnvironmentInventory, type ReleaseRef } from '../../inventory/inventory.ts';
import { replay } from '../../state/projection.ts';
import { openEventLog, storeSpec } from '../../store/registry.ts';
import { createTarget } from '../../targets/registry.ts';
import { tailLines } from '../../targets/local/log-tail.ts';
import type { SshTarget } from '../../targets/ssh/ssh-target.ts';
import { shq } from '../../targets/ssh/connection.ts';
import { clientOf, configOf, globals, wholeNumber } from '../context.ts';
import type { ChangeResult } from '../../changes/runner.ts';
import { printJson } from '../output.ts';

type Loaded = ReturnType<typeof configOf>;

async function registeredReleases(loaded: Loaded): Promise<ReleaseRef[]> {
  const spec = storeSpec(loaded.config.store, loaded.stateDir);
  if (spec.kind === 'sqlite' && !existsSync(spec.file)) return [];
  const log = await openEventLog(spec, { migrate: false, readOnly: true });
  try {
    const state = await replay(log);
    return [...state.releases.values()].map((r) => ({ service: r.service, version: r.version, digest: r.digest, requires: r.requires }));
  } finally {
    await log.close();
  }
}

function environmentsOf(loaded: Loaded, only: string | undefined, names: string[] = only ? [only] : []) {
  const all = loaded.config.environments.map((e) => e.name);
  const unknown = names.find((n) => !all.includes(n));
  if (unknown !== undefined) throw new GreenlightError('NOT_FOUND', `no environment "${unknown}"`, { hint: `environments: ${all.join(', ')}` });
  return loaded.config.environments.filter((e) => names.length === 0 || names.includes(e.name));
}

// These commands run without the controller, so their target's events go to a log of their own.
const localEvents = new MemoryEventLog();

function targetOf(loaded: Loaded, env: Loaded['config']['environments'][number]) {
  return createTarget(env.target, { stateDir: loaded.stateDir, events: localEvents, clock: systemClock }, { parsed: true });
}

/**
 * With accept_new, a command of its own (no controller) may accept an unknown host key: it is
 * written to known_hosts, but the host.key_accepted event would only reach this process's own log,
 * so the person running the command is told here, with the fingerprint, instead of never.
 */
async function tellAcceptedKeys(): Promise<void> {
  for (const e of await queryType(localEvents, 'host.key_accepted')) {
    const d = e.data;
    process.stderr.write(
      `note: accepted the unknown ${d.keyType ?? ''}${d.keyType ? ' ' : ''}host key ${d.fingerprint} of ${d.host} (${d.address}:${d.port}) and added it to ${d.knownHosts ?? 'known_hosts'} (target.accept_new: true); ` +
        'this command runs without the controller, so it is not in the event log: compare the fingerprint with the key on the host\n',
    );
  }
}

/** What to do about a change refused by the gate: pass the environment before first, or break glass. */
export function blockedChangeHint(result: Pick<ChangeResult, 'change' | 'environments'>, order: string[]): string | undefined {
  const blocked = result.environments.find((e) => e.state === 'blocked');
  if (!blocked) return undefined;
  const previous = order[order.indexOf(blocked.name) - 1];
  return `${blocked.name} takes a change only after it passed ${previous ?? 'the environment before it'}: run greenlight change ${result.change}${previous ? ` --env ${previous} ${blocked.name}` : ''}, or skip the gate with --force --reason "..." (recorded)`;
}

export function registerFleet(program: Command): void {
  program
    .command('inventory')
    .description('what every host runs: the hosts x dependencies matrix, OS, releases held and running, which releases each host can run, drift')
    .option('--env <name>', 'one environment (default: every environment with hosts)')
    .action(async function (this: Command, opts: { env?: string }) {
      const loaded = configOf(this);
      const releases = await registeredReleases(loaded).catch(() => [] as ReleaseRef[]);
      const out: EnvironmentInventory[] = [];
      const texts: string[] = [];
      for (const env of environmentsOf(loaded, opts.env)) {
        const target = targetOf(loaded, env);
        try {
          const fleet = fleetOf(target);
          if (!fleet) {
            if (opts.env) throw new GreenlightError('USAGE', `environment ${env.name} runs on target kind ${env.target.kind}, which has no hosts`, { hint: 'inventory covers environments with target: { kind: ssh }' });
            continue;
          }
          const inv = await collectInventory(env.name, fleet, env.dependencies, { clock: systemClock });
          out.push(inv);
          texts.push(formatInventory(inv, releases, env.dependencies));
        } finally {
          await target.close();
        }
      }
      if (globals(this).json) printJson({ environments: out });
      else console.log(texts.join('\n\n') || 'no environment with hosts (target: { kind: ssh })');
      await tellAcceptedKeys();
      // worth a non-zero exit for scripts: inventoryProblems says which
      if (out.some((i) => inventoryProblems(i).length > 0)) process.exitCode = 1;
    });

  program
    .command('change <name>')
    .description('apply a declared host change (changes.<name>): the first environment\'s hosts, then the next in waves, each host drained, verified, undone on failure')
    .option('--env <names...>', 'only these environments (the gate still applies)')
    .option('--force', 'skip the gate (break-glass; needs --reason)')
    .option('--reason <text>', 'why the gate is skipped')
    .action(async function (this: Command, name: string, opts: { env?: string[]; force?: boolean; reason?: string }) {
      // a misspelt environment is named as such, before the controller is asked
      if (opts.env) environmentsOf(configOf(this), undefined, opts.env);
      const result = await clientOf(this).request<ChangeResult>(
        'POST',
        '/v1/changes',
        { change: name, force: opts.force === true, ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.env ? { environments: opts.env } : {}) },
        60 * 60_000,
      );
      if (globals(this).json) printJson(result);
      else {
        for (const e of result.environments) {
          console.log(`${e.name}: ${e.state}`);
          for (const h of e.hosts) console.log(`  ${h.host}: ${h.state} (${h.message})`);
        }
        console.log(`${result.state === 'completed' ? '✓' : '✗'} ${result.message}${result.incidentId ? ` (incident ${result.incidentId})` : ''}`);
        const hint = blockedChangeHint(result, configOf(this).config.environments.map((e) => e.name));
        if (hint) console.log(`  hint: ${hint}`);
      }
      if (result.state !== 'completed') process.exitCode = 1;
    });

  program
    .command('logs <service>')
    .description("an environment's instance logs (on its hosts for an ssh target); --follow for new lines")
    .requiredOption('--env <name>', 'environment')
    .option('--host <name>', 'only this host')
    .option('-n, --lines <n>', 'lines of each log', wholeNumber(1, 10_000), 50)
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .action(async function (this: Command, service: string, opts: { env: string; host?: string; lines: number; follow?: boolean }) {
      const loaded = configOf(this);
      const [env] = environmentsOf(loaded, opts.env);
      if (!Object.hasOwn(loaded.config.services, service)) throw new GreenlightError('NOT_FOUND', `unknown service "${service}"`, { hint: `services: ${Object.keys(loaded.config.services).join(', ')}` });
      const lines = Math.max(1, Math.min(10_000, Math.floor(opts.lines) || 50));
      if (env!.target.kind !== 'ssh') {
        const dir = join(loaded.stateDir, 'logs', service, env!.name);
        const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.log')) : [];
        if (files.length === 0) throw new GreenlightError('NOT_FOUND', `no logs of ${service} in ${env!.name} under ${dir}`, { hint: 'instances write them once deployed' });
        for (const f of files) for (const l of tailLines(join(dir, f), lines)) console.log(`[${f.replace(/\.log$/, '')}] ${l}`);
        return;
      }
      const target = targetOf(loaded, env!) as SshTarget;
      const hosts = opts.host ? [target.remoteHost(opts.host)] : target.hostNames().map((n) => target.remoteHost(n));
      const streams: { close(): void; closed: Promise<void> }[] = [];
      try {
        for (const h of hosts) {
          // the instances of this service on the host: those running, else the latest one
          const pick = `cd ${shq(h.path('instances'))} 2>/dev/null || exit 0; run=$(for d in ${shq(service)}-*/; do [ -f "$d/log" ] || continue; s=$(cat "$d/supervisor.pid" 2>/dev/null) && kill -0 "$s" 2>/dev/null && echo "\${d%/}"; done); [ -n "$run" ] && echo "$run" || ls -1td ${shq(service)}-*/ 2>/dev/null | head -n 1 | tr -d /`;
          const ids = (await h.conn.exec(pick, { timeoutMs: 15_000 })).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
          for (const id of ids) {
            const file = `${h.instanceDir(id)}/log`;
            const prefix = `[${h.host.name} ${id}] `;
            if (opts.follow) {
              streams.push(await h.conn.stream(`exec tail -n ${lines} -F ${shq(file)}`, (l) => console.log(prefix + l)));
            } else {
              for (const l of await h.logTail(id, lines)) console.log(prefix + l);
            }
          }
        }
        if (opts.follow) {
          if (streams.length === 0) throw new GreenlightError('NOT_FOUND', `no instance of ${service} on ${hosts.map((h) => h.host.name).join(', ')}`, { hint: 'deploy it first' });
          await new Promise<void>((resolve) => {
            process.once('SIGINT', () => resolve());
            void Promise.all(streams.map((s) => s.closed)).then(() => resolve());
          });
        }
      } finally {
        for (const s of streams) s.close();
        await target.close();
        await tellAcceptedKeys();
      }
    });
}
