// The hash chain that makes the event log tamper-evident. Each event stores
//   hash = sha256(prevHash + "\n" + canonical JSON of {seq, id, type, v, time, actor, subject, data})
// and the hash of the event before it (prevHash). It covers the row as stored: the data as written
// and the schema version `v` it was written at, never the upcast data readers get (an upcaster
// added by a later Greenlight must not break the chain; a `v` changed in place must). `v` is left
// out of the hashed JSON when it is 1, so logs chained before `v` was covered (all of version 1)
// verify as they are, and 1 -> 2 or 2 -> 1 still changes the hash. Stores only persist the two columns; everything
// about computing and checking them lives here, so the SQLite store, the in-memory fake and the
// PostgreSQL store chain identically and one verifier serves them all.
//
// What it proves: an event changed in place no longer matches its hash; an event removed leaves a
// gap in seq and a broken link; events swapped carry the hash of another position. What it cannot
// prove alone: someone with write access can recompute the whole chain after a change, or cut the
// tail off. That is what the exported head (`greenlight audit head`, the head webhook) is for: a
// copy of (seq, hash) kept elsewhere, which a rewritten log no longer matches.
import { createHash } from 'node:crypto';
import { ofType } from '../events/catalogue/index.ts';
import type { StoredRow } from '../events/catalogue/index.ts';
import type { EventLog } from '../events/log.ts';

/** prevHash of the very first event of a log */
export const GENESIS_HASH = '0'.repeat(64);

/** The type of the event a store appends when it starts chaining a log that already had events. */
export const CHAIN_STARTED = 'audit.chain_started' as const;

/**
 * The type of the event `greenlight audit accept` appends: a person looked at a broken chain and
 * accepted it. Everything before it is covered as one block by its data.blockHead, the break stays
 * on record (data.problem, data.reason, the actor), and the chain is checked normally after it.
 */
export const BREAK_ACCEPTED = 'audit.break_accepted' as const;

/**
 * JSON with object keys sorted at every level and no whitespace, after a JSON round trip (so what
 * is hashed is exactly what a store can give back: undefined dropped, Dates as strings).
 */
export function canonicalJson(value: unknown): string {
  return stringify(JSON.parse(JSON.stringify(value ?? null)));
}

function stringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stringify).join(',')}]`;
  const keys = Object.keys(v as object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stringify((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** What the hash covers: an event as stored (the data as written, before any upcasting). */
export type ChainContent = Omit<StoredRow, 'data' | 'hash'> & { data: unknown };

export function chainHash(prevHash: string, e: ChainContent): string {
  const body = canonicalJson({ seq: e.seq, id: e.id, type: e.type, ...(e.v === 1 ? {} : { v: e.v }), time: e.time, actor: e.actor, subject: e.subject, data: e.data });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/** The exported head of a log: the last event's seq and hash. */
export interface ChainHead {
  seq: number;
  hash: string;
  /** when the head was taken (ms since epoch); informative */
  at?: number;
}

export type ChainProblem =
  | { kind: 'changed'; seq: number; id: string; type: string; detail: string }
  | { kind: 'removed'; seq: number; missingFrom: number; missingTo: number; detail: string }
  | { kind: 'reordered'; seq: number; id: string; type: string; belongsAt: number; detail: string }
  | { kind: 'truncated'; seq: number; lastSeq: number; expectedAtLeast: number; detail: string }
  | { kind: 'anchor_mismatch'; seq: number; detail: string };

export interface AcceptedBreak {
  seq: number;
  actor: string;
  time: number;
  reason: string;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  /** the latest break a person accepted (events before it are covered as one block) */
  accepted?: AcceptedBreak;
  /** events checked */
  checked: number;
  /** events before the chain started (covered as a block by the audit.chain_started anchor) */
  legacy: number;
  head: ChainHead | null;
  problem?: ChainProblem;
}

export interface VerifyOptions {
  /** an exported head: the log must still contain it, unchanged */
  anchor?: ChainHead;
  /** events read per query */
  pageSize?: number;
}

/** One line a person can act on. */
export function describeProblem(p: ChainProblem): string {
  return p.detail;
}

export const CHAIN_HINT =
  'the event log was modified outside Greenlight. Keep a copy of the file for investigation, then restore events.db from a backup ' +
  'whose head matches your last exported head (greenlight audit head), or, if the change is understood and accepted, ' +
  'record that with `greenlight audit accept --reason "..."` (the break stays on record)';

/**
 * Walks the whole log in seq order and reports the first problem. Works on any EventLog whose
 * events carry hash/prevHash; highWaterSeq (the highest seq the store ever handed out, kept apart
 * from the rows) reveals a tail cut off, when the store has one.
 */
export async function verifyChain(log: EventLog, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const pageSize = opts.pageSize ?? 2000;
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  let legacy = 0;
  let chained = false;
  let last: StoredRow | undefined;
  let anchorSeen = false;
  const acc = (await log.query({ types: [BREAK_ACCEPTED], descending: true, limit: 1 })).filter(ofType(BREAK_ACCEPTED))[0];
  let block = GENESIS_HASH;
  const accepted: AcceptedBreak | undefined = acc
    ? { seq: acc.seq, actor: acc.actor, time: acc.time, reason: acc.data.reason, problem: acc.data.problem }
    : undefined;
  const fail = (problem: ChainProblem): VerifyResult => ({ ok: false, ...(accepted ? { accepted } : {}), checked, legacy, head: last?.hash ? { seq: last.seq, hash: last.hash } : null, problem });

  for (let after = 0; ; ) {
    // the rows as stored: upcasting is for readers, the hash is over what was written
    const page = await log.queryRows({ afterSeq: after, limit: pageSize });
    if (page.length === 0) break;
    for (const e of page) {
      after = e.seq;
      if (acc && e.seq < acc.seq) {
        // before an accepted break: only the block as a whole is checked
        block = chainHash(block, e);
        legacy++;
        checked++;
        last = e;
        continue;
      }
      if (acc && e.seq === acc.seq) {
        if (acc.data.blockHead !== block)
          return fail({ kind: 'changed', seq: 1, id: '', type: '', detail: `events seq 1..${acc.seq - 1} were changed after the break was accepted at seq ${acc.seq}: they no longer match its block hash` });
        if (chainHash(e.prevHash ?? '', e) !== e.hash)
          return fail({ kind: 'changed', seq: e.seq, id: e.id, type: e.type, detail: `event seq ${e.seq} (${e.type}, id ${e.id}) was changed: its content no longer matches its hash` });
        prevHash = e.hash!;
        expectedSeq = e.seq + 1;
        chained = true;
        checked++;
        last = e;
        continue;
      }
      if (e.seq !== expectedSeq) {
        const detail =
          e.seq > expectedSeq
            ? `event${e.seq - expectedSeq > 1 ? 's' : ''} seq ${expectedSeq}${e.seq - expectedSeq > 1 ? `..${e.seq - 1}` : ''} ${e.seq - expectedSeq > 1 ? 'were' : 'was'} removed (the log jumps from seq ${expectedSeq - 1} to ${e.seq})`
            : `event seq ${e.seq} appears out of order after seq ${expectedSeq - 1}`;
        return fail({ kind: 'removed', seq: Math.min(expectedSeq, e.seq), missingFrom: expectedSeq, missingTo: e.seq - 1, detail });
      }
      expectedSeq++;
      if (!e.hash) {
        if (chained) return fail({ kind: 'changed', seq: e.seq, id: e.id, type: e.type, detail: `event seq ${e.seq} (${e.type}, id ${e.id}) has no hash although the chain started before it: it was inserted or rewritten outside Greenlight` });
        // an event from before chaining: folded into the virtual head the anchor event points at
        prevHash = chainHash(prevHash, e);
        legacy++;
        checked++;
        last = e;
        continue;
      }
      chained = true;
      const own = chainHash(e.prevHash ?? '', e);
      if (own !== e.hash) {
        const moved = await belongsAt(log, e);
        if (moved !== undefined)
          return fail({ kind: 'reordered', seq: e.seq, id: e.id, type: e.type, belongsAt: moved, detail: `event seq ${e.seq} (${e.type}, id ${e.id}) was recorded at seq ${moved}: events were reordered` });
        return fail({ kind: 'changed', seq: e.seq, id: e.id, type: e.type, detail: `event seq ${e.seq} (${e.type}, id ${e.id}) was changed: its content no longer matches its hash` });
      }
      if (e.prevHash !== prevHash) {
        if (legacy > 0 && last && !last.hash) {
          return fail({ kind: 'changed', seq: 1, id: '', type: '', detail: `events seq 1..${last.seq}, recorded before the chain started, were changed: they no longer match the ${e.type} anchor at seq ${e.seq}` });
        }
        // this event is intact but points at another predecessor: the one before it was rewritten (hash recomputed)
        const p = last!;
        return fail({ kind: 'changed', seq: p.seq, id: p.id, type: p.type, detail: `event seq ${p.seq} (${p.type}, id ${p.id}) was changed and its hash recomputed: event seq ${e.seq} still points at the original` });
      }
      prevHash = e.hash;
      checked++;
      last = e;
      if (opts.anchor && e.seq === opts.anchor.seq) {
        anchorSeen = true;
        if (e.hash !== opts.anchor.hash)
          return fail({ kind: 'anchor_mismatch', seq: e.seq, detail: `event seq ${e.seq} does not have the exported head's hash (${opts.anchor.hash.slice(0, 12)}…): the log up to seq ${e.seq} was rewritten and its chain recomputed` });
      }
    }
  }
  const lastSeq = last?.seq ?? 0;
  const highWater = (await log.highWaterSeq?.()) ?? lastSeq;
  if (highWater > lastSeq) {
    return fail({ kind: 'truncated', seq: lastSeq + 1, lastSeq, expectedAtLeast: highWater, detail: `the log was truncated: it ends at seq ${lastSeq} but seq ${highWater} was handed out (events seq ${lastSeq + 1}..${highWater} were removed from the end)` });
  }
  if (opts.anchor && !anchorSeen && opts.anchor.seq > lastSeq) {
    return fail({ kind: 'truncated', seq: lastSeq + 1, lastSeq, expectedAtLeast: opts.anchor.seq, detail: `the log was truncated: it ends at seq ${lastSeq} but the exported head is seq ${opts.anchor.seq} (events seq ${lastSeq + 1}..${opts.anchor.seq} are missing)` });
  }
  if (opts.anchor && !anchorSeen) {
    return fail({ kind: 'anchor_mismatch', seq: opts.anchor.seq, detail: `the exported head seq ${opts.anchor.seq} is not a chained event of this log` });
  }
  return { ok: true, ...(accepted ? { accepted } : {}), checked, legacy, head: last?.hash ? { seq: last.seq, hash: last.hash } : null };
}

/** For an event whose hash is wrong at its position: the seq at which its hash is right, if any (once, on failure). */
async function belongsAt(log: EventLog, e: StoredRow): Promise<number | undefined> {
  if (!e.prevHash) return undefined;
  const top = Math.max(await log.lastSeq(), (await log.highWaterSeq?.()) ?? 0);
  for (let s = 1; s <= top; s++) if (s !== e.seq && chainHash(e.prevHash, { ...e, seq: s }) === e.hash) return s;
  return undefined;
}

/**
 * The hashes for events about to be appended after `prev` (the store's last event, or GENESIS).
 * A store calls this inside its write transaction, so two writers cannot chain onto the same event.
 */
export function chainNext<T extends ChainContent>(prevHash: string, events: T[]): (T & { hash: string; prevHash: string })[] {
  const out: (T & { hash: string; prevHash: string })[] = [];
  let prev = prevHash;
  for (const e of events) {
    const hash = chainHash(prev, e);
    out.push({ ...e, hash, prevHash: prev });
    prev = hash;
  }
  return out;
}

/** The head a store chains onto when its rows so far have no hashes (a log from before chaining). */
export function legacyHead(events: Iterable<ChainContent>): string {
  let prev = GENESIS_HASH;
  for (const e of events) prev = chainHash(prev, e);
  return prev;
}

export function parseHead(text: string): ChainHead {
  const t = text.trim();
  const m = /^(\d+):([0-9a-f]{64})$/.exec(t);
  if (m) return { seq: Number(m[1]), hash: m[2]! };
  const j = JSON.parse(t) as { seq?: unknown; hash?: unknown };
  if (typeof j.seq !== 'number' || typeof j.hash !== 'string' || !/^[0-9a-f]{64}$/.test(j.hash)) throw new Error('expected {"seq": n, "hash": "<64 hex>"} or "<seq>:<hash>"');
  return { seq: j.seq, hash: j.hash };
}

/**
 * Records that a person accepted a broken chain (the controller refuses to start on one). Meant
 * for a stopped controller: the block hash covers the events present now.
 */
export async function acceptBreak(log: EventLog, opts: { actor: string; reason: string }): Promise<{ accepted: Awaited<ReturnType<EventLog['append']>>; problem: string } | undefined> {
  const before = await verifyChain(log);
  if (before.ok) return undefined;
  let block = GENESIS_HASH;
  let lastSeq = 0;
  for (let after = 0; ; ) {
    const page = await log.queryRows({ afterSeq: after, limit: 2000 });
    if (page.length === 0) break;
    for (const e of page) {
      block = chainHash(block, e);
      after = lastSeq = e.seq;
    }
  }
  const problem = describeProblem(before.problem!);
  const accepted = await log.append({ type: BREAK_ACCEPTED, actor: opts.actor, subject: 'audit', data: { problem, kind: before.problem!.kind, at: before.problem!.seq, reason: opts.reason, blockHead: block, lastSeq } });
  return { accepted, problem };
}
