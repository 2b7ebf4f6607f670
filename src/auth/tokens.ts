// API tokens: "glt_<id>_<secret>". The id (public, 16 hex) names the token in events and in
// revocation; the secret (256 random bits) is shown once and only its SHA-256 is kept: with that
// much entropy a slow hash adds nothing, and the digest in the log reveals nothing usable.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface NewToken {
  id: string;
  /** the whole token, to show once */
  token: string;
  sha256: string;
}

export function newToken(): NewToken {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `glt_${id}_${secret}`, sha256: digest(secret) };
}

export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = /^glt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function digestMatches(secret: string, sha256: string): boolean {
  const a = Buffer.from(digest(secret), 'hex');
  const b = Buffer.from(sha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
