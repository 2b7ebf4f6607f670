// Events of hosts reached over SSH (src/targets/ssh): keys, clocks, how instances are kept alive
// there and the artifacts they hold.
import { z } from 'zod';
import { count, defineEvent, nonEmpty, num, str } from './define.ts';

const owner = 'host';
const host = { host: nonEmpty };

export const hostEvents = [
  defineEvent({
    type: 'host.key_accepted',
    owner,
    meaning: 'an unknown host key was accepted and recorded (accept_new), with its fingerprint',
    data: z.strictObject({ ...host, address: str, port: count, fingerprint: str, keyType: str.optional(), knownHosts: str.optional() }),
  }),
  defineEvent({
    type: 'host.clock_skew',
    owner,
    meaning: 'a host\'s clock is further from the controller\'s than max_clock_skew',
    data: z.strictObject({ ...host, skewMs: num, maxMs: num }),
  }),
  defineEvent({
    type: 'host.unreachable',
    owner,
    meaning: 'the SSH connection to a host dropped (or could not be reopened): its instances are out of rotation until it is back',
    data: z.strictObject({ ...host, address: str, reason: str, instances: count }),
  }),
  defineEvent({
    type: 'host.reachable',
    owner,
    meaning: 'a host that was unreachable answers over SSH again: its instances still running are back in rotation',
    data: z.strictObject({ ...host, address: str, downMs: num }),
  }),
  defineEvent({
    type: 'host.supervisor',
    owner,
    meaning: 'how the ssh target keeps instances alive on a host, chosen when it first works there: a systemd unit per instance, or Greenlight\'s supervisor (setsid + nohup)',
    data: z.strictObject({ ...host, supervisor: z.enum(['systemd', 'greenlight']), requested: z.enum(['auto', 'systemd', 'greenlight']), reason: str }),
  }),
  defineEvent({
    type: 'artifact.uploaded',
    owner,
    meaning: 'a release\'s artifact was uploaded to a host (once per digest)',
    data: z.strictObject({ ...host, digest: nonEmpty, bytes: count, ms: num }),
  }),
  defineEvent({
    type: 'artifact.pruned',
    owner,
    meaning: 'old artifacts were removed from a host, beyond its retention',
    data: z.strictObject({ ...host, digests: z.array(str), retention: count }),
  }),
] as const;
