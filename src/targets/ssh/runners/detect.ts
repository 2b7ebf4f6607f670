// Which runner a host gets (`supervisor:` of the ssh target, or of the host): `auto` takes systemd
// where the host runs it and the SSH user can manage its system units (root, or another user whom
// sudo -n allows what the units need), else Greenlight's own supervisor; an explicit `systemd` on
// a host that cannot is an error naming the host.
import { GreenlightError } from '../../../errors/errors.ts';
import type { InstanceRunner, RunnerHost, SupervisorKind } from './runner.ts';
import { SupervisorRunner } from './supervisor.ts';
import { SUDO_COMMANDS, SystemdRunner } from './systemd.ts';

export type SupervisorSetting = 'auto' | SupervisorKind;

export interface SupervisorChoice {
  kind: SupervisorKind;
  requested: SupervisorSetting;
  /** why, for the event and `greenlight inventory` */
  reason: string;
}

/** systemd states in which it manages units (degraded: some unit failed, systemd itself works) */
const USABLE = new Set(['running', 'degraded']);

/**
 * One round trip: is /run/systemd/system there (systemd is PID 1), what systemd says, who we are,
 * and (for another user than root) whether sudo -n allows each command the unit needs, without
 * running them (sudo -l <command>).
 */
const probe = (root: boolean) =>
  (root ? '' : `if command -v sudo >/dev/null 2>&1; then for c in ${SUDO_COMMANDS.join(' ')}; do sudo -n -l "$c" >/dev/null 2>&1 || { echo "sudo refuses $c"; break; }; done; else echo "sudo refuses anything: sudo is not installed"; fi; `) +
  `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo "systemd $(${root ? '' : 'sudo -n '}systemctl is-system-running 2>/dev/null || true)"; else echo "systemd absent"; fi; echo "uid $(id -u)"`;

export async function chooseSupervisor(host: RunnerHost, requested: SupervisorSetting): Promise<SupervisorChoice> {
  if (requested === 'greenlight') return { kind: 'greenlight', requested, reason: 'configured (supervisor: greenlight)' };
  // root connects as root; any other user (the runner prefixes sudo -n) needs sudo to allow each command
  const root = host.host.user === 'root';
  const r = await host.conn.exec(probe(root), { timeoutMs: 15_000 });
  const state = /^systemd (.*)$/m.exec(r.stdout)?.[1]?.trim() ?? 'absent';
  const uid = Number(/^uid (\d+)$/m.exec(r.stdout)?.[1] ?? -1);
  const refused = /^sudo refuses (.*)$/m.exec(r.stdout)?.[1];
  let unusable: string | undefined;
  if (state === 'absent') unusable = 'it does not run systemd (no /run/systemd/system)';
  else if (!root && refused !== undefined) unusable = `the SSH user ${host.host.user} is not root and sudo -n does not allow ${refused} (system units need root)`;
  else if (!USABLE.has(state)) unusable = `its systemd is "${state || 'unknown'}", not running or degraded`;
  else if (root && uid !== 0) unusable = `the SSH user root has uid ${uid}`;
  if (!unusable) return { kind: 'systemd', requested, reason: `systemd is ${state} and ${host.host.user} manages its units${root ? '' : ' with sudo -n'}` };
  if (requested === 'auto') return { kind: 'greenlight', requested, reason: `Greenlight's supervisor: ${unusable}` };
  throw new GreenlightError('CONFIG_INVALID', `host ${host.host.name} is configured with supervisor: systemd, but ${unusable}`, {
    hint: `set supervisor: auto (or greenlight) for ${host.host.name}, or fix systemd on it (systemctl is-system-running) and connect as root or as a user sudo lets run ${SUDO_COMMANDS.join(', ')} without a password`,
    data: { host: host.host.name, systemd: state, uid },
  });
}

export function runnerFor(host: RunnerHost, kind: SupervisorKind): InstanceRunner {
  return kind === 'systemd' ? new SystemdRunner(host) : new SupervisorRunner(host);
}
