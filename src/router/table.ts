// The routing table is the only thing the controller tells a router: which versions exist, how
// much traffic each gets, and where their instances listen. The controller builds it; the router
// validates it with the same schema, so a bad table is refused at the boundary with a reason.

import { z } from 'zod';

export interface RoutingTable {
  /** the router refuses (409) a table whose revision is lower than the one it serves */
  revision: number;
  /** weight >= 0, relative (normalised by the sum); upstreams like "http://127.0.0.1:41234" */
  versions: { version: string; weight: number; upstreams: string[] }[];
}

// Version names end up in a cookie value and a response header, so they are restricted to
// characters that need no encoding in either (semver with build metadata fits).
const versionName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/, 'version must be 1-128 characters of A-Z a-z 0-9 . _ + - starting with a letter or digit');

const upstreamUrl = z.string().refine((s) => parseUpstream(s) !== null, {
  message: 'upstream must be http://host:port with no path, e.g. "http://127.0.0.1:41234"',
});

export const routingTableSchema = z
  .object({
    revision: z.number().int().nonnegative(),
    versions: z
      .array(
        z
          .object({
            version: versionName,
            weight: z.number().finite().nonnegative(),
            upstreams: z.array(upstreamUrl).max(1000),
          })
          .strict(),
      )
      .max(100),
  })
  .strict()
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.versions.forEach((v, i) => {
      if (seen.has(v.version)) {
        ctx.addIssue({ code: 'custom', path: ['versions', i, 'version'], message: `version "${v.version}" appears twice` });
      }
      seen.add(v.version);
      if (v.weight > 0 && v.upstreams.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['versions', i, 'upstreams'], message: `version "${v.version}" has weight ${v.weight} but no upstreams` });
      }
    });
  });

export interface ParsedUpstream {
  host: string;
  port: number;
}

/** Parses "http://host:port" (a trailing "/" is tolerated); null when it is anything else. */
export function parseUpstream(s: string): ParsedUpstream | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' || u.username || u.password || u.search || u.hash) return null;
  if (u.pathname !== '/' && u.pathname !== '') return null;
  if (!u.port) return null;
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: Number(u.port) };
}

export type TableValidation = { ok: true; table: RoutingTable } | { ok: false; reason: string };

/** Validates untrusted input; the reason lists every problem with its path. */
export function validateTable(input: unknown): TableValidation {
  const r = routingTableSchema.safeParse(input);
  if (r.success) return { ok: true, table: r.data };
  const reason = r.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(table)'}: ${i.message}`)
    .join('; ');
  return { ok: false, reason };
}

/** Same content, independent of key order; used to accept a repeated PUT of the same revision. */
export function sameTable(a: RoutingTable, b: RoutingTable): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(t: RoutingTable): RoutingTable {
  return {
    revision: t.revision,
    versions: t.versions.map((v) => ({ version: v.version, weight: v.weight, upstreams: [...v.upstreams] })),
  };
}
