// What a standby controller's API answers: reads from its own projection (kept current by the
// store's subscription to the leader's appends), and for everything else the leader's address:
// API writes get 503 NOT_LEADER with data.leader (the CLI follows it), a browser asking for the
// dashboard is redirected to the leader's (the #token fragment survives the redirect).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiveState } from '../state/projection.ts';
import type { LeaseHolder } from './lease.ts';
import type { Directory } from '../auth/directory.ts';
import type { Policy } from '../auth/permissions.ts';
import type { FailureLimiter } from '../auth/rate-limit.ts';
import { GreenlightError } from '../errors/errors.ts';
import { authenticate, sendError, sendJson } from '../api/http.ts';

/** GET paths a standby answers itself: they read only the event log and the projection. */
const READS = [/^\/v1\/health$/, /^\/v1\/releases$/, /^\/v1\/deployments(\/[^/]+)?$/, /^\/v1\/events(\/stream)?$/, /^\/v1\/incidents(\/.*)?$/];

/** What a standby's API needs of its controller (which satisfies it; importing app/controller.ts back made a circle). */
export interface StandbyContext {
  leadership: { isLeader(): boolean } | undefined;
  /** the leader as the store says */
  leader(): Promise<LeaseHolder | undefined>;
  url: string;
  loaded: { file: string };
  state: Pick<LiveState, 'view'>;
  /** users and tokens, a projection of the shared log: a standby authenticates users as the leader does */
  directory: Pick<Directory, 'authenticate' | 'refusal'>;
  policy: Pick<Policy, 'require'>;
  loginLimiter: FailureLimiter;
  onShutdown?: (stopAll: boolean) => void;
}

export function standbyHandler(c: StandbyContext, full: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && READS.some((r) => r.test(path))) return full(req, res);
    void (async () => {
      // elected (or the only controller) but still adopting routers and instances
      const starting = !c.leadership || c.leadership.isLeader();
      const lease = starting ? undefined : await c.leader().catch(() => undefined);
      const leader = lease?.live && lease.address !== c.url ? lease.address : undefined;
      // users and tokens are events of the shared log: the standby's directory (a projection kept
      // current by the store's notifications) knows them as well as the leader's
      const who = () => authenticate(req, { authenticate: (t) => c.directory.authenticate(t), refusal: (t) => c.directory.refusal(t), limiter: c.loginLimiter });
      if (req.method === 'GET' && path === '/v1/status') {
        c.policy.require(who(), [{ permission: 'read' }]);
        // the standby's own view, plus who leads; the CLI shows it when the leader is down
        return sendJson(res, 200, {
          controller: { url: c.url, pid: process.pid, config: c.loaded.file, role: starting ? 'starting' : 'standby', leader: leader ?? null, leaseToken: lease?.token ?? null },
          environments: [],
          deployments: [...c.state.view.deployments.values()].slice(-10).reverse(),
          monitors: [],
          alerts: [],
          pages: [],
        });
      }
      if (req.method === 'POST' && path === '/v1/shutdown') {
        // `greenlight down` stops a standby too (nothing to hand over)
        c.policy.require(who(), [{ permission: 'controller.shutdown' }]);
        if (!c.onShutdown) throw new GreenlightError('USAGE', 'this controller was not started by greenlight up and cannot be shut down over the API');
        setImmediate(() => c.onShutdown!(false));
        return sendJson(res, 200, { stopping: true, stopAll: false, role: 'standby' });
      }
      if (req.method === 'GET' && leader && !path.startsWith('/v1/')) {
        res.writeHead(307, { location: leader + (req.url ?? '/') });
        return res.end();
      }
      sendError(
        res,
        new GreenlightError('NOT_LEADER', starting ? 'this controller is still starting (adopting routers and instances)' : leader ? `this controller is a standby; the leader is ${leader}` : 'this controller is a standby and no controller leads right now', {
          retryable: true,
          hint: leader ? `send it to ${leader} (the CLI does this by itself)` : 'a standby takes over within the lease time; try again in a few seconds',
          data: { leader: leader ?? null },
        }),
      );
    })().catch((err) => sendError(res, err));
  };
}
