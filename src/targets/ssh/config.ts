import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { duration } from '../../config/duration.ts';

const ms = z.union([z.int().min(0), duration]);
/** how instances are kept alive on a host (src/targets/ssh/runners): auto takes systemd where it can */
const supervisor = z.enum(['auto', 'systemd', 'greenlight']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const sshHostSchema = z.strictObject({
  /** how the host is called in messages, events and `--host` */
  name: z.string().regex(NAME, 'host names use letters, digits, ".", "_" and "-"'),
  /** address the controller connects to, and the router and checks reach instances at */
  address: z.string().min(1),
  port: z.int().min(1).max(65535).default(22),
  user: z.string().min(1).default('root'),
  labels: z.record(z.string(), z.string()).default({}),
  /** Greenlight's directory on this host (releases, instances, logs); default: the target's `dir` */
  dir: z.string().startsWith('/', 'dir must be an absolute path on the host').optional(),
  /** this host's supervisor setting; default: the target's `supervisor` */
  supervisor: supervisor.optional(),
});

/** `target: { kind: ssh, ... }` in an environment of greenlight.yaml */
export const sshTargetConfigSchema = z
  .strictObject({
    kind: z.literal('ssh'),
    hosts: z.array(sshHostSchema).min(1, 'an ssh target needs at least one host'),
    /**
     * systemd: a unit per instance (the host must run systemd, and the SSH user be root); greenlight:
     * Greenlight's supervisor started with setsid + nohup; auto: systemd where the host allows it
     */
    supervisor: supervisor.default('auto'),
    /** Greenlight's directory on every host */
    dir: z.string().startsWith('/', 'dir must be an absolute path on the host').default('/var/lib/greenlight'),
    auth: z
      .strictObject({
        /**
         * private key file (OpenSSH or PEM, unencrypted: there is no passphrase setting; a key with
         * one goes through the agent); default ~/.ssh/id_ed25519 when no agent is used. With agent
         * too, both are offered: the agent's keys first, then this file's (as OpenSSH does)
         */
        key_file: z.string().optional(),
        /** use the SSH agent at $SSH_AUTH_SOCK (or this socket path) */
        agent: z.union([z.boolean(), z.string()]).default(false),
      })
      .default({ agent: false }),
    /** host keys are verified against this file (OpenSSH format) */
    known_hosts: z.string().default(join(homedir(), '.ssh', 'known_hosts')),
    /** added to every instance's environment on the hosts (e.g. PATH where node lives) */
    env: z.record(z.string(), z.string()).default({}),
    /** an unknown host key is recorded (event host.key_accepted) instead of refused */
    accept_new: z.boolean().default(false),
    /** hosts worked on at the same time (uploads, starts) */
    concurrency: z.int().min(1).max(64).default(4),
    connect_timeout: ms.default(5000),
    /** instances get ports from this inclusive range */
    port_range: z
      .tuple([z.int().min(1024).max(65535), z.int().min(1024).max(65535)])
      .refine(([from, to]) => from <= to, { message: 'port_range: the first port must not exceed the second' })
      .default([41000, 41999]),
    /** releases kept on each host besides those running */
    retention: z.int().min(1).default(3),
    /** free space left on the host after an upload, in MiB */
    min_free_mb: z.int().min(0).default(64),
    restart_backoff: z
      .strictObject({ initial: ms.default(1000), max: ms.default(30_000), reset_after: ms.default(60_000) })
      .default({ initial: 1000, max: 30_000, reset_after: 60_000 }),
    /** the controller reads every host's inventory this often (drift is an event and an alert) */
    inventory_interval: ms.default(300_000),
    /** a host's clock this far from the controller's is reported (event host.clock_skew) */
    max_clock_skew: ms.default(2000),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    // one machine under two names would get two supervisors, twice the instances of a wave, and be
    // counted twice against max_unavailable
    const endpoints = new Map<string, string>();
    c.hosts.forEach((h, i) => {
      if (seen.has(h.name)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `host "${h.name}" is listed twice` });
      seen.add(h.name);
      const endpoint = `${h.address.toLowerCase()}:${h.port}`;
      const first = endpoints.get(endpoint);
      if (first !== undefined && first !== h.name) {
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'address'], message: `host "${h.name}" has the address ${h.address}:${h.port} of host "${first}": one server listed under two names`, params: { hint: `list the server once (as "${first}" or "${h.name}"), or fix the address or port of one of them` } });
      } else if (first === undefined) endpoints.set(endpoint, h.name);
    });
  });

export type SshTargetConfig = z.output<typeof sshTargetConfigSchema>;
export type SshHostConfig = z.output<typeof sshHostSchema>;
/** what the target's constructor takes: raw YAML-like input or an already parsed config */
export type SshTargetInput = Omit<z.input<typeof sshTargetConfigSchema>, 'kind'> & { kind?: 'ssh' };
