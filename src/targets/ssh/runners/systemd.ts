// `supervisor: systemd`: one systemd unit per instance, /etc/systemd/system/greenlight-<id>.service
// (the id is <service>-<random>, so the unit is found from the record's id alone, after a
// controller restart too), written atomically, enabled and started.
// Why the unit runs Greenlight's supervisor as its main process instead of the instance itself:
// Debian 12's systemd 252 has no exponential restart back-off (RestartSteps= came in 254), and
// one supervisor on every host keeps one event stream, the doubling back-off and the graceful
// stop the controller already understands. systemd keeps the supervisor itself alive and starts
// it at boot:
// - Restart=on-failure, not always: the supervisor exits 0 only when it is done on purpose (stopped,
//   or the instance exited before it was armed); killed by a signal (kill -9), it is started again,
//   and its instance with it (the old one dies with the unit's cgroup, so two never share a port);
//   StartLimitIntervalSec=0 so systemd never gives up, RestartSec=1 bounds the rate;
// - KillMode=mixed: a stop sends SIGTERM to the supervisor only, which drains its instance (TERM to
//   its process group, SIGKILL after stop_grace) and reports the stop; systemd's SIGKILL to what is
//   left comes after TimeoutStopSec = the grace plus a slack, when the supervisor is done anyway;
// - WantedBy=multi-user.target: started at boot; the `armed` file in the instance directory
//   persists, so after a reboot the supervisor restarts its instance on a crash as before.
import { GreenlightError } from '../../../errors/errors.ts';
import { shq } from '../connection.ts';
import { parseAlive, runScript, stageRunScript, supervisorArgs, type Alive, type InstanceRunner, type LaunchOptions, type RunnerHost } from './runner.ts';

/** after the grace, how long the supervisor has to report before systemd kills what is left */
export const STOP_SLACK_MS = 5000;
const UNIT_DIR = '/etc/systemd/system';

export function unitName(id: string): string {
  return `greenlight-${id}.service`;
}

/** a word of a unit file's ExecStart= (systemd's own quoting, and its % and $ expansions escaped) */
function unitWord(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/** a value on one line of a unit file */
function unitLine(s: string): string {
  return s.replace(/[\r\n]/g, ' ').replace(/%/g, '%%');
}

export function unitFile(host: RunnerHost, opts: LaunchOptions): string {
  const d = opts.describe;
  return [
    `# Written by Greenlight (ssh target) for instance ${unitLine(opts.id)}; removed when the instance is stopped.`,
    '[Unit]',
    `Description=${unitLine(`Greenlight ${d.service}@${d.version} (${d.environment}) instance ${opts.id}`)}`,
    'After=network.target',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `User=${unitLine(host.host.user)}`,
    `ExecStart=/bin/sh ${supervisorArgs(host, opts).map(unitWord).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=1',
    'KillMode=mixed',
    `TimeoutStopSec=${opts.graceMs + STOP_SLACK_MS}ms`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** the commands a user other than root runs through `sudo -n` (detect.ts checks sudo allows each) */
export const SUDO_COMMANDS = ['systemctl', 'tee', 'mv', 'rm'];

export class SystemdRunner implements InstanceRunner {
  readonly kind = 'systemd';
  private readonly h: RunnerHost;
  /**
   * prefix of every systemctl and of what writes the unit directory: system units are root's, so
   * any other SSH user goes through sudo (systemctl as root also needs no D-Bus: it talks to
   * systemd's private socket)
   */
  private readonly S: string;

  constructor(host: RunnerHost) {
    this.h = host;
    this.S = host.host.user === 'root' ? '' : 'sudo -n ';
  }

  private paths(id: string) {
    const unit = unitName(id);
    return { unit, file: `${UNIT_DIR}/${unit}`, tmp: `${UNIT_DIR}/.${unit}.tmp`, idir: this.h.instanceDir(id) };
  }

  async launch(opts: LaunchOptions): Promise<number> {
    await this.h.prepare();
    const p = this.paths(opts.id);
    const q = shq;
    const S = this.S;
    // written under a name systemd ignores, then renamed: a unit file is never seen half written;
    // a unit that cannot be started is removed again, so none is left for the next boot
    const r = await this.h.conn.exec(
      `${stageRunScript(this.h, opts.id, q)} && ` +
        `printf '%s' ${q(unitFile(this.h, opts))} | ${S}tee ${q(p.tmp)} >/dev/null && ${S}mv -f ${q(p.tmp)} ${q(p.file)} && ` +
        `{ ${S}systemctl daemon-reload && ${S}systemctl enable --now --quiet ${q(p.unit)} && ${S}systemctl show -p MainPID --value ${q(p.unit)} || ` +
        `{ code=$?; ${S}systemctl disable --now --quiet ${q(p.unit)} 2>/dev/null; ${S}rm -f ${q(p.file)}; ${S}systemctl daemon-reload; exit $code; }; }`,
      { stdin: runScript(this.h, opts, shq), timeoutMs: 30_000, check: false },
    );
    if (r.code !== 0) {
      throw new GreenlightError('HOST_COMMAND_FAILED', `host ${this.h.host.name}: systemd could not start ${p.unit} (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}; its unit file was removed again`, {
        retryable: true,
        hint: `on ${this.h.host.name}, see systemctl status ${p.unit} and journalctl -u ${p.unit}; or set supervisor: greenlight for this host`,
        data: { host: this.h.host.name, unit: p.unit },
      });
    }
    return Number(r.stdout.trim().split('\n').pop());
  }

  async alive(id: string): Promise<Alive | undefined> {
    const p = this.paths(id);
    const q = shq;
    const S = this.S;
    // ours: the unit runs this directory's instance; alive also while systemd starts the supervisor
    // again, and while the host boots (sshd may answer before the enabled units are started)
    const r = await this.h.conn.exec(
      `grep -qF -- ${q(p.idir)} ${q(p.file)} 2>/dev/null || exit 0; ` +
        `case "$(${S}systemctl show -p ActiveState --value ${q(p.unit)})" in active|activating|deactivating|reloading) echo "$(${S}systemctl show -p MainPID --value ${q(p.unit)}) $(cat ${q(p.idir + '/child.pid')} 2>/dev/null)";; ` +
        `*) case "$(${S}systemctl is-system-running 2>/dev/null)" in initializing|starting) ${S}systemctl is-enabled --quiet ${q(p.unit)} && echo "0 0";; esac;; esac; true`,
      { timeoutMs: 10_000 },
    );
    return parseAlive(r.stdout);
  }

  async requestStop(id: string): Promise<void> {
    // --no-block: the controller waits for the supervisor's "stopped" line itself, within the grace
    await this.h.conn.exec(`${this.S}systemctl stop --no-block ${shq(this.paths(id).unit)} 2>/dev/null; true`, { timeoutMs: 10_000, check: false });
  }

  async kill(id: string): Promise<void> {
    const u = shq(this.paths(id).unit);
    // the stop after the kill cancels the restart systemd would schedule for a killed supervisor
    const S = this.S;
    await this.h.conn.exec(`${S}systemctl kill --signal=SIGKILL ${u} 2>/dev/null; ${S}systemctl stop ${u} 2>/dev/null; true`, { timeoutMs: 30_000, check: false });
  }

  async remove(id: string): Promise<void> {
    const p = this.paths(id);
    const q = shq;
    const S = this.S;
    await this.h.conn.exec(
      `${S}systemctl disable --now --quiet ${q(p.unit)} 2>/dev/null; ${S}rm -f ${q(p.file)}; rm -f ${q(p.idir + '/armed')} ${q(p.idir + '/run.sh')}; ` +
        `${S}systemctl daemon-reload; ${S}systemctl reset-failed ${q(p.unit)} 2>/dev/null; true`,
      { timeoutMs: 30_000, check: false },
    );
  }
}
