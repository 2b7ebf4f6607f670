// The schemas other modules own, gathered in one place so config/schema.ts reads as the file's
// outline. Each module exports its schema next to its registry.
import { z } from 'zod';
import { checkSpecSchema } from '../checks/registry.ts';
import { dependencySourceSchema } from '../checks/compatibility/sources.ts';
import { targetConfigSchema } from '../targets/registry.ts';
import { rolloutSchema } from '../rollout/schema.ts';

export const componentSchemas = {
  target: targetConfigSchema,
  dependencySource: dependencySourceSchema,
  check: checkSpecSchema,
  rollout: rolloutSchema,
  monitors: z.looseObject({}),
  alerting: z.looseObject({}),
};
