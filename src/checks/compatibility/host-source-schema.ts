// The schemas of the per-host dependency sources (read by host-sources.ts), apart so that
// sources.ts can put them in its union without an import cycle.
import semver from 'semver';
import { z } from 'zod';
import { duration } from '../../config/duration.ts';

const desiredField = z.string().refine((v) => semver.valid(v) !== null, { message: 'desired must be a semver version, e.g. 3.1.0' }).optional().describe('the version every host should run; a host that differs is drift');

export const hostCommandSourceSchema = z.strictObject({
  kind: z.literal('host_command'),
  command: z.string().min(1).describe('run through /bin/sh on each host over SSH; prints the version'),
  match: z.string().optional().describe('a regular expression whose first group is the version'),
  timeout: duration.optional().describe('default 5s'),
  loose: z.boolean().optional(),
  desired: desiredField,
});

export const hostHttpSourceSchema = z.strictObject({
  kind: z.literal('host_http'),
  url: z.string().regex(/^https?:\/\/\S+$/, { message: 'expected an http:// or https:// URL; {address} is the host address' }),
  field: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeout: duration.optional().describe('default 5s'),
  loose: z.boolean().optional(),
  desired: desiredField,
});

export type HostCommandSourceSpec = z.infer<typeof hostCommandSourceSchema>;
export type HostHttpSourceSpec = z.infer<typeof hostHttpSourceSchema>;
export type HostDependencySource = HostCommandSourceSpec | HostHttpSourceSpec;

