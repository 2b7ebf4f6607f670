// Events of the fleet's inventory (src/fleet, src/app/fleet-ops.ts): what each host runs.
import { z } from 'zod';
import { count, defineEvent, nonEmpty, str } from './define.ts';

const owner = 'inventory';

export const inventoryEvents = [
  defineEvent({
    type: 'inventory.collected',
    owner,
    meaning: 'the inventory of an environment\'s hosts: reachable, OS, third-party versions, releases held and instances running',
    data: z.strictObject({
      environment: nonEmpty,
      hosts: z.array(
        z.strictObject({
          host: str,
          reachable: z.boolean(),
          os: str.nullable(),
          dependencies: z.record(z.string(), str.nullable()),
          releases: count,
          running: count,
          /** how instances are kept alive there (absent in logs of before systemd units) */
          supervisor: z.enum(['systemd', 'greenlight']).optional(),
        }),
      ),
    }),
  }),
  defineEvent({
    type: 'inventory.drift',
    owner,
    meaning: 'hosts of an environment disagree on a dependency\'s version, or differ from the desired one',
    data: z.strictObject({ environment: nonEmpty, dependency: str, desired: str.nullable(), kind: z.enum(['disagree', 'desired']), versions: z.record(z.string(), z.array(str)), message: str }),
  }),
] as const;
