// Label matchers as Alertmanager writes them: `name="value"`, `name!="value"`, `name=~"regex"`,
// `name!~"regex"` (quotes optional). Regexes are anchored, and a missing label reads as "", both as
// in Alertmanager, so `team!=""` means "has a team".
import { z } from 'zod';
import { anchored, type Labels } from '../../monitor/series/labels.ts';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

function unquote(text: string): string | undefined {
  if (!text.startsWith('"')) return text;
  if (text.length < 2 || !text.endsWith('"')) return undefined;
  try {
    return JSON.parse(text) as string;
  } catch {
    return undefined;
  }
}

/** Parses `name op "value"`; returns an error message instead of throwing. */
export function parseMatcher(text: string): Matcher | string {
  const m = MATCHER.exec(text);
  if (!m) return `"${text}" is not a matcher: expected name="value", name!="value", name=~"regex" or name!~"regex"`;
  const value = unquote(m[3]!);
  if (value === undefined) return `"${text}": the value has an unclosed or malformed quote`;
  const op = m[2] as MatchOp;
  if (op === '=~' || op === '!~') {
    try {
      anchored(value);
    } catch (err) {
      return `"${text}": invalid regular expression (${(err as Error).message})`;
    }
  }
  return { name: m[1]!, op, value };
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

export function matches(m: Matcher, labels: Labels): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return anchored(m.value).test(v);
    case '!~':
      return !anchored(m.value).test(v);
  }
}

/** True when every matcher holds (an empty list matches everything). */
export function matchesAll(ms: readonly Matcher[], labels: Labels): boolean {
  for (const m of ms) if (!matches(m, labels)) return false;
  return true;
}

/** A config field: one matcher string, parsed, with the parse error as the validation message. */
export const matcherString = z.string().transform((s, ctx) => {
  const m = parseMatcher(s);
  if (typeof m === 'string') {
    ctx.addIssue({ code: 'custom', message: m });
    return z.NEVER;
  }
  return m;
});

/** Alertmanager API v2's structured form, accepted for silences. */
export const structuredMatcher = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected a label name' }),
    value: z.string(),
    isRegex: z.boolean().default(false),
    isEqual: z.boolean().default(true),
  })
  .transform((m, ctx): Matcher => {
    const op: MatchOp = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
    if (m.isRegex) {
      try {
        anchored(m.value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `invalid regular expression (${(err as Error).message})` });
        return z.NEVER;
      }
    }
    return { name: m.name, op, value: m.value };
  });

export const matcherInput = z.union([matcherString, structuredMatcher]);
