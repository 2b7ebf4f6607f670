// `supervisor: greenlight`: the supervisor started with setsid + nohup, for hosts without systemd
// (or where its units cannot be managed). It outlives the SSH session and the controller; nothing
// restarts the supervisor itself, nor starts it at boot.
import { shq } from '../connection.ts';
import { parseAlive, runScript, stageRunScript, supervisorArgs, type Alive, type InstanceRunner, type LaunchOptions, type RunnerHost } from './runner.ts';

export class SupervisorRunner implements InstanceRunner {
  readonly kind = 'greenlight';
  private readonly h: RunnerHost;

  constructor(host: RunnerHost) {
    this.h = host;
  }

  async launch(opts: LaunchOptions): Promise<number> {
    await this.h.prepare();
    const r = await this.h.conn.exec(
      `${stageRunScript(this.h, opts.id, shq)} && ` +
        // setsid + nohup: the supervisor leaves the SSH session's process group and ignores its hangup
        // (grouped: an asynchronous list would get /dev/null as stdin, and cat would read nothing)
        `{ setsid nohup sh ${supervisorArgs(this.h, opts).map(shq).join(' ')} >/dev/null 2>&1 </dev/null & echo $!; }`,
      { stdin: runScript(this.h, opts, shq), timeoutMs: 15_000 },
    );
    return Number(r.stdout.trim());
  }

  async alive(id: string): Promise<Alive | undefined> {
    const idir = this.h.instanceDir(id);
    const r = await this.h.conn.exec(
      `s=$(cat ${shq(idir + '/supervisor.pid')} 2>/dev/null) && [ -n "$s" ] && kill -0 "$s" 2>/dev/null && tr '\\0' ' ' < /proc/$s/cmdline | grep -qF -- ${shq(id)} && echo "$s $(cat ${shq(idir + '/child.pid')} 2>/dev/null)" || true`,
      { timeoutMs: 10_000 },
    );
    return parseAlive(r.stdout);
  }

  async requestStop(_id: string, supervisorPid: number): Promise<void> {
    if (supervisorPid > 0) await this.h.conn.exec(`kill -TERM ${supervisorPid} 2>/dev/null || true`, { timeoutMs: 10_000 });
  }

  async kill(_id: string, supervisorPid: number, childPid: number): Promise<void> {
    // never `kill -KILL -0`: that is the SSH session's own process group
    const kills = [supervisorPid > 0 ? `kill -KILL ${supervisorPid} 2>/dev/null` : '', childPid > 0 ? `kill -KILL -${childPid} 2>/dev/null` : ''].filter(Boolean);
    await this.h.conn.exec(`${kills.join('; ')}; true`, { timeoutMs: 10_000, check: false });
  }

  async remove(id: string): Promise<void> {
    const idir = this.h.instanceDir(id);
    await this.h.conn.exec(`rm -f ${shq(idir + '/armed')} ${shq(idir + '/run.sh')}; true`, { timeoutMs: 10_000, check: false });
  }
}
