// Events of the controller process itself (src/app/controller.ts).
import { z } from 'zod';
import { count, defineEvent, str } from './define.ts';

export const controllerEvents = [
  defineEvent({
    type: 'controller.started',
    owner: 'controller',
    meaning: 'a controller process started with a config file and listens on an address (holder, token: it leads, with this fencing token)',
    data: z.strictObject({
      pid: count,
      config: str,
      listen: str,
      /** with a PostgreSQL store and leader election: this controller's id, its fencing token, the store */
      holder: str.optional(),
      token: count.optional(),
      store: str.optional(),
    }),
  }),
  defineEvent({
    type: 'controller.stopped',
    owner: 'controller',
    meaning: 'the controller stopped (stoppedAll: it stopped the routers and instances too)',
    data: z.strictObject({ pid: count, stoppedAll: z.boolean() }),
  }),
] as const;
