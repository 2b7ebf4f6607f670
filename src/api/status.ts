import type { ApiContext } from './context.ts';
import { describe } from '../errors/errors.ts';

/** What runs where, as the API and `greenlight status` show it. */
export async function statusOf(c: ApiContext): Promise<Record<string, unknown>> {
  const services = Object.keys(c.config.services);
  const environments = await Promise.all(
    c.config.environments.map(async (env) => ({
      name: env.name,
      services: await Promise.all(
        services.map(async (service) => {
          const rt = c.runtime.environments(service).find((e) => e.name === env.name)!;
          const stable = c.state.view.stable.get(`${env.name}/${service}`) ?? null;
          // The role an instance was started with ("candidate") says little once it serves: name what it is now.
          const instances = rt.target.list({ service, environment: env.name }).map((i) => ({
            ...i,
            role: i.role === 'baseline' ? 'baseline' : i.version === stable?.version ? 'stable' : 'canary',
          }));
          let router: Record<string, unknown>;
          try {
            const [table, stats] = await Promise.all([rt.traffic.current(), rt.traffic.stats()]);
            router = {
              url: rt.routerUrl,
              reachable: true,
              table,
              versions: Object.fromEntries(
                Object.values(stats.versions).map((v) => [v.version, { weight: v.weight, requests: v.requests, errors: v.status['5xx'] + v.connectionErrors }]),
              ),
            };
          } catch (err) {
            router = { url: rt.routerUrl, reachable: false, error: describe(err) };
          }
          const running = c.deployer.runningDeployment(service);
          return { service, stable, instances, router, runningDeployment: running ?? null, rollout: c.deployer.rolloutState(service) ?? null };
        }),
      ),
    })),
  );
  const deployments = [...c.state.view.deployments.values()].slice(-10).reverse();
  const alerting = c.operations.alerting;
  return {
    controller: { url: c.url, pid: process.pid, config: c.loaded.file, role: 'leader', leaseToken: c.leadership?.token ?? null },
    environments,
    deployments,
    monitors: c.operations.status(),
    alerts: alerting ? alerting.dispatcher.alerts() : [],
    pages: alerting ? alerting.escalations.list().filter((p) => p.state !== 'resolved') : [],
  };
}
