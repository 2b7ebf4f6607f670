// Active health checks of the router's upstreams. A refused connection says at once that an
// upstream is down (upstreams.ts marks it down on the request path), but a host that loses its link
// silently (a cable pulled at the host, a dead hypervisor: packets vanish, no RST, no ICMP) or hangs
// (the kernel still accepts connections, nothing answers) says nothing: without these checks its
// requests wait for the connect timeout (10 s) or the idle timeout (60 s), and every client whose
// request was sent there fails. So every upstream of the table is asked `GET <path>` every
// `interval`; an answer within `timeout`, of any status, is alive (whether the instance is *ready*
// is the controller's business, which takes it out of the table; the router only asks "does it
// answer at all").
//
// Why 250 ms / 250 ms / fall 2 / rise 2 by default: out of rotation within a second of the loss.
// Probes start on a fixed schedule, one per interval (the timeout is at most the interval, so
// they never overlap); the k-th probe after the loss starts at most k x interval later and fails
// at most `timeout` after that: out after at most fall x interval + timeout = 750 ms (measured by
// `npm run bench:fleet`: median 530-600 ms, worst 700 ms). One probe lost or slow is not enough: a host is taken out after two in a row, i.e.
// when it did not answer anything for ~half a second, and a probe that times out still counts as
// alive when a proxied request of that upstream was answered meanwhile, so a slow-but-healthy
// host under load (answers taking seconds, health path queued behind them) stays in as long as it
// answers. `rise` 2 keeps a host that flickers from coming back on a single answer.
import type http from 'node:http';
import type { Clock } from '../clock/clock.ts';
import { probeStatus } from '../targets/health.ts';

export interface HealthCheckOptions {
  /** requested with GET; any HTTP answer within timeoutMs is alive */
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** consecutive failed probes before the upstream leaves rotation */
  fall: number;
  /** consecutive answered probes before an upstream out of rotation comes back */
  rise: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = { path: '/healthz', intervalMs: 250, timeoutMs: 250, fall: 2, rise: 2 };

/** The problems of a health check configuration, each naming its field; empty when it is usable. */
export function healthCheckProblems(h: HealthCheckOptions): string[] {
  const out: string[] = [];
  if (!h.path.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(h.path)) out.push(`path "${h.path}" must start with "/" and contain no spaces or control characters`);
  if (!(Number.isInteger(h.intervalMs) && h.intervalMs >= 50 && h.intervalMs <= 60_000)) out.push(`interval ${h.intervalMs} ms must be a whole number of milliseconds from 50 ms to 60 s (more often loads the instances, less often finds a lost host later)`);
  if (!(Number.isInteger(h.timeoutMs) && h.timeoutMs >= 10 && h.timeoutMs <= h.intervalMs)) out.push(`timeout ${h.timeoutMs} ms must be from 10 ms to the interval (${h.intervalMs} ms), so that probes never overlap`);
  if (!(Number.isInteger(h.fall) && h.fall >= 1 && h.fall <= 10)) out.push(`fall ${h.fall} must be an integer from 1 to 10`);
  if (!(Number.isInteger(h.rise) && h.rise >= 1 && h.rise <= 10)) out.push(`rise ${h.rise} must be an integer from 1 to 10`);
  return out;
}

/** Worst-case time from a silent loss to out of rotation with these settings (documented, printed by the bench). */
export function worstDetectionMs(h: HealthCheckOptions): number {
  return h.fall * h.intervalMs + h.timeoutMs;
}

/**
 * One probe: GET path on a kept-alive connection of `agent` (one socket per upstream, so probes
 * cost no new connection while the upstream answers). `done(true)` on any answer within timeoutMs.
 */
export function probeHttp(agent: http.Agent, host: string, port: number, h: HealthCheckOptions, clock: Clock, done: (ok: boolean) => void): void {
  probeStatus({ host, port, path: h.path, agent, headers: { 'user-agent': 'greenlight-router-health', accept: '*/*' } }, h.timeoutMs, clock, (status) => done(status !== null));
}

/** The --health-check argument of src/router/main.ts (JSON, so the controller and the router agree field by field). */
export function formatHealthCheck(h: HealthCheckOptions): string {
  return JSON.stringify({ path: h.path, intervalMs: h.intervalMs, timeoutMs: h.timeoutMs, fall: h.fall, rise: h.rise });
}

/** Parses --health-check: the options, or what is wrong with them. */
export function parseHealthCheck(text: string): HealthCheckOptions | { problem: string } {
  let v: Partial<HealthCheckOptions>;
  try {
    v = JSON.parse(text) as Partial<HealthCheckOptions>;
  } catch {
    return { problem: `--health-check is not JSON: ${text.slice(0, 80)}` };
  }
  const h = { ...DEFAULT_HEALTH_CHECK, ...v };
  const problems = healthCheckProblems(h);
  return problems.length ? { problem: `--health-check: ${problems.join('; ')}` } : h;
}
