import type { Command } from 'commander';
import { clientOf, globals } from '../context.ts';
import { color, printJson } from '../output.ts';

interface StatusView {
  controller: { url: string };
  environments: {
    name: string;
    services: {
      service: string;
      stable: { version: string; digest: string; since: number } | null;
      instances: { id: string; version: string; port: number; state: string; restarts: number; role?: string }[];
      router: { url: string; reachable: boolean; error?: string; versions?: Record<string, { weight: number; requests: number; errors: number }> };
      runningDeployment: string | null;
    }[];
  }[];
  deployments: { id: string; service: string; version: string; state: string; reason?: string; overrides: { environment: string; actor: string; reason: string }[]; requestedAt: number }[];
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('what runs where: stable versions, instances, router traffic, recent deployments')
    .action(async function (this: Command) {
      const s = await clientOf(this).request<StatusView>('GET', '/v1/status');
      if (globals(this).json) return printJson(s);
      for (const env of s.environments) {
        for (const svc of env.services) {
          console.log(`${color.bold(env.name)} ${svc.service}: ${svc.stable ? `stable ${svc.stable.version}` : 'nothing deployed'}${svc.runningDeployment ? color.yellow(` (deploying: ${svc.runningDeployment})`) : ''}`);
          const r = svc.router;
          if (!r.reachable) console.log(`  router ${r.url} ${color.red(`unreachable: ${r.error}`)}`);
          else {
            const split = Object.entries(r.versions ?? {}).map(([v, x]) => `${v} ${x.weight}% (${x.requests} req, ${x.errors} err)`).join(', ');
            console.log(`  router ${r.url}  ${split || 'no traffic yet'}`);
          }
          for (const i of svc.instances) console.log(`  instance ${i.id} ${i.version} :${i.port} ${i.state === 'ready' ? color.green(i.state) : color.yellow(i.state)}${i.restarts ? ` restarts ${i.restarts}` : ''}`);
        }
      }
      if (s.deployments.length) {
        console.log(color.bold('recent deployments'));
        for (const d of s.deployments) {
          const forced = d.overrides.map((o) => color.yellow(` [break-glass in ${o.environment} by ${o.actor}: "${o.reason}"]`)).join('');
          console.log(`  ${d.id} ${d.service}@${d.version} ${d.state}${forced}${d.reason ? color.dim(` ${d.reason}`) : ''}`);
        }
      }
    });
}
