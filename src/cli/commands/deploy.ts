import type { Command } from 'commander';
import { GreenlightError, exitCodes } from '../../errors/errors.ts';
import type { StoredEvent } from '../../events/log.ts';
import type { Deployment } from '../../state/projection.ts';
import type { ApiClient } from '../client.ts';
import { clientOf, globals } from '../context.ts';
import { printJson } from '../output.ts';
import { describeEvent, FINAL_DEPLOYMENT_EVENTS } from '../progress.ts';

function parseRef(ref: string): { service: string; version: string } {
  const at = ref.indexOf('@');
  if (at <= 0 || at === ref.length - 1) throw new GreenlightError('USAGE', `"${ref}" is not <service>@<version>`, { hint: 'e.g. greenlight deploy web@2.0.0' });
  return { service: ref.slice(0, at), version: ref.slice(at + 1) };
}

/** Follows a deployment's events until it ends; prints progress; sets the exit code from the outcome. */
export async function followDeployment(client: ApiClient, id: string, json: boolean): Promise<Deployment> {
  const seen: StoredEvent[] = [];
  let lastLine: string | undefined;
  await client.follow('', (e) => {
    if (e.subject !== `deployment/${id}` && (e.data as { deploymentId?: string }).deploymentId !== id) return false;
    seen.push(e);
    if (!json) {
      const line = describeEvent(e);
      if (line && line !== lastLine) console.log(line);
      lastLine = line;
    }
    return FINAL_DEPLOYMENT_EVENTS.has(e.type);
  });
  const dep = await client.request<Deployment>('GET', `/v1/deployments/${encodeURIComponent(id)}`);
  if (json) printJson({ deployment: dep, events: seen });
  process.exitCode = dep.state === 'promoted' ? exitCodes.ok : exitCodes.deploymentNotPromoted;
  return dep;
}

export function registerDeploy(program: Command): void {
  program
    .command('deploy <service@version>')
    .description('deploy a release through every environment in order (staging, then production)')
    .option('--force', 'break-glass: pass environment gates the release has not passed (needs --reason)')
    .option('--reason <text>', 'why the gate is overridden; recorded with your name')
    .option('--env <names...>', 'only these environments (the gate still applies)')
    .option('--no-follow', 'return once the deployment has started')
    .action(async function (this: Command, ref: string, opts: { force?: boolean; reason?: string; env?: string[]; follow: boolean }) {
      const { service, version } = parseRef(ref);
      const client = clientOf(this);
      const json = !!globals(this).json;
      const { id } = await client.request<{ id: string }>('POST', '/v1/deployments', { service, version, force: !!opts.force, ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.env ? { environments: opts.env } : {}) });
      if (!opts.follow) return json ? printJson({ id }) : console.log(id);
      await followDeployment(client, id, json);
    });

  program
    .command('rollback <service>')
    .description('put the previous version (or --to <version>) back in an environment (default: the last one)')
    .option('--to <version>', 'version to go back to')
    .option('--env <name>', 'environment (default: the last, e.g. production)')
    .option('--reason <text>', 'why, for the record')
    .action(async function (this: Command, service: string, opts: { to?: string; env?: string; reason?: string }) {
      const client = clientOf(this);
      const { id } = await client.request<{ id: string }>('POST', `/v1/services/${encodeURIComponent(service)}/rollback`, { ...(opts.to ? { to: opts.to } : {}), ...(opts.env ? { environment: opts.env } : {}), ...(opts.reason ? { reason: opts.reason } : {}) });
      await followDeployment(client, id, !!globals(this).json);
    });

  for (const [name, what] of [
    ['pause', 'hold the running rollout at its current step (analysis keeps guarding it)'],
    ['resume', 'let a paused rollout continue'],
  ] as const) {
    program
      .command(`${name} <service>`)
      .description(what)
      .action(async function (this: Command, service: string) {
        const out = await clientOf(this).request<{ deployment: string }>('POST', `/v1/services/${encodeURIComponent(service)}/${name}`, {});
        if (globals(this).json) printJson(out);
        else console.log(`${name}d ${out.deployment}`);
      });
  }

  program
    .command('promote <service>')
    .description('move the running rollout to its next step, or with --full straight to 100%')
    .option('--full', 'skip the remaining steps')
    .action(async function (this: Command, service: string, opts: { full?: boolean }) {
      const out = await clientOf(this).request<{ deployment: string }>('POST', `/v1/services/${encodeURIComponent(service)}/promote`, { full: !!opts.full });
      if (globals(this).json) printJson(out);
      else console.log(`promote ${opts.full ? 'to 100%' : 'to the next step'} requested for ${out.deployment}`);
    });

  program
    .command('abort <service>')
    .description('abort the running deployment of a service; its environment returns to the stable version')
    .action(async function (this: Command, service: string) {
      const out = await clientOf(this).request<{ aborted: string }>('POST', `/v1/services/${encodeURIComponent(service)}/abort`, {});
      if (globals(this).json) printJson(out);
      else console.log(`aborting ${out.aborted}`);
    });
}
