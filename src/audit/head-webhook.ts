// Sends the chain's head to a webhook on a schedule. Someone who can rewrite the event log file
// cannot also rewrite the copies of its head kept by the receiver: `greenlight audit verify
// --anchor` with any of them shows whether the log still contains that history.
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { EventLog } from '../events/log.ts';
import { describe } from '../errors/errors.ts';
import { resolveSecret } from '../alerting/notifiers/spec.ts';
import type { HeadWebhookConfig } from './schema.ts';

export interface HeadWebhook {
  /** sends the current head now (also what each scheduled tick does) */
  sendNow(): Promise<{ ok: boolean; seq?: number; error?: string }>;
  stop(): void;
}

export function startHeadWebhook(cfg: HeadWebhookConfig, deps: { events: EventLog; clock: Clock; controller: string; log: (line: string) => void; env?: Record<string, string | undefined> }): HeadWebhook {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const origin = new URL(cfg.url).origin; // the path may hold a secret: logs show the origin only
  const sendNow = async () => {
    const last = (await deps.events.query({ descending: true, limit: 1 }))[0];
    if (!last?.hash) return { ok: false, error: 'the log has no chained event yet' };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    try {
      for (const [k, v] of Object.entries(cfg.headers)) headers[k] = resolveSecret(v, deps.env ? { clock: deps.clock, env: deps.env } : { clock: deps.clock }, `audit.head_webhook.headers.${k}`);
      const res = await fetch(cfg.url, { method: 'POST', headers, body: JSON.stringify({ seq: last.seq, hash: last.hash, at: deps.clock.now(), controller: deps.controller }), signal: AbortSignal.timeout(cfg.timeout) });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`answered HTTP ${res.status}`);
      return { ok: true, seq: last.seq };
    } catch (err) {
      const error = `audit head webhook ${origin}: ${describe(err)}`;
      deps.log(error);
      return { ok: false, error };
    }
  };
  const tick = () => {
    if (stopped) return;
    void sendNow().finally(() => {
      if (!stopped) timer = deps.clock.setTimeout(tick, cfg.every);
    });
  };
  tick();
  return {
    sendNow,
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
