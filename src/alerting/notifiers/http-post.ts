// One HTTP POST attempt for the HTTP-based kinds, turned into a DeliveryResult with the retry
// classification they share: 2xx delivered; 408, 425, 429 and 5xx retryable; other 4xx final
// (the request itself is wrong, repeating it cannot help); network errors retryable.
import type { Clock } from '../../clock/clock.ts';
import { describeError, type DeliveryResult } from './notifier.ts';

export interface PostOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  clock: Clock;
  signal?: AbortSignal | undefined;
  /** what to call the receiver in errors, e.g. 'PagerDuty' */
  receiver: string;
}

const MAX_ERROR_BODY = 300;

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export async function postJson(opts: PostOptions): Promise<DeliveryResult> {
  const started = opts.clock.now();
  try {
    const res = await fetch(opts.url, {
      method: 'POST',
      body: opts.body,
      headers: { 'content-type': 'application/json', 'user-agent': 'greenlight-notifier', ...opts.headers },
      redirect: 'manual',
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const text = await res.text();
    const durationMs = opts.clock.now() - started;
    if (res.status >= 200 && res.status < 300) return { ok: true, attempts: 1, status: res.status, durationMs };
    const retryable = isRetryableStatus(res.status);
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), opts.clock.now());
    const snippet = text.length > MAX_ERROR_BODY ? `${text.slice(0, MAX_ERROR_BODY)}...` : text;
    return {
      ok: false,
      attempts: 1,
      status: res.status,
      retryable,
      durationMs,
      error: `${opts.receiver} answered HTTP ${res.status}${snippet ? `: ${snippet.trim()}` : ''}${retryable ? '' : ' (not retried: the request was refused as it is; check the URL, credentials and payload)'}`,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  } catch (err) {
    const aborted = opts.signal?.aborted === true;
    return {
      ok: false,
      attempts: 1,
      retryable: true,
      durationMs: opts.clock.now() - started,
      error: aborted
        ? `request to ${opts.receiver} aborted: ${describeError(opts.signal?.reason)}`
        : `could not reach ${opts.receiver} at ${redact(opts.url)}: ${describeError(err)}`,
    };
  }
}

/** Webhook URLs often carry their secret in the path (Slack); errors show only the origin. */
export function redact(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
