// A host change goes through the pipeline like a release: the first environment's hosts first,
// then each next environment only when the same change (same digest of apply/verify/undo) passed
// the one before, unless a recorded break-glass. Within an environment the hosts go in waves
// (batch_size, within max_unavailable counting the hosts of the environment already out of service:
// a wave shrinks, or waits up to unavailable_timeout): each host is drained from the router,
// changed, verified, health-checked and put back. A failed verify undoes that host, stops the waves and opens an
// incident; the hosts not reached keep running as they were.
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock/clock.ts';
import { GreenlightError, describe } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import { eventWith, ofType, type DataBesides, type TypesWith } from '../events/catalogue/index.ts';

type ChangeRef = { changeId: string; change: string; digest: string };
/** writes an event of this change: its id, name and digest filled in */
type ChangeEmit = <T extends TypesWith<ChangeRef>>(type: T, data: DataBesides<T, ChangeRef>) => Promise<unknown>;
type HostRef = ChangeRef & { environment: string; host: string; wave: number };
/** writes an event of one host of a wave: the environment, host and wave filled in too */
type HostEmit = <T extends TypesWith<HostRef>>(type: T, data: DataBesides<T, HostRef>) => Promise<unknown>;
import { unavailableHosts, waitForRoom, type Unavailable } from '../fleet/availability.ts';
import { formatDuration } from '../config/duration.ts';
import { selectHosts, type Fleet, type FleetHost } from '../fleet/fleet.ts';
import { httpRequest } from '../checks/http/request.ts';
import type { ChangeSpec } from './schema.ts';

export interface ChangeEnvironment {
  name: string;
  index: number;
  fleet: Fleet;
  /** takes the host's instances out of the router */
  drain(host: string): Promise<void>;
  /** puts them back */
  restore(host: string): Promise<void>;
  /** the host's instances answer their health path */
  healthy(host: string): Promise<{ ok: boolean; problems: string[] }>;
  /** hosts of the environment out of service now (unavailableHosts); absent: those out of rotation */
  unavailable?(): Unavailable;
  /** reads the inventory again and records it (after the change) */
  refreshInventory?(): Promise<void>;
}

export interface ChangeRequest {
  name: string;
  spec: ChangeSpec;
  actor: string;
  force?: boolean;
  reason?: string;
  /** only these environments (still gated) */
  only?: string[];
}

export interface HostOutcome {
  host: string;
  state: 'changed' | 'undone' | 'failed' | 'skipped';
  message: string;
}

export interface ChangeResult {
  changeId: string;
  change: string;
  digest: string;
  state: 'completed' | 'failed' | 'blocked';
  message: string;
  environments: { name: string; state: 'passed' | 'failed' | 'blocked' | 'not-reached'; hosts: HostOutcome[] }[];
  incidentId?: string;
}

export interface ChangeDeps {
  events: EventLog;
  clock: Clock;
  environments: ChangeEnvironment[];
  openIncident(input: { title: string; environment: string; summary: string }): Promise<{ id: string }>;
}

export function changeDigest(spec: ChangeSpec): string {
  return 'sha256:' + createHash('sha256').update(JSON.stringify({ apply: spec.apply, verify: spec.verify, undo: spec.undo })).digest('hex');
}

export async function runChange(req: ChangeRequest, deps: ChangeDeps): Promise<ChangeResult> {
  const digest = changeDigest(req.spec);
  const changeId = `chg-${randomBytes(4).toString('hex')}`;
  const subject = `change/${changeId}`;
  const emit: ChangeEmit = (type, data) => deps.events.append(eventWith({ changeId, change: req.name, digest }, { actor: req.actor, subject })(type, data));
  if (req.force && !req.reason?.trim()) throw new GreenlightError('USAGE', '--force needs --reason', { hint: 'say why the gate is skipped: greenlight change <name> --force --reason "..."' });
  const envs = [...deps.environments].sort((a, b) => a.index - b.index);
  const wanted = req.only ? envs.filter((e) => req.only!.includes(e.name)) : envs;
  if (wanted.length === 0) throw new GreenlightError('USAGE', `no environment with hosts to change${req.only ? ` among ${req.only.join(', ')}` : ''}`, { hint: 'changes apply to environments with target: { kind: ssh }' });
  await emit('change.requested', { environments: wanted.map((e) => e.name), ...(req.force ? { force: true, reason: req.reason } : {}) });
  const result: ChangeResult = { changeId, change: req.name, digest, state: 'completed', message: '', environments: wanted.map((e) => ({ name: e.name, state: 'not-reached', hosts: [] })) };

  for (const [k, env] of wanted.entries()) {
    const out = result.environments[k]!;
    const previous = envs.filter((e) => e.index < env.index).at(-1);
    if (previous && !(await passed(deps.events, req.name, digest, previous.name))) {
      if (!req.force) {
        out.state = 'blocked';
        result.state = 'blocked';
        result.message = `change ${req.name} has not passed ${previous.name} with this definition (digest ${digest.slice(7, 19)}); ${env.name} refused`;
        await emit('change.blocked', { environment: env.name, needs: previous.name });
        return result;
      }
      await emit('change.override', { environment: env.name, skipped: previous.name, reason: req.reason });
    }
    const hosts = selectHosts(env.fleet.hosts(), req.spec.hosts);
    if (hosts.length === 0) {
      // an environment where nothing was changed has not shown the change works: passing it would
      // open the next environment's gate on no evidence (the config check refuses such a selector;
      // this holds whatever reaches the runner)
      const selector = Object.entries(req.spec.hosts ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
      const why = `no host of ${env.name} ${selector ? `has the labels ${selector} (changes.${req.name}.hosts)` : 'is listed'}: nothing would be changed there, so the change cannot pass it`;
      out.state = 'failed';
      result.state = 'failed';
      result.message = `change ${req.name} stopped in ${env.name}: ${why}`;
      await emit('change.stopped', { environment: env.name, message: why, hosts: [] });
      return result;
    }
    await emit('change.environment.started', { environment: env.name, hosts: hosts.map((h) => h.name) });
    const remaining = [...hosts];
    let failed: HostOutcome | undefined;
    let stopped: string | undefined;
    for (let w = 0; remaining.length > 0 && !failed; w++) {
      const room = await roomFor(env, remaining.map((h) => h.name), w + 1, req.spec, deps.clock, (u, message) =>
        emit('change.wave.waiting', { environment: env.name, wave: w + 1, unavailable: [...u].map(([host, why]) => ({ host, why })), message }),
      );
      if (typeof room === 'string') {
        stopped = room;
        break;
      }
      const wave = remaining.splice(0, room.length);
      await emit('change.wave.started', { environment: env.name, wave: w + 1, hosts: wave.map((h) => h.name) });
      const outcomes = await Promise.all(wave.map((h) => changeHost(env, h, req.spec, deps.clock, (type, data) => deps.events.append(eventWith({ changeId, change: req.name, digest, environment: env.name, host: h.name, wave: w + 1 }, { actor: req.actor, subject })(type, data)))));
      out.hosts.push(...outcomes);
      failed = outcomes.find((o) => o.state !== 'changed');
    }
    for (const h of hosts.filter((h) => !out.hosts.some((o) => o.host === h.name))) out.hosts.push({ host: h.name, state: 'skipped', message: stopped ? 'not reached: no room under max_unavailable' : 'not reached: the waves stopped' });
    await env.refreshInventory?.().catch(() => {});
    if (stopped) {
      out.state = 'failed';
      result.state = 'failed';
      result.message = `change ${req.name} stopped in ${env.name}: ${stopped}`;
      await emit('change.stopped', { environment: env.name, message: stopped, hosts: out.hosts });
      return result;
    }
    if (failed) {
      out.state = 'failed';
      result.state = 'failed';
      result.message = `change ${req.name} failed on ${failed.host} in ${env.name}: ${failed.message}`;
      const incident = await deps.openIncident({
        title: `host change ${req.name} failed on ${failed.host} (${env.name})`,
        environment: env.name,
        summary: `${result.message}. Hosts: ${out.hosts.map((o) => `${o.host} ${o.state}`).join(', ')}.`,
      });
      result.incidentId = incident.id;
      await emit('change.failed', { environment: env.name, host: failed.host, message: failed.message, hosts: out.hosts, incidentId: incident.id });
      return result;
    }
    out.state = 'passed';
    await emit('change.passed', { environment: env.name, hosts: out.hosts.map((o) => o.host) });
  }
  result.message = `change ${req.name} applied to ${result.environments.map((e) => `${e.name} (${e.hosts.length} hosts)`).join(', ')}`;
  await emit('change.completed', { environments: result.environments.map((e) => e.name) });
  return result;
}

/**
 * The next wave's hosts (a prefix of `remaining`), within max_unavailable counting the hosts of the
 * environment out of service already; while there is none, waits (reporting each new reason) up
 * to unavailable_timeout. A string: why the change stops here.
 */
async function roomFor(env: ChangeEnvironment, remaining: string[], wave: number, spec: ChangeSpec, clock: Clock, waiting: (u: Unavailable, message: string) => Promise<unknown>): Promise<string[] | string> {
  const { batch_size: batch, max_unavailable: maxOut, unavailable_timeout: waitMs } = spec.waves;
  const r = await waitForRoom<never>({
    environment: env.name,
    remaining,
    batchSize: batch,
    maxUnavailable: maxOut,
    timeoutMs: waitMs,
    clock,
    unavailable: () => env.unavailable?.() ?? unavailableHosts(env.fleet, []),
    waiting: (down, why) => waiting(down, `wave ${wave} waits for room: ${why}; waiting up to ${formatDuration(waitMs)}`),
    pause: (left) => clock.sleep(Math.min(WAIT_EVERY_MS, left)),
  });
  if ('hosts' in r) return r.hosts;
  if ('stopped' in r) return r.stopped;
  return `no room to change ${remaining[0]}: ${r.timedOut}, for ${formatDuration(waitMs)} (waves.unavailable_timeout); ${remaining.join(', ')} not changed`;
}

const WAIT_EVERY_MS = 500;

async function passed(events: EventLog, change: string, digest: string, environment: string): Promise<boolean> {
  const all = await events.query({ types: ['change.passed'] });
  return all.filter(ofType('change.passed')).some((e) => e.data.change === change && e.data.digest === digest && e.data.environment === environment);
}

async function changeHost(env: ChangeEnvironment, h: FleetHost, spec: ChangeSpec, clock: Clock, emit: HostEmit): Promise<HostOutcome> {
  const run = async (what: string, command: string, timeoutMs: number) => {
    const r = await env.fleet.exec(h.name, command, { timeoutMs });
    if (r.code !== 0) throw new Error(`${what} exited with ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-2).join(' | ').slice(0, 300)}` : ''}`);
  };
  try {
    await env.drain(h.name);
    await emit('change.host.drained', {});
  } catch (err) {
    return { host: h.name, state: 'failed', message: `could not drain it from the router: ${describe(err)}` };
  }
  let outcome: HostOutcome;
  try {
    await run('apply', spec.apply, spec.timeout);
    await emit('change.host.applied', {});
    const verified = await verify(env, h, spec, clock);
    if (!verified.ok) {
      await emit('change.host.verify_failed', { message: verified.message });
      try {
        await run('undo', spec.undo, spec.timeout);
        await emit('change.host.undone', { message: verified.message });
        outcome = { host: h.name, state: 'undone', message: `verify failed (${verified.message}); undone` };
      } catch (err) {
        await emit('change.host.undo_failed', { message: describe(err) });
        outcome = { host: h.name, state: 'failed', message: `verify failed (${verified.message}) and undo failed: ${describe(err)}` };
      }
    } else {
      await emit('change.host.verified', { message: verified.message });
      outcome = { host: h.name, state: 'changed', message: verified.message };
    }
  } catch (err) {
    // apply failed or the host went away: undo what may have been half done
    const message = describe(err);
    await emit('change.host.failed', { message });
    await run('undo', spec.undo, spec.timeout).catch(() => {});
    outcome = { host: h.name, state: 'failed', message };
  }
  // back in the router only when its instances answer (a host that does not stays out)
  const health = await env.healthy(h.name).catch((err: unknown) => ({ ok: false, problems: [describe(err)] }));
  if (health.ok) {
    await env.restore(h.name).catch(() => {});
    await emit('change.host.restored', {});
  } else {
    await emit('change.host.unhealthy', { problems: health.problems });
    if (outcome.state === 'changed') outcome = { host: h.name, state: 'failed', message: `changed, but its instances are unhealthy: ${health.problems.join('; ')}` };
  }
  return outcome;
}

async function verify(env: ChangeEnvironment, h: FleetHost, spec: ChangeSpec, clock: Clock): Promise<{ ok: boolean; message: string }> {
  const v = spec.verify;
  if ('command' in v) {
    const r = await env.fleet.exec(h.name, v.command, { timeoutMs: v.timeout }).catch((err: unknown) => ({ code: -1, stdout: '', stderr: describe(err) }));
    return r.code === 0 ? { ok: true, message: `verify command exited 0` } : { ok: false, message: `verify command exited ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().slice(0, 200)}` : ''}` };
  }
  const url = v.http.replaceAll('{address}', h.address.includes(':') ? `[${h.address}]` : h.address).replaceAll('{host}', h.name);
  try {
    const res = await httpRequest(url, { timeoutMs: v.timeout, clock, maxBodyBytes: 64 * 1024 });
    if (res.status !== v.status) return { ok: false, message: `GET ${url} answered ${res.status}, expected ${v.status}` };
    if (v.body_contains !== undefined && !res.body.includes(v.body_contains)) return { ok: false, message: `GET ${url} does not contain ${JSON.stringify(v.body_contains)}: ${res.body.slice(0, 120)}` };
    return { ok: true, message: `GET ${url} answered ${res.status}` };
  } catch (err) {
    return { ok: false, message: `GET ${url} failed: ${describe(err)}` };
  }
}
