// The CLI's view of the controller: its address and token come from the configuration's state
// directory, and every failure to reach it is CONTROLLER_UNREACHABLE (exit code 3).
import { GreenlightError, isErrorCode } from '../errors/errors.ts';
import type { StoredEvent } from '../events/log.ts';
import { readToken } from '../app/token.ts';
import { urlOf } from '../app/free-port.ts';
import type { LoadedConfig } from '../config/load.ts';
import { resolveUrl } from '../store/registry.ts';
import { readLease } from '../leadership/lease.ts';
import pg from 'pg';

/** The live leader's API address from the lease row, or undefined. */
async function leaderAddress(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    const l = await readLease(c);
    return l?.live ? l.address : undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}
import { storedToken } from './credentials.ts';

export class ApiClient {
  base: string;
  private readonly token: string;
  /** with several controllers: where the store says the leader is (its lease row) */
  private readonly locate: (() => Promise<string | undefined>) | undefined;

  // No actor is sent: the controller records whoever the token belongs to.
  constructor(base: string, token: string, locate?: () => Promise<string | undefined>) {
    this.base = base;
    this.token = token;
    this.locate = locate;
  }

  /** GREENLIGHT_TOKEN, else the token `greenlight login` stored for this controller, else the bootstrap token */
  static fromConfig(loaded: LoadedConfig): ApiClient {
    const base = process.env.GREENLIGHT_URL ?? urlOf(loaded.config.controller.listen);
    const token = process.env.GREENLIGHT_TOKEN ?? storedToken(base) ?? readToken(loaded.stateDir);
    const store = loaded.config.store;
    const locate = store.kind === 'postgres' ? () => leaderAddress(resolveUrl(store.url)) : undefined;
    return new ApiClient(base, token, locate);
  }

  /**
   * Follows the leader: a standby's NOT_LEADER names it, and when the controller configured is
   * unreachable (the leader died) the store's lease says who took over. Retried once, there.
   */
  async request<T>(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    try {
      return await this.requestOnce<T>(method, path, body, timeoutMs);
    } catch (err) {
      if (!(err instanceof GreenlightError)) throw err;
      let leader: string | undefined;
      if (err.code === 'NOT_LEADER' && typeof err.data?.leader === 'string') leader = err.data.leader;
      else if (err.code === 'CONTROLLER_UNREACHABLE' && this.locate) leader = await this.locate().catch(() => undefined);
      if (!leader || leader === this.base) throw err;
      this.base = leader;
      return this.requestOnce<T>(method, path, body, timeoutMs);
    }
  }

  private async requestOnce<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw unreachable(this.base, err);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new GreenlightError('INTERNAL', `the controller answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; hint?: string; data?: Record<string, unknown> } }).error ?? {};
      throw new GreenlightError(isErrorCode(e.code) ? e.code : 'INTERNAL', e.message ?? `HTTP ${res.status}`, { ...(e.hint ? { hint: e.hint } : {}), ...(e.data ? { data: e.data } : {}) });
    }
    return json as T;
  }

  /** Server-sent events from /v1/events/stream; calls onEvent until it returns true or the signal aborts. */
  async follow(query: string, onEvent: (e: StoredEvent) => boolean | void, signal?: AbortSignal): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/v1/events/stream?${query}`, { headers: { authorization: `Bearer ${this.token}` }, ...(signal ? { signal } : {}) });
    } catch (err) {
      throw unreachable(this.base, err);
    }
    if (!res.ok || !res.body) throw new GreenlightError('INTERNAL', `event stream answered ${res.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let idx: number;
        while ((idx = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, idx);
          buf = buf.slice(idx + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (!data) continue;
          if (onEvent(JSON.parse(data) as StoredEvent) === true) return;
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw unreachable(this.base, err);
    }
    throw new GreenlightError('CONTROLLER_UNREACHABLE', 'the controller closed the event stream (did it stop?)', { hint: 'restart it with greenlight up; the deployment state is in the event log' });
  }
}

function unreachable(base: string, err: unknown): GreenlightError {
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
  return new GreenlightError('CONTROLLER_UNREACHABLE', `cannot reach the controller at ${base} (${cause})`, {
    retryable: true,
    hint: 'start it with `greenlight up` (in another terminal, or `greenlight up --detach`)',
  });
}
