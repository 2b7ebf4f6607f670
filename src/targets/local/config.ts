import { z } from 'zod';
import { duration } from '../../config/duration.ts';

// "2s" in YAML, or milliseconds: parsing an already-parsed config gives the same config
const ms = z.union([z.int().min(0), duration]);

/** `target: { kind: local, ... }` in an environment of greenlight.yaml */
export const localTargetConfigSchema = z.strictObject({
  kind: z.literal('local'),
  /** instances get ports from this inclusive range; ports in use by others are skipped */
  port_range: z
    .tuple([z.int().min(1024).max(65535), z.int().min(1024).max(65535)])
    .refine(([from, to]) => from <= to, { message: 'port_range: the first port must not exceed the second' })
    .default([41000, 41999]),
  /** back-off between restarts of a crashed instance: doubles from initial up to max */
  restart_backoff: z
    .strictObject({
      initial: ms.default(1000),
      max: ms.default(30_000),
      /** a restarted instance ready for this long starts again from the initial delay */
      reset_after: ms.default(60_000),
    })
    .default({ initial: 1000, max: 30_000, reset_after: 60_000 }),
  /** how often adopted instances (not our children) are checked for being alive */
  liveness_interval: ms.default(1000),
});

export type LocalTargetConfig = z.output<typeof localTargetConfigSchema>;

export const localTargetDefaults: LocalTargetConfig = localTargetConfigSchema.parse({ kind: 'local' });
