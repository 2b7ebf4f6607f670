// The schemas other modules own, gathered in one place so config/schema.ts reads as the file's
// outline. Each module exports its schema next to its registry.
import { checkSpecSchema } from '../checks/registry.ts';
import { dependencySourceSchema } from '../checks/compatibility/sources.ts';
import { targetConfigSchema } from '../targets/registry.ts';
import { rolloutSchema } from '../rollout/schema.ts';
import { monitorsSchema, slosSchema } from '../monitor/schema.ts';
import { alertingConfigSchema } from '../alerting/schema.ts';
import { drillsConfigSchema } from '../drills/schema.ts';
import { auditConfigSchema } from '../audit/schema.ts';
import { accessConfigSchema } from '../auth/schema.ts';
import { releasesSchema } from '../releases/artifact.ts';
import { storeConfigSchema } from '../store/registry.ts';
import { changesSchema } from '../changes/schema.ts';
import { trafficConfigSchema } from '../traffic/registry.ts';

export const componentSchemas = {
  target: targetConfigSchema,
  dependencySource: dependencySourceSchema,
  check: checkSpecSchema,
  rollout: rolloutSchema,
  monitors: monitorsSchema,
  slos: slosSchema,
  alerting: alertingConfigSchema,
  drills: drillsConfigSchema,
  audit: auditConfigSchema,
  access: accessConfigSchema,
  releases: releasesSchema,
  store: storeConfigSchema,
  changes: changesSchema,
  traffic: trafficConfigSchema,
};
