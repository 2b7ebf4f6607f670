// `changes:` in greenlight.yaml: declared changes of the hosts themselves (the kind of change of
// 3 June: upgrading the third-party software on the servers). Each has an apply, a verify and an
// undo, and goes host by host through the same pipeline as a release.
import { z } from 'zod';
import { duration } from '../config/duration.ts';

const ms = z.union([z.int().min(0), duration]);

export const changeSchema = z
  .strictObject({
    description: z.string().optional(),
    /** run on each host over SSH (through /bin/sh) */
    apply: z.string().min(1),
    /** how a host is known to be fine after apply: a command that exits 0, or an HTTP check on the host */
    verify: z.union([
      z.strictObject({ command: z.string().min(1), timeout: ms.default(10_000) }),
      z.strictObject({
        /** {address} and {host} are the host's */
        http: z.string().regex(/^https?:\/\/\S+$/, { message: 'expected an http:// URL; {address} is the host address' }),
        status: z.int().min(100).max(599).default(200),
        body_contains: z.string().optional(),
        timeout: ms.default(5000),
      }),
    ]),
    /** puts a host back when its verify fails */
    undo: z.string().min(1),
    waves: z
      .strictObject({
        /** hosts changed together in one wave */
        batch_size: z.int().min(1).default(1),
        /** hosts out of the router at the same time (a wave is cut to this) */
        max_unavailable: z.int().min(1).default(1),
      })
      .default({ batch_size: 1, max_unavailable: 1 }),
    /** only hosts with all these labels */
    hosts: z.record(z.string(), z.string()).default({}),
    /** time each command may take on a host */
    timeout: ms.default(120_000),
  });

export const changesSchema = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'change names use letters, digits, ".", "_" and "-"'), changeSchema).default({});

export type ChangeSpec = z.output<typeof changeSchema>;
