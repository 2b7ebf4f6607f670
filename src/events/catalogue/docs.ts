// docs/events.md, generated from the catalogue: every event type with its owner, version, meaning
// and fields. `npm run docs:events` writes it; docs.test.ts fails while the file is out of date.
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { EventDefinition } from './define.ts';
import { definitions } from './index.ts';

export const docsPath = fileURLToPath(new URL('../../../docs/events.md', import.meta.url));

type Json = { [k: string]: unknown };

/** A JSON Schema fragment in a few words: "string", "list of string", "number or null", ... */
function typeOf(s: Json): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return `one of ${(s.enum as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (Array.isArray(s.anyOf)) return [...new Set((s.anyOf as Json[]).map(typeOf))].join(' or ');
  const t = s.type;
  if (Array.isArray(t)) return t.map((x) => typeOf({ ...s, type: x })).join(' or ');
  if (t === 'array') return `list of ${typeOf((s.items as Json | undefined) ?? {})}`;
  if (t === 'object') {
    if (s.properties) return `object (${Object.keys(s.properties as Json).join(', ')})`;
    if (s.additionalProperties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties as Json)}`;
    return 'object';
  }
  if (t === 'integer') return 'integer';
  if (typeof t === 'string') return t;
  return 'any';
}

/** Text inside a Markdown table cell: pipes and line breaks would break the table. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function section(d: EventDefinition): string[] {
  const schema = z.toJSONSchema(d.data, { unrepresentable: 'any' }) as Json;
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const meaning = d.meaning.charAt(0).toUpperCase() + d.meaning.slice(1);
  const lines = [`### \`${d.type}\``, '', `${cell(meaning)}. Version ${d.version}.`, ''];
  const names = Object.keys(props);
  if (names.length === 0) return [...lines, 'No data fields.', ''];
  lines.push('| field | type | required |', '| --- | --- | --- |');
  for (const n of names) lines.push(`| \`${n}\` | ${cell(typeOf(props[n]!))} | ${required.has(n) ? 'yes' : 'no'} |`);
  return [...lines, ''];
}

export function renderEventsMarkdown(): string {
  const all = definitions as readonly EventDefinition[];
  const owners = [...new Set(all.map((d) => d.owner))];
  const out = [
    '# Events',
    '',
    '<!-- generated from src/events/catalogue by `npm run docs:events`; edit the catalogue, not this file -->',
    '',
    `Every event Greenlight writes to its log: ${all.length} types from ${owners.length} modules. Each is one`,
    'zod schema in `src/events/catalogue/<owner>.ts`; every store refuses an event that does not match it',
    '(error `EVENT_INVALID`, nothing appended). `GET /v1/events/catalogue` serves the same catalogue as JSON',
    'Schema. Each type has a version, stored with each event; a reader meets events written at an earlier',
    'version through the type\'s upcasters, so a log written by an earlier Greenlight still reads.',
    '',
    'Every event also has `seq`, `id`, `type`, `time` (ms since the epoch), `actor` and `subject`; the',
    'tables list its `data`.',
    '',
  ];
  for (const owner of owners) {
    const mine = all.filter((d) => d.owner === owner);
    out.push(`## ${owner}`, '', ...mine.map((d) => `- \`${d.type}\``), '');
    for (const d of mine) out.push(...section(d));
  }
  return out.join('\n').replace(/\n+$/, '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(docsPath, renderEventsMarkdown());
  console.log(`wrote ${docsPath}`);
}
