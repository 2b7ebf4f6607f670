// Which version a client is on: its identity (Greenlight's own client cookie by default, or a
// session cookie, a header, the client address) hashes into one of BUCKETS fixed buckets, and each
// live version of the table owns a range of buckets sized by its weight. The ranges are laid out
// so that raising a canary's weight only grows its range: a client on the canary at 1% is still
// on it at 5%, 25% and 50%, and a client never goes canary -> stable -> canary while the canary's
// weight only rises. A version at weight 0 owns no bucket, so a rollback or abort moves every
// canary client to stable on its next request, and promotion (one live version) moves everyone.
//
// Layout, in table order of the live versions (weight > 0): the first one (the stable version, as
// the controller lists it) takes what remains at the top; the second (the canary) takes
// [0, share); a third (a fresh baseline) takes [BUCKETS - share, BUCKETS), so it grows from the
// other end and is as monotone as the canary; any further ones follow the canary's range. The
// hash is salted with the second version's name, so each release's canary lands on a different
// set of clients instead of the same 1% every time.
//
// This is the request path: no allocation here (the identity string comes from the cookie or
// header parse that happens anyway), only integer arithmetic over its characters.

export const BUCKETS = 10_000;

/** Where a request's identity comes from. */
export type IdentitySource =
  /** Greenlight's own client cookie (gl_cid), set on the first response: every client has one */
  | { from: 'greenlight' }
  /** an existing cookie of the application, e.g. a session cookie */
  | { from: 'cookie'; name: string }
  /** a header set in front of the router, e.g. X-User-Id */
  | { from: 'header'; name: string }
  /** the client's address as the router sees it (behind a NAT, many clients share one) */
  | { from: 'address' };

export const defaultIdentity: IdentitySource = { from: 'greenlight' };

/** "greenlight", "cookie:<name>", "header:<name>" or "address" (the router's --identity flag). */
export function parseIdentity(s: string): IdentitySource | null {
  if (s === 'greenlight') return { from: 'greenlight' };
  if (s === 'address') return { from: 'address' };
  const m = /^(cookie|header):([!#$%&'*+.^_`|~0-9A-Za-z-]{1,128})$/.exec(s);
  if (!m) return null;
  return { from: m[1] as 'cookie' | 'header', name: m[2]! };
}

export function formatIdentity(id: IdentitySource): string {
  return id.from === 'cookie' || id.from === 'header' ? `${id.from}:${id.name}` : id.from;
}

/** FNV-1a over the UTF-16 code units, then murmur3's finaliser so nearby ids spread evenly. */
export function hashIdentity(id: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function bucketOf(id: string, seed: number): number {
  return hashIdentity(id, seed) % BUCKETS;
}

/** The salt of a table: a hash of its second live version's name (0 when there is only one). */
export function seedOf(versionName: string | undefined): number {
  return versionName === undefined ? 0 : hashIdentity(versionName, 0x9e3779b9);
}

export interface BucketRange {
  /** first bucket owned, inclusive */
  lo: number;
  /** end, exclusive; lo === hi owns nothing */
  hi: number;
}

/**
 * Bucket ranges of the live versions, in the order given (weights > 0). Shares are rounded to whole
 * buckets (0.01% each), at least one bucket for a version with weight, and the first version
 * absorbs the rounding.
 */
export function layoutBuckets(weights: readonly number[]): BucketRange[] {
  const n = weights.length;
  if (n === 0) return [];
  let total = 0;
  for (const w of weights) total += w;
  const share = weights.map((w) => Math.max(1, Math.round((w / total) * BUCKETS)));
  const ranges: BucketRange[] = new Array(n);
  if (n === 1) {
    ranges[0] = { lo: 0, hi: BUCKETS };
    return ranges;
  }
  // second from the bottom, third from the top, the rest after the second
  let bottom = 0;
  let top = BUCKETS;
  ranges[1] = { lo: 0, hi: Math.min(share[1]!, BUCKETS - 1) };
  bottom = ranges[1].hi;
  if (n > 2) {
    const lo = Math.max(bottom, top - share[2]!);
    ranges[2] = { lo, hi: top };
    top = lo;
  }
  for (let i = 3; i < n; i++) {
    const hi = Math.min(top, bottom + share[i]!);
    ranges[i] = { lo: bottom, hi };
    bottom = hi;
  }
  ranges[0] = { lo: bottom, hi: top };
  return ranges;
}
