// Readiness is "GET <health path> answers 2xx". One probe never outlives its timeout, so a hung
// instance cannot stall the loop that waits for it.
import { request, type Agent } from 'node:http';
import type { Clock } from '../clock/clock.ts';

export interface ProbeRequest {
  host: string;
  port: number;
  path: string;
  /** false: a connection of its own, closed after the answer */
  agent: Agent | false;
  headers: Record<string, string>;
}

/**
 * One GET: `done(status)` on an answer within timeoutMs, `done(null)` on an error or the timeout.
 * On the timeout the request's socket goes too, so a next probe does not queue behind this one.
 * Shared by instance readiness (below) and the router's active health checks (router/health.ts).
 */
export function probeStatus(r: ProbeRequest, timeoutMs: number, clock: Clock, done: (status: number | null) => void): void {
  let settled = false;
  const finish = (status: number | null) => {
    if (settled) return;
    settled = true;
    timer.cancel();
    done(status);
  };
  const req = request({ host: r.host, port: r.port, path: r.path, method: 'GET', agent: r.agent, headers: r.headers }, (res) => {
    res.resume();
    finish(res.statusCode ?? 0);
  });
  const timer = clock.setTimeout(() => {
    req.destroy();
    finish(null);
  }, timeoutMs);
  req.on('error', () => finish(null));
  req.end();
}

/** host: where the instance listens (a remote target's host address; loopback for local ones) */
export async function probeHealth(port: number, path: string, timeoutMs: number, clock: Clock, host = '127.0.0.1'): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    probeStatus({ host, port, path, agent: false, headers: { connection: 'close' } }, timeoutMs, clock, (status) => resolve(status !== null && status >= 200 && status < 300));
  });
}
