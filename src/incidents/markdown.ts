// Markdown the postmortem is written in: text from events escaped so it cannot turn into markup,
// prose wrapped at 80 columns (markdownlint's default), compact tables, and the section markers
// that let a regenerated draft keep what a person edited.
import { createHash } from 'node:crypto';

export const WIDTH = 80;

/**
 * The only markdownlint setting the postmortem needs: a timeline row is one table row, and a
 * table row cannot be wrapped, so MD013 (line length) skips tables. Everything else is default.
 */
export const POSTMORTEM_MARKDOWNLINT_CONFIG = { MD013: { tables: false } } as const;

// A URL ends before closing brackets and sentence punctuation that follow it.
const LINK_LIKE = /(https?:\/\/[^\s`<>()]*[^\s`<>().,;:'"!?]|[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w@]))/g;

/** Escapes text from events for inline Markdown; URLs and e-mail addresses become code spans (no bare URLs). */
export function inline(text: string): string {
  const out: string[] = [];
  let last = 0;
  for (const m of text.matchAll(LINK_LIKE)) {
    out.push(escapeText(text.slice(last, m.index)));
    out.push(`\`${m[0].replace(/`/g, "'")}\``);
    last = m.index + m[0].length;
  }
  out.push(escapeText(text.slice(last)));
  return out.join('');
}

function escapeText(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/([\\`*_[\]<~|])/g, '\\$1');
}

/** A table cell: inline text without line breaks ("|" is already escaped by inline). */
export function cell(text: string): string {
  return inline(text).trim() || ' ';
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

// A continuation line starting with one of these would become a list, heading, quote, table or fence.
const UNSAFE_START = /^([-+*=#>|]|\d+[.)]|[`~]{3})/;

/**
 * Wraps already-escaped Markdown at WIDTH. Words never split (a long URL stays whole on its own
 * line, which MD013 allows), and no line starts with something Markdown would read as a block.
 */
export function wrap(text: string, firstPrefix = '', restPrefix = firstPrefix.replace(/./g, ' ')): string {
  const words = text.split(/ +/).filter(Boolean);
  const lines: string[][] = [[]];
  let len = firstPrefix.length;
  for (const w of words) {
    const cur = lines.at(-1)!;
    if (cur.length > 0 && len + 1 + w.length > WIDTH) {
      // Move the previous word down as well when this one cannot start a line.
      if (UNSAFE_START.test(w) && cur.length > 1) {
        const prev = cur.pop()!;
        lines.push([prev, w]);
        len = restPrefix.length + prev.length + 1 + w.length;
      } else if (UNSAFE_START.test(w)) {
        cur.push(w);
        len += 1 + w.length;
      } else {
        lines.push([w]);
        len = restPrefix.length + w.length;
      }
    } else {
      cur.push(w);
      len += (cur.length > 1 ? 1 : 0) + w.length;
    }
  }
  return lines.map((l, i) => (i === 0 ? firstPrefix : restPrefix) + l.join(' ')).join('\n');
}

export const paragraph = (md: string): string => wrap(md);
export const bullet = (md: string): string => wrap(md, '- ', '  ');

// ---- edit-preserving sections ------------------------------------------------------------------

export interface Section {
  id: string;
  /** the generated Markdown between the markers */
  body: string;
}

/** Line endings and surrounding blank lines do not count as edits. */
function normalise(body: string): string {
  return body.replace(/\r\n?/g, '\n').replace(/^\n+|\s+$/g, '');
}

export function sectionHash(body: string): string {
  return createHash('sha256').update(normalise(body)).digest('hex');
}

// No space before "-->": the hash runs past column 80, and MD013 only lets a long line through
// when nothing after column 80 is whitespace.
export const openMarker = (id: string, hash: string): string => `<!-- greenlight:section id=${id} hash=${hash}-->`;
export const END_MARKER = '<!-- greenlight:end -->';
const OPEN_RE = /^<!-- greenlight:section id=([\w-]+) hash=([0-9a-f]{64}) ?-->\s*$/;
const END_RE = /^<!-- greenlight:end -->\s*$/;

export function renderSections(sections: Section[]): string {
  return sections.map((s) => `${openMarker(s.id, sectionHash(s.body))}\n${normalise(s.body)}\n${END_MARKER}`).join('\n\n') + '\n';
}

type Segment = { kind: 'text'; text: string } | { kind: 'section'; id: string; hash: string; body: string; raw: string };

export function parseSections(doc: string): Segment[] {
  const lines = doc.replace(/\r\n?/g, '\n').split('\n');
  const out: Segment[] = [];
  let text: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = OPEN_RE.exec(lines[i]!);
    if (!m) {
      text.push(lines[i]!);
      continue;
    }
    const end = lines.findIndex((l, j) => j > i && END_RE.test(l));
    if (end < 0) {
      // An unterminated marker: treat the rest as the person's text rather than lose it.
      text.push(...lines.slice(i));
      break;
    }
    if (text.length) out.push({ kind: 'text', text: text.join('\n') });
    text = [];
    out.push({ kind: 'section', id: m[1]!, hash: m[2]!, body: lines.slice(i + 1, end).join('\n'), raw: lines.slice(i, end + 1).join('\n') });
    i = end;
  }
  if (text.length) out.push({ kind: 'text', text: text.join('\n') });
  return out;
}

export interface MergeResult {
  markdown: string;
  /** sections kept as the person wrote them */
  kept: string[];
  /** sections replaced by the new draft */
  regenerated: string[];
}

/**
 * Regenerates a draft into an existing document. A section whose text still hashes to its marker
 * was not touched and is replaced by the new draft; one that a person edited is kept word for word
 * (with its old marker, so it stays "edited" next time). Text outside markers is the person's too
 * and is kept where it was. New sections go after the section that precedes them in the draft.
 */
export function mergeSections(existing: string | undefined, draft: Section[]): MergeResult {
  if (existing === undefined || !existing.trim()) return { markdown: renderSections(draft), kept: [], regenerated: draft.map((s) => s.id) };
  const segs = parseSections(existing);
  const byId = new Map(draft.map((s) => [s.id, s]));
  const kept: string[] = [];
  const regenerated: string[] = [];
  const present = new Set(segs.flatMap((s) => (s.kind === 'section' ? [s.id] : [])));
  const blocks: { id?: string; text: string }[] = [];
  for (const s of segs) {
    if (s.kind === 'text') {
      blocks.push({ text: s.text });
      continue;
    }
    const edited = sectionHash(s.body) !== s.hash;
    const fresh = byId.get(s.id);
    if (edited) {
      kept.push(s.id);
      blocks.push({ id: s.id, text: s.raw });
    } else if (fresh) {
      regenerated.push(s.id);
      blocks.push({ id: s.id, text: renderSections([fresh]).trimEnd() });
    }
    // an untouched section the draft no longer has is dropped
  }
  draft.forEach((s, i) => {
    if (present.has(s.id)) return;
    regenerated.push(s.id);
    const block = { id: s.id, text: `\n${renderSections([s]).trimEnd()}\n` };
    const before = draft.slice(0, i).map((x) => x.id).reverse().find((id) => blocks.some((b) => b.id === id));
    if (before !== undefined) return void blocks.splice(blocks.findIndex((b) => b.id === before) + 1, 0, block);
    const after = draft.slice(i + 1).map((x) => x.id).find((id) => blocks.some((b) => b.id === id));
    if (after !== undefined) return void blocks.splice(blocks.findIndex((b) => b.id === after), 0, block);
    blocks.push(block);
  });
  const markdown = blocks.map((b) => b.text).join('\n').replace(/\n{3,}/g, '\n\n').replace(/^\n+/, '').replace(/\s*$/, '\n');
  return { markdown, kept, regenerated };
}

/** Same as mergeSections, from a rendered draft (what the API's postmortem route returns). */
export function mergeDraft(existing: string | undefined, draftMarkdown: string): MergeResult {
  const sections = parseSections(draftMarkdown).flatMap((s) => (s.kind === 'section' ? [{ id: s.id, body: s.body }] : []));
  return mergeSections(existing, sections);
}
