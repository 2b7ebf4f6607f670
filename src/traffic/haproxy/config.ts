// `traffic: { kind: haproxy }`: Greenlight drives one backend of a team's own HAProxy through its
// runtime API. The backend is Greenlight's: every server in it is a slot that Greenlight points
// at an instance (set server addr/port/weight/state), and one map file holds the table (which
// slot serves which version, the weights, the revision) inside HAProxy itself, so a restarted
// controller reads back what HAProxy serves. Stickiness is HAProxy's own: its `cookie` directive
// or a consistent hash of a client id; `backendConfig()` writes either section.
import { z } from 'zod';
import { duration } from '../../config/duration.ts';
import { DEFAULT_HEALTH_CHECK, healthCheckProblems, type HealthCheckOptions } from '../../router/health.ts';

function validPort(digits: string): boolean {
  const n = Number(digits);
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

const HAPROXY_NAME = /^[A-Za-z0-9._:-]{1,64}$/;

export const haproxyTrafficSchema = z.strictObject({
  kind: z.literal('haproxy'),
  /** HAProxy's stats socket with `level admin`: a unix socket path, or host:port of a TCP one */
  socket: z
    .string()
    .regex(/^(\/[^\s;]+|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$/, { message: 'expected an absolute unix socket path or host:port', abort: true })
    // five digits also let 99999 through: a port the runtime API can never listen on
    .refine((s) => s.startsWith('/') || validPort(s.slice(s.lastIndexOf(':') + 1)), { message: 'the port of host:port must be 1..65535' }),
  /** the backend Greenlight manages; every server in it is one of Greenlight's slots */
  backend: z.string().regex(HAPROXY_NAME, { message: 'must be an HAProxy backend name (A-Z a-z 0-9 . _ : -)' }),
  /** the map file the backend's config reads (as written in haproxy.cfg): the table lives there */
  map: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, { message: 'expected the absolute path of the map file, as written in haproxy.cfg' }),
  /** where clients reach this backend through HAProxy (post-switch checks go there), e.g. http://10.0.0.5:80 */
  url: z.url({ protocol: /^https?$/ }),
  /** per runtime API command */
  timeout: duration.default(3000),
});
export type HaproxyTrafficConfig = z.output<typeof haproxyTrafficSchema>;

export type Stickiness =
  /** HAProxy's `cookie` directive: the first answer pins the client to a server (and so to its version) */
  | { kind: 'cookie'; name?: string }
  /** a consistent hash of the client's gl_cid cookie (HAProxy sets one when absent) over the weighted servers */
  | { kind: 'hash' };

export interface BackendConfigOptions {
  backend: string;
  map: string;
  /** server slots; a rollout needs (stable + canary instances) of them at once */
  slots: number;
  stickiness: Stickiness;
  /**
   * HAProxy's own health checks of the slots (`option httpchk`, `check inter/fall/rise`, `timeout check`),
   * the same settings and defaults as the built-in router's (router/health.ts says why); the path
   * should be the service's health path
   */
  healthCheck?: HealthCheckOptions;
}

export const CID_COOKIE = 'gl_cid';

/**
 * The backend section Greenlight needs (paste into haproxy.cfg; the map file must exist, empty).
 * `option redispatch` plus `retry-on conn-failure` move a request whose server refused the connection (it
 * was never sent, so this is safe for any method); a server in maintenance finishes what it has in flight.
 */
export function backendConfig(o: BackendConfigOptions): string {
  const h = o.healthCheck ?? DEFAULT_HEALTH_CHECK;
  const problems = healthCheckProblems(h);
  if (problems.length) throw new Error(`backend ${o.backend}: health check: ${problems.join('; ')}`);
  const lines = [`backend ${o.backend}`, '  mode http', '  option redispatch', '  retries 2', '  retry-on conn-failure'];
  // any answer within `timeout check` is alive, as for the built-in router: readiness is the
  // controller's business (it takes a slot out of the table); these checks find a slot that stops
  // answering (a silently lost or hung host), which HAProxy otherwise keeps sending requests to.
  // Not `on-marked-down shutdown-sessions`: it would end what waits on a dead slot sooner, but as
  // failures all the same (HAProxy cannot send a request again once it went out), and it cut
  // connections in the contract suite while weights changed.
  lines.push(`  option httpchk GET ${h.path}`, '  http-check expect status 100-599', `  timeout check ${h.timeoutMs}ms`);
  if (o.stickiness.kind === 'cookie') {
    lines.push('  balance roundrobin', `  cookie ${o.stickiness.name ?? 'GLSRV'} insert indirect nocache httponly dynamic`, '  dynamic-cookie-key greenlight');
  } else {
    lines.push(
      `  http-request set-var(txn.cid) req.cook(${CID_COOKIE})`,
      `  http-request set-var(txn.newcid) bool(1) if !{ req.cook(${CID_COOKIE}) -m found }`,
      '  http-request set-var(txn.cid) uuid if { var(txn.newcid) -m bool }',
      '  balance hash var(txn.cid)',
      '  hash-type consistent',
      `  http-response add-header set-cookie "${CID_COOKIE}=%[var(txn.cid)]; Path=/; HttpOnly; SameSite=Lax" if { var(txn.newcid) -m bool }`,
    );
  }
  lines.push(
    `  http-response set-header x-greenlight-version %[srv_name,map(${o.map})] if { srv_name -m found }`,
    // HAProxy's checks are not on the router's fixed schedule: two failures took up to ~0.93 s
    // (measured); `fastinter` (the interval once a check failed, the server going down) at half
    // the interval confirms sooner: worst 0.89 s over 20 rounds (bench:fleet)
    `  server-template gl 1-${o.slots} 127.0.0.1:9 disabled check inter ${h.intervalMs}ms fastinter ${Math.max(10, Math.round(h.intervalMs / 2))}ms fall ${h.fall} rise ${h.rise}`,
  );
  return lines.join('\n') + '\n';
}
