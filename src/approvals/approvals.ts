// Approvals, as GitHub environments' required reviewers: an environment may need N approvals from
// people other than the requester before anything of a deployment starts there; a break-glass may
// need a second person's (access.environments.<env>.break_glass_review: approval). Requests,
// approvals, refusals, rejections and expiries are all events; the deployment waits on the Clock.
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { EnvironmentAccess } from '../auth/schema.ts';

export interface ApprovalRequest {
  deploymentId: string;
  service: string;
  version: string;
  environment: string;
  /** the actor who asked for the deployment ("user:alice") */
  requester: string;
  /** the gate of this environment was overridden */
  breakGlass: boolean;
  signal: AbortSignal;
}

export type ApprovalOutcome = { ok: true } | { ok: false; reason: string };

/** What the deployment pipeline waits on; owned here, used by rollout/deployer.ts. */
export interface ApprovalGate {
  wait(req: ApprovalRequest): Promise<ApprovalOutcome>;
}

export interface PendingApproval {
  deploymentId: string;
  service: string;
  version: string;
  environment: string;
  requester: string;
  breakGlass: boolean;
  required: number;
  approvedBy: string[];
  requestedAt: number;
  expiresAt: number;
}

interface Waiting extends PendingApproval {
  finish(outcome: ApprovalOutcome): void;
}

export class Approvals implements ApprovalGate {
  private readonly pending = new Map<string, Waiting>();
  private readonly events: EventLog;
  private readonly clock: Clock;
  private readonly policy: (environment: string) => EnvironmentAccess | undefined;

  constructor(deps: { events: EventLog; clock: Clock; policy: (environment: string) => EnvironmentAccess | undefined }) {
    this.events = deps.events;
    this.clock = deps.clock;
    this.policy = deps.policy;
  }

  /** how many approvals an environment needs for this deployment (0: none) */
  required(environment: string, breakGlass: boolean): number {
    const p = this.policy(environment);
    const n = p?.approvals?.required ?? 0;
    return breakGlass && p?.break_glass_review === 'approval' ? Math.max(n, 1) : n;
  }

  wait(req: ApprovalRequest): Promise<ApprovalOutcome> {
    const required = this.required(req.environment, req.breakGlass);
    if (required === 0) return Promise.resolve({ ok: true });
    const timeoutMs = this.policy(req.environment)?.approvals?.timeout ?? 3_600_000;
    const subject = `deployment/${req.deploymentId}`;
    const base = { deploymentId: req.deploymentId, service: req.service, version: req.version, environment: req.environment };
    return new Promise<ApprovalOutcome>((resolve) => {
      let timer: TimerHandle | undefined;
      const now = this.clock.now();
      const w: Waiting = {
        ...base,
        requester: req.requester,
        breakGlass: req.breakGlass,
        required,
        approvedBy: [],
        requestedAt: now,
        expiresAt: now + timeoutMs,
        finish: (outcome) => {
          if (this.pending.get(req.deploymentId) !== w) return;
          this.pending.delete(req.deploymentId);
          timer?.cancel();
          req.signal.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      };
      const onAbort = () => w.finish({ ok: false, reason: 'aborted while waiting for approval' });
      this.pending.set(req.deploymentId, w);
      req.signal.addEventListener('abort', onAbort, { once: true });
      void this.events
        .append({ type: 'approval.requested', actor: 'controller', subject, data: { ...base, requester: req.requester, required, breakGlass: req.breakGlass, expiresAt: w.expiresAt } })
        .catch(() => undefined);
      timer = this.clock.setTimeout(() => {
        const reason = `no approval in ${req.environment} within ${Math.round(timeoutMs / 60_000)} min (${w.approvedBy.length} of ${required}): the request expired`;
        void this.events
          .append({ type: 'approval.expired', actor: 'controller', subject, data: { ...base, required, approvedBy: w.approvedBy } })
          .catch(() => undefined)
          .finally(() => w.finish({ ok: false, reason }));
      }, timeoutMs);
    });
  }

  get(deploymentId: string): PendingApproval | undefined {
    const w = this.pending.get(deploymentId);
    if (!w) return undefined;
    const { finish: _f, ...view } = w;
    return { ...view, approvedBy: [...w.approvedBy] };
  }

  list(): PendingApproval[] {
    return [...this.pending.keys()].map((id) => this.get(id)!);
  }

  private need(deploymentId: string): Waiting {
    const w = this.pending.get(deploymentId);
    if (!w) throw new GreenlightError('CONFLICT', `deployment ${deploymentId} is not waiting for an approval`, { hint: 'greenlight status lists the deployments waiting for one' });
    return w;
  }

  /** One approval by `actor`; the requester's own is refused (and recorded as refused). */
  async approve(deploymentId: string, actor: string, comment?: string, how: { via?: 'link' } = {}): Promise<PendingApproval & { satisfied: boolean }> {
    const w = this.need(deploymentId);
    const subject = `deployment/${deploymentId}`;
    const base = { deploymentId, service: w.service, version: w.version, environment: w.environment };
    if (actor === w.requester) {
      await this.events.append({ type: 'approval.refused', actor, subject, data: { ...base, reason: 'the requester cannot approve their own deployment' } });
      throw new GreenlightError('FORBIDDEN', `${actor} requested deployment ${deploymentId} and cannot approve it: approvals must come from someone else`, {
        hint: `ask another person with the approve permission in ${w.environment} (greenlight approve ${deploymentId})`,
        data: { missing: 'approve (someone other than the requester)', environment: w.environment },
      });
    }
    if (w.approvedBy.includes(actor)) throw new GreenlightError('CONFLICT', `${actor} already approved deployment ${deploymentId}`, { hint: `${w.approvedBy.length} of ${w.required} approvals so far` });
    w.approvedBy.push(actor);
    const satisfied = w.approvedBy.length >= w.required;
    await this.events.append({ type: 'approval.granted', actor, subject, data: { ...base, count: w.approvedBy.length, required: w.required, satisfied, ...(comment ? { comment } : {}), ...(how.via ? { via: how.via } : {}) } });
    const view = { ...this.get(deploymentId)!, satisfied };
    if (satisfied) w.finish({ ok: true });
    return view;
  }

  /** A rejection ends the wait: the deployment is blocked in that environment, nothing was started there. */
  async reject(deploymentId: string, actor: string, reason: string): Promise<PendingApproval> {
    const w = this.need(deploymentId);
    const view = this.get(deploymentId)!;
    await this.events.append({ type: 'approval.rejected', actor, subject: `deployment/${deploymentId}`, data: { deploymentId, service: w.service, version: w.version, environment: w.environment, reason } });
    w.finish({ ok: false, reason: `rejected by ${actor}: ${reason}` });
    return view;
  }
}
