import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isAlias, isMap, isPair, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { z } from 'zod';
import { GreenlightError } from '../errors/errors.ts';
import { formatPath, locate, type ConfigProblem } from './locate.ts';
import { configSchema, type Config } from './schema.ts';

export interface LoadedConfig {
  config: Config;
  /** absolute path of the file */
  file: string;
  /** directory relative paths in the config are resolved against */
  baseDir: string;
  /** absolute state directory */
  stateDir: string;
  /** valid but risky settings, printed by `validate` and `up` */
  warnings: string[];
}

export class ConfigError extends GreenlightError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super('CONFIG_INVALID', formatProblems(problems), {
      hint: 'fix the fields above; `greenlight schema` writes a JSON Schema your editor can use to complete and check the file',
      data: { problems },
    });
    this.problems = problems;
  }
}

export function formatProblems(problems: ConfigProblem[]): string {
  const n = problems.length;
  const lines = problems.map((p) => {
    const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column}` : p.file;
    return `  ${where}  ${p.path}: ${p.message}${p.hint ? `\n      hint: ${p.hint}` : ''}`;
  });
  return `${n} problem${n === 1 ? '' : 's'} in the configuration:\n${lines.join('\n')}`;
}

export function defaultConfigPath(cwd = process.cwd()): string {
  return resolve(cwd, process.env.GREENLIGHT_CONFIG ?? 'greenlight.yaml');
}

export function loadConfig(path: string = defaultConfigPath()): LoadedConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GreenlightError(code === 'ENOENT' ? 'CONFIG_NOT_FOUND' : 'CONFIG_INVALID', `cannot read ${file}: ${code ?? String(err)}`, {
      hint: code === 'ENOENT' ? '`greenlight init` writes a commented example; or pass --config <file>' : undefined,
    });
  }
  const config = parseConfigText(text, file);
  const baseDir = dirname(file);
  const stateDir = resolve(baseDir, config.state_dir);
  return { config, file, baseDir, stateDir, warnings: configWarnings(config, stateDir) };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/i;

/** Settings that are valid but unsafe: said at every validate and start, never silently accepted. */
export function configWarnings(config: Config, stateDir: string): string[] {
  const out: string[] = [];
  if (stateDir === '/' || stateDir === resolve('/')) {
    out.push('state_dir is "/": Greenlight would keep its event log, token and artifacts at the root of the file system and make it 0700; use a directory of its own, e.g. state_dir: .greenlight');
  }
  const host = config.controller.listen.slice(0, config.controller.listen.lastIndexOf(':'));
  if (!LOOPBACK.test(host)) {
    out.push(`controller.listen is ${config.controller.listen}, beyond loopback, and the API has no TLS: the bearer token and every request travel in clear text; listen on 127.0.0.1 and put a TLS-terminating proxy in front, or reach it over an SSH tunnel`);
  }
  return out;
}

/** Parses and validates the text of a config file; every problem is reported at once. */
export function parseConfigText(text: string, file = 'greenlight.yaml'): Config {
  const lines = new LineCounter();
  // yaml's own uniqueKeys check compares each key with every earlier one (quadratic); duplicates
  // are found below with one Set per mapping instead.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const problems: ConfigProblem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lines.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, path: '(yaml)', message: e.message.split('\n')[0]!, hint: yamlHint(e.code) });
  }
  if (!problems.length) problems.push(...duplicateKeys(doc, lines, file));
  if (problems.length) throw new ConfigError(problems);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (err) {
    // An alias bomb (or a file leaning on one anchor too often) would expand into billions of nodes.
    const alias = firstAlias(doc);
    const pos = alias?.range ? lines.linePos(alias.range[0]) : { line: 1, col: 1 };
    throw new ConfigError([
      {
        file,
        line: pos.line,
        column: pos.col,
        path: '(yaml)',
        message: /alias/i.test(String((err as Error).message)) ? `too many YAML alias expansions (more than ${MAX_ALIAS_COUNT} for one anchor, or an alias bomb)` : `the YAML cannot be read: ${(err as Error).message}`,
        hint: 'write the repeated values out, or use fewer *alias references to one &anchor',
      },
    ]);
  }
  if (raw === null || typeof raw !== 'object') {
    throw new ConfigError([{ file, line: 1, column: 1, path: '(top level)', message: 'the file is empty or not a mapping', hint: '`greenlight init` writes a commented example' }]);
  }
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  let suggested = 0;
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const pos = locate(doc, lines, path, true);
        // Suggestions are for a person fixing typos: the first 100 get one, the rest a plain hint.
        const near = ++suggested <= 100 ? closest(key, knownKeys()) : undefined;
        // a key that exists elsewhere in the schema is its own closest match: "did you mean" itself is no help
        const hint = near === key ? `"${key}" is a key of other sections, not of this one; remove it (\`greenlight schema\` lists the keys each section takes)` : near ? `did you mean "${near}"?` : 'remove it; `greenlight schema` lists the allowed keys';
        problems.push({ file, ...pos, path: formatPath(path), message: `unknown key "${key}"`, hint });
      }
      continue;
    }
    const pos = locate(doc, lines, issue.path);
    const hint = (issue as { params?: { hint?: string } }).params?.hint;
    problems.push({ file, ...pos, path: formatPath(issue.path), message: describeIssue(issue), ...(hint ? { hint } : {}) });
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  throw new ConfigError(problems);
}

const MAX_ALIAS_COUNT = 100;

function firstAlias(doc: Document): { range?: [number, number, number] | null } | undefined {
  let found: { range?: [number, number, number] | null } | undefined;
  visit(doc, {
    Alias(_, node) {
      if (isAlias(node)) {
        found = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function duplicateKeys(doc: Document, lines: LineCounter, file: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const p of map.items) {
        if (!isPair(p) || !isScalar(p.key)) continue;
        const k = String(p.key.value);
        if (seen.has(k)) {
          const pos = p.key.range ? lines.linePos(p.key.range[0]) : { line: 1, col: 1 };
          out.push({ file, line: pos.line, column: pos.col, path: '(yaml)', message: `Map keys must be unique ("${k}" appears twice)`, hint: yamlHint('DUPLICATE_KEY') });
        }
        seen.add(k);
      }
    },
  });
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `required: ${issue.message.replace(/, received undefined$/, '')}`;
  if (issue.code === 'invalid_union') {
    // a union that says itself what it expects needs no list of why each branch refused
    if (issue.message !== 'Invalid input') return issue.message;
    const kinds = issue.errors.flat().map((e) => e.message);
    return `${issue.message}${kinds.length ? ` (${[...new Set(kinds)].slice(0, 3).join('; ')})` : ''}`;
  }
  return issue.message;
}

function yamlHint(code: string): string | undefined {
  if (code === 'DUPLICATE_KEY') return 'each key may appear once in a mapping';
  if (code === 'TAB_AS_INDENT') return 'indent with spaces, not tabs';
  return undefined;
}

let known: string[] | undefined;
function knownKeys(): string[] {
  if (!known) {
    const set = new Set<string>();
    collectKeys(configSchema, set, new Set());
    known = [...set];
  }
  return known;
}

function collectKeys(schema: unknown, out: Set<string>, seen: Set<unknown>): void {
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return;
  seen.add(schema);
  const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  if (!def) return;
  if (def.type === 'object' && def.shape) for (const [k, v] of Object.entries(def.shape as object)) (out.add(k), collectKeys(v, out, seen));
  for (const key of ['innerType', 'in', 'out', 'element', 'valueType', 'left', 'right']) collectKeys(def[key], out, seen);
  for (const key of ['options']) if (Array.isArray(def[key])) for (const o of def[key] as unknown[]) collectKeys(o, out, seen);
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 3));
  if (word.length > 64) return undefined;
  for (const c of candidates) {
    if (Math.abs(c.length - word.length) > limit) continue;
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) (bestD = d), (best = c);
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
