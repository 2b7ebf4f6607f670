// Users, service accounts and their tokens, as a projection of the event log (user.created,
// user.roles.changed, token.issued, token.revoked): who created whom and when is part of the same
// tamper-evident record as everything else. Authentication looks a token up here.
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import type { EventLog, StoredEvent } from '../events/log.ts';
import { tokensEqual } from '../app/token.ts';
import { digestMatches, newToken, parseToken } from './tokens.ts';
import type { Identity } from './permissions.ts';

export interface UserRecord {
  name: string;
  kind: 'user' | 'service';
  roles: string[];
  createdAt: number;
  createdBy: string;
}

export interface TokenRecord {
  id: string;
  user: string;
  sha256: string;
  label: string;
  issuedAt: number;
  issuedBy: string;
  expiresAt: number | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

const NAME = /^[a-z][a-z0-9._-]{0,63}$/;
export const BOOTSTRAP: Identity = { name: 'bootstrap-admin', kind: 'service', roles: ['admin'], bootstrap: true };

export class Directory {
  readonly users = new Map<string, UserRecord>();
  readonly tokens = new Map<string, TokenRecord>();
  private readonly events: EventLog;
  private readonly clock: Clock;
  private readonly bootstrapToken: () => string | undefined;
  private off: (() => void) | undefined;

  constructor(deps: { events: EventLog; clock: Clock; bootstrapToken?: () => string | undefined }) {
    this.events = deps.events;
    this.clock = deps.clock;
    this.bootstrapToken = deps.bootstrapToken ?? (() => undefined);
  }

  async start(): Promise<this> {
    for (const e of await this.events.query({ types: ['user.*', 'token.*'] })) this.apply(e);
    this.off = this.events.subscribe((e) => {
      if (e.type.startsWith('user.') || e.type.startsWith('token.')) this.apply(e);
    });
    return this;
  }

  stop(): void {
    this.off?.();
  }

  private apply(e: StoredEvent): void {
    const d = e.data as Record<string, unknown>;
    switch (e.type) {
      case 'user.created':
        this.users.set(String(d.name), { name: String(d.name), kind: d.kind === 'service' ? 'service' : 'user', roles: (d.roles as string[]) ?? [], createdAt: e.time, createdBy: e.actor });
        break;
      case 'user.roles.changed': {
        const u = this.users.get(String(d.name));
        if (u) u.roles = (d.roles as string[]) ?? [];
        break;
      }
      case 'token.issued':
        this.tokens.set(String(d.tokenId), { id: String(d.tokenId), user: String(d.user), sha256: String(d.sha256), label: String(d.label ?? ''), issuedAt: e.time, issuedBy: e.actor, expiresAt: typeof d.expiresAt === 'number' ? d.expiresAt : null, revokedAt: null, revokedBy: null });
        break;
      case 'token.revoked': {
        const t = this.tokens.get(String(d.tokenId));
        if (t) (t.revokedAt = e.time), (t.revokedBy = e.actor);
        break;
      }
    }
  }

  /** The identity a bearer token stands for, or undefined (wrong, expired, revoked). */
  authenticate(token: string): Identity | undefined {
    const boot = this.bootstrapToken();
    if (boot && tokensEqual(token, boot)) return BOOTSTRAP;
    const p = parseToken(token);
    if (!p) return undefined;
    const t = this.tokens.get(p.id);
    if (!t || !digestMatches(p.secret, t.sha256)) return undefined;
    if (t.revokedAt !== null) return undefined;
    if (t.expiresAt !== null && this.clock.now() >= t.expiresAt) return undefined;
    const u = this.users.get(t.user);
    if (!u) return undefined;
    return { name: u.name, kind: u.kind, roles: [...u.roles], tokenId: t.id };
  }

  /** Why a token that looks like ours was refused, for the 401's message (never says which part was wrong for a bad secret). */
  refusal(token: string): string {
    const p = parseToken(token);
    const t = p ? this.tokens.get(p.id) : undefined;
    if (t && p && digestMatches(p.secret, t.sha256)) {
      if (t.revokedAt !== null) return `the token ${t.id} was revoked by ${t.revokedBy} at ${new Date(t.revokedAt).toISOString()}`;
      if (t.expiresAt !== null && this.clock.now() >= t.expiresAt) return `the token ${t.id} expired at ${new Date(t.expiresAt).toISOString()}`;
    }
    return 'wrong API token';
  }

  async createUser(req: { name: string; kind: 'user' | 'service'; roles: string[] }, actor: string): Promise<UserRecord> {
    if (!NAME.test(req.name)) throw new GreenlightError('USAGE', `"${req.name.slice(0, 64)}" is not a valid user name`, { hint: 'lowercase letters, digits, ".", "-" and "_", starting with a letter' });
    if (this.users.has(req.name)) throw new GreenlightError('CONFLICT', `user ${req.name} already exists`, { hint: `give it another token with greenlight user token ${req.name}` });
    await this.events.append({ type: 'user.created', actor, subject: `user/${req.name}`, data: { name: req.name, kind: req.kind, roles: req.roles } });
    return this.users.get(req.name)!;
  }

  async setRoles(name: string, roles: string[], actor: string): Promise<UserRecord> {
    const u = this.need(name);
    await this.events.append({ type: 'user.roles.changed', actor, subject: `user/${name}`, data: { name, roles, previous: u.roles } });
    return this.users.get(name)!;
  }

  /** A new token for a user: the secret is in the return value only. */
  async issueToken(user: string, opts: { expiresInMs?: number; label?: string }, actor: string): Promise<{ token: string; record: TokenRecord }> {
    this.need(user);
    const t = newToken();
    const expiresAt = opts.expiresInMs ? this.clock.now() + opts.expiresInMs : null;
    await this.events.append({ type: 'token.issued', actor, subject: `user/${user}`, data: { tokenId: t.id, user, sha256: t.sha256, label: opts.label ?? '', expiresAt } });
    return { token: t.token, record: this.tokens.get(t.id)! };
  }

  async revokeToken(id: string, actor: string): Promise<TokenRecord> {
    const t = this.tokens.get(id);
    if (!t) throw new GreenlightError('NOT_FOUND', `no token ${id}`, { hint: 'greenlight user list shows the tokens of each user' });
    if (t.revokedAt === null) await this.events.append({ type: 'token.revoked', actor, subject: `user/${t.user}`, data: { tokenId: id, user: t.user } });
    return this.tokens.get(id)!;
  }

  need(name: string): UserRecord {
    const u = this.users.get(name);
    if (!u) throw new GreenlightError('NOT_FOUND', `no user ${name}`, { hint: 'greenlight user list' });
    return u;
  }

  /** what the API shows of a user: never a digest */
  view(u: UserRecord): Record<string, unknown> {
    const now = this.clock.now();
    const tokens = [...this.tokens.values()]
      .filter((t) => t.user === u.name)
      .map((t) => ({ id: t.id, label: t.label, issuedAt: t.issuedAt, issuedBy: t.issuedBy, expiresAt: t.expiresAt, revokedAt: t.revokedAt, state: t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && now >= t.expiresAt ? 'expired' : 'active' }));
    return { ...u, tokens };
  }
}
