// `changes:` in greenlight.yaml: declared changes of the hosts themselves (the kind of change of
// 3 June: upgrading the third-party software on the servers). Each has an apply, a verify and an
// undo, and goes host by host through the same pipeline as a release.
import { z } from 'zod';
import { duration } from '../config/duration.ts';

const ms = z.union([z.int().min(0), duration]);

const VERIFY_FORMS = '{ command: "<exits 0 when the host is fine>" } or { http: "http://{address}:<port>/<path>", status: 200, body_contains: "..." }';

/**
 * The verify is what makes a change safe to roll on (a failed one undoes the host and stops the
 * waves), so a missing or mixed-up one says which two forms there are, not zod's "Invalid input".
 */
function verifyProblem(input: unknown): string {
  if (input === undefined || input === null) return `required: a change needs a verify, ${VERIFY_FORMS}`;
  if (typeof input === 'string') return `verify is an object, not a command line: ${VERIFY_FORMS}`;
  if (typeof input !== 'object' || Array.isArray(input)) return `expected ${VERIFY_FORMS}`;
  const keys = Object.keys(input);
  if (keys.includes('command') && keys.includes('http')) return `verify takes command or http, not both: ${VERIFY_FORMS}`;
  if (keys.includes('command')) {
    const extra = keys.filter((k) => k !== 'command' && k !== 'timeout');
    if (extra.length) return `a command verify takes only command and timeout (not ${extra.join(', ')}): ${VERIFY_FORMS}`;
    return 'verify.command must be a non-empty command line';
  }
  if (keys.includes('http')) return `verify.http: expected an http:// URL ({address} is the host address) with status 100..599, body_contains and timeout: ${VERIFY_FORMS}`;
  return `verify needs command or http${keys.length ? ` (got ${keys.join(', ')})` : ''}: ${VERIFY_FORMS}`;
}

export const changeSchema = z
  .strictObject({
    description: z.string().optional(),
    /** run on each host over SSH (through /bin/sh) */
    apply: z.string().min(1),
    /** how a host is known to be fine after apply: a command that exits 0, or an HTTP check on the host */
    verify: z.union(
      [
        z.strictObject({ command: z.string().min(1), timeout: ms.default(10_000) }),
        z.strictObject({
          /** {address} and {host} are the host's */
          http: z.string().regex(/^https?:\/\/\S+$/, { message: 'expected an http:// URL; {address} is the host address' }),
          status: z.int().min(100).max(599).default(200),
          body_contains: z.string().optional(),
          timeout: ms.default(5000),
        }),
      ],
      { error: (issue) => verifyProblem(issue.input) },
    ),
    /** puts a host back when its verify fails */
    undo: z.string().min(1),
    waves: z
      .strictObject({
        /** hosts changed together in one wave */
        batch_size: z.int().min(1).default(1),
        /**
         * at most this many hosts of the environment out of service at once, counting those already
         * out (unreachable, drained, no ready instance): a wave shrinks to the room left, or waits
         */
        max_unavailable: z.int().min(1).default(1),
        /** how long a wave waits for room under max_unavailable before the change stops in that environment */
        unavailable_timeout: ms.default(120_000),
      })
      .default({ batch_size: 1, max_unavailable: 1, unavailable_timeout: 120_000 }),
    /** only hosts with all these labels */
    hosts: z.record(z.string(), z.string()).default({}),
    /** time each command may take on a host */
    timeout: ms.default(120_000),
  });

export const changesSchema = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'change names use letters, digits, ".", "_" and "-"'), changeSchema).default({});

export type ChangeSpec = z.output<typeof changeSchema>;
