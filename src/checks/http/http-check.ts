// An HTTP check asks the new release (each instance before the switch, or the router after it)
// a question and compares the answer: status, body, a JSON field, and how long it took. A wrong
// answer is "fail" (the release answered, badly); no answer is "error" (nothing was verified).
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { duration, formatDuration } from '../../config/duration.ts';
import { describe } from '../../errors/errors.ts';
import { phaseSchema, worstVerdict, type Check, type CheckContext, type CheckResult, type CheckVerdict } from '../check.ts';
import { pickJsonPath, snippet } from '../json-path.ts';
import { httpRequest, HttpRequestError, type HttpExchange } from './request.ts';

const status = z.int().min(100).max(599);

export const httpCheckSchema = z.strictObject({
  kind: z.literal('http'),
  phase: phaseSchema.optional().describe('default post'),
  target: z.enum(['router', 'instances']).optional().describe('default: router for post checks, instances for pre checks; against instances every instance must pass'),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).optional().describe('default GET'),
  path: z.string().startsWith('/', { message: 'must start with "/"' }),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.string().optional(),
  expect: z
    .strictObject({
      status: z.union([status, z.array(status).min(1)]).optional().describe('default: any 2xx'),
      body_contains: z.string().optional(),
      body_matches: z.string().refine(isRegex, { message: 'not a valid regular expression' }).optional(),
      json: z.strictObject({ path: z.string().min(1), equals: z.unknown() }).optional().describe('a dotted path into the JSON body and the value it must equal'),
    })
    .optional(),
  timeout: duration.optional().describe('per request, default 2s'),
  max_latency: duration.optional().describe('an answer slower than this fails the check'),
  retries: z.int().min(0).max(20).optional().describe('extra attempts after a failed one, default 0'),
  interval: duration.optional().describe('pause between attempts, default 1s'),
});

export type HttpCheckSpec = z.infer<typeof httpCheckSchema>;

interface Attempt {
  verdict: CheckVerdict;
  message: string;
  status?: number;
  latencyMs?: number;
  body?: string;
}

interface TargetOutcome extends Attempt {
  url: string;
  attempts: number;
}

export function createHttpCheck(name: string, spec: HttpCheckSpec): Check {
  const phase = spec.phase ?? 'post';
  const target = spec.target ?? (phase === 'post' ? 'router' : 'instances');
  const method = spec.method ?? 'GET';
  const timeoutMs = spec.timeout ?? 2000;
  const retries = spec.retries ?? 0;
  const intervalMs = spec.interval ?? 1000;
  const expected = spec.expect?.status === undefined ? undefined : Array.isArray(spec.expect.status) ? spec.expect.status : [spec.expect.status];
  const expectedText = expected ? expected.join(' or ') : '2xx';
  const bodyPattern = spec.expect?.body_matches === undefined ? undefined : new RegExp(spec.expect.body_matches);

  const judge = (res: HttpExchange): Attempt => {
    const at = { status: res.status, latencyMs: res.latencyMs, body: snippet(res.body, 500) };
    const bad = (message: string): Attempt => ({ ...at, verdict: 'fail', message });
    const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status <= 299;
    if (!ok) return bad(`answered ${res.status}, expected ${expectedText}${res.body.trim() ? ` (body: ${snippet(res.body)})` : ''}`);
    const e = spec.expect;
    if (e?.body_contains !== undefined && !res.body.includes(e.body_contains)) {
      return bad(`body does not contain ${JSON.stringify(e.body_contains)} (body: ${snippet(res.body)})`);
    }
    if (bodyPattern && !bodyPattern.test(res.body)) return bad(`body does not match /${bodyPattern.source}/ (body: ${snippet(res.body)})`);
    if (e?.json) {
      let doc: unknown;
      try {
        doc = JSON.parse(res.body);
      } catch {
        return bad(`body is not JSON, expected field "${e.json.path}" = ${JSON.stringify(e.json.equals)} (body: ${snippet(res.body)})`);
      }
      const found = pickJsonPath(doc, e.json.path);
      if (found === undefined) return bad(`field "${e.json.path}" is missing in ${snippet(res.body)}`);
      if (!isDeepStrictEqual(found, e.json.equals)) return bad(`field "${e.json.path}" is ${JSON.stringify(found)}, expected ${JSON.stringify(e.json.equals)}`);
    }
    if (spec.max_latency !== undefined && res.latencyMs > spec.max_latency) {
      return bad(`answered in ${formatDuration(res.latencyMs)}, over the ${formatDuration(spec.max_latency)} limit`);
    }
    return { ...at, verdict: 'pass', message: `answered ${res.status} in ${formatDuration(res.latencyMs)}` };
  };

  const once = async (url: string, ctx: CheckContext): Promise<Attempt> => {
    try {
      const res = await httpRequest(url, { method, headers: spec.headers, body: spec.body, timeoutMs, clock: ctx.clock, signal: ctx.signal });
      return judge(res);
    } catch (err) {
      if (err instanceof HttpRequestError) return { verdict: 'error', message: err.problem };
      return { verdict: 'error', message: describe(err) };
    }
  };

  const probe = async (url: string, ctx: CheckContext): Promise<TargetOutcome> => {
    let attempt = await once(url, ctx);
    let attempts = 1;
    while (attempt.verdict !== 'pass' && attempts <= retries && !ctx.signal?.aborted) {
      try {
        await ctx.clock.sleep(intervalMs, ctx.signal);
      } catch {
        break;
      }
      attempt = await once(url, ctx);
      attempts++;
    }
    return { ...attempt, url, attempts };
  };

  return {
    name,
    kind: 'http',
    phase,
    budgetMs: (retries + 1) * timeoutMs + retries * intervalMs + 500,
    async run(ctx: CheckContext): Promise<CheckResult> {
      const started = ctx.clock.now();
      const done = (verdict: CheckVerdict, message: string, details: Record<string, unknown>): CheckResult => ({
        name,
        kind: 'http',
        verdict,
        message,
        durationMs: ctx.clock.now() - started,
        details: { method, path: spec.path, target, ...details },
      });
      const bases = target === 'router' ? (ctx.routerUrl ? [ctx.routerUrl] : []) : ctx.instanceUrls;
      if (bases.length === 0) {
        const why = target === 'router' ? `environment ${ctx.environment} has no router URL` : `no instances of ${ctx.service}@${ctx.release.version} to check`;
        return done('error', `${method} ${spec.path}: ${why}`, {});
      }
      const outcomes = await Promise.all(bases.map((b) => probe(`${b.replace(/\/+$/, '')}${spec.path}`, ctx)));
      const verdict = worstVerdict(outcomes.map((o) => o.verdict));
      const tries = (o: TargetOutcome) => (o.attempts > 1 ? ` after ${o.attempts} attempts` : '');
      let message: string;
      if (outcomes.length === 1) {
        const o = outcomes[0]!;
        message = `${method} ${o.url} ${o.message}${verdict === 'pass' ? '' : tries(o)}`;
      } else if (verdict === 'pass') {
        message = `all ${outcomes.length} instances answered ${method} ${spec.path} as expected`;
      } else {
        const bad = outcomes.filter((o) => o.verdict !== 'pass');
        message = `${bad.length} of ${outcomes.length} instances did not pass ${method} ${spec.path}: ${bad.map((o) => `${o.url} ${o.message}${tries(o)}`).join('; ')}`;
      }
      return done(verdict, message, { results: outcomes });
    },
  };
}

function isRegex(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}
