// Process entry of one environment's router:
//   node src/router/main.ts --name production --listen 127.0.0.1:8081 --admin 127.0.0.1:9081 \
//     --state-file <path> --token-file <path>
// Prints one JSON line {"ready":true,...} on stdout once both listeners are up. Runs on its own so
// traffic keeps flowing with the last table when the controller is down or restarting.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { GreenlightError, describe, exitCodeFor } from '../errors/errors.ts';
import { createRouter, formatAddress } from './router.ts';
import { defaultIdentity, parseIdentity } from './assignment.ts';
import { DEFAULT_HEALTH_CHECK, parseHealthCheck, type HealthCheckOptions } from './health.ts';

const USAGE = 'usage: node src/router/main.ts --name <env> --listen <host:port> --admin <host:port> --state-file <path> --token-file <path> [--client-cap <n>] [--upstream-client undici|http] [--no-rescue] [--identity greenlight|cookie:<name>|header:<name>|address] [--health-check <json: path, intervalMs, timeoutMs, fall, rise>]';

async function main(): Promise<void> {
  let values: Record<string, string | undefined>;
  let noRescue = false;
  try {
    const parsed = parseArgs({
      options: {
        name: { type: 'string' },
        listen: { type: 'string' },
        admin: { type: 'string' },
        'state-file': { type: 'string' },
        'token-file': { type: 'string' },
        'client-cap': { type: 'string' },
        'upstream-client': { type: 'string' },
        // a canary's 5xx on a safe request is answered by stable unless this is given
        'no-rescue': { type: 'boolean' },
        // what assigns a client to a version (assignment.ts)
        identity: { type: 'string' },
        // active health checks of the upstreams (health.ts); absent: the defaults
        'health-check': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
    noRescue = parsed.values['no-rescue'] === true;
    values = parsed.values as Record<string, string | undefined>;
  } catch (err) {
    return fail(new GreenlightError('USAGE', describe(err), { hint: USAGE }));
  }
  const missing = ['name', 'listen', 'admin', 'state-file', 'token-file'].filter((k) => !values[k]);
  if (missing.length) return fail(new GreenlightError('USAGE', `missing ${missing.map((m) => `--${m}`).join(', ')}`, { hint: USAGE }));

  const tokenFile = values['token-file']!;
  let token: string;
  try {
    token = (await readFile(tokenFile, 'utf8')).trim();
  } catch (err) {
    return fail(new GreenlightError('USAGE', `cannot read the admin token file ${tokenFile}: ${describe(err)}`, { hint: 'the controller writes it; pass the same path it uses' }));
  }
  if (token.length < 16) return fail(new GreenlightError('USAGE', `the admin token in ${tokenFile} is shorter than 16 characters`, { hint: 'write a long random token, e.g. `openssl rand -hex 32`' }));
  const clientCap = values['client-cap'] === undefined ? undefined : Number(values['client-cap']);
  if (clientCap !== undefined && !(Number.isInteger(clientCap) && clientCap > 0)) return fail(new GreenlightError('USAGE', '--client-cap must be a positive integer', { hint: USAGE }));

  const upstreamClient = values['upstream-client'] ?? 'undici';
  if (upstreamClient !== 'undici' && upstreamClient !== 'http') return fail(new GreenlightError('USAGE', '--upstream-client must be undici or http', { hint: USAGE }));
  const identity = values.identity === undefined ? defaultIdentity : parseIdentity(values.identity);
  if (identity === null) return fail(new GreenlightError('USAGE', `--identity "${values.identity}" is not an identity source`, { hint: 'use greenlight, cookie:<name>, header:<name> or address' }));
  let healthCheck: HealthCheckOptions = DEFAULT_HEALTH_CHECK;
  if (values['health-check'] !== undefined) {
    const h = parseHealthCheck(values['health-check']);
    if ('problem' in h) return fail(new GreenlightError('USAGE', h.problem, { hint: 'fix environments[].router.health_check in greenlight.yaml' }));
    healthCheck = h;
  }
  const router = createRouter({ name: values.name!, healthCheck, stateFile: values['state-file']!, adminToken: token, upstreamClient, rescueCanaryErrors: !noRescue, identity, ...(clientCap ? { clientCap } : {}) });
  try {
    const revision = await router.loadState();
    const proxy = await router.listen(values.listen!);
    const admin = await router.listenAdmin(values.admin!);
    process.stdout.write(JSON.stringify({ ready: true, name: values.name, pid: process.pid, listen: formatAddress(proxy), admin: formatAddress(admin), revision }) + '\n');
  } catch (err) {
    await router.close().catch(() => {});
    return fail(err);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // second signal: do not wait for open connections any longer
      router.destroyConnections();
      process.exit(0);
    }
    stopping = true;
    process.stderr.write(`router ${values.name}: ${signal}, finishing open requests\n`);
    // long-lived connections (WebSockets, slow downloads) get 10 s, then are cut
    setTimeout(() => router.destroyConnections(), 10_000).unref();
    router.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function fail(err: unknown): void {
  if (err instanceof GreenlightError) {
    process.stderr.write(`router: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    process.exitCode = exitCodeFor(err.code);
  } else {
    process.stderr.write(`router: ${describe(err)}\n`);
    process.exitCode = 1;
  }
}

await main();
