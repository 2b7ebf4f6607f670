import { spawn } from 'node:child_process';
import { openSync, closeSync, fstatSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { startController } from '../../app/controller.ts';
import { secureStateDir } from '../../app/state-dir.ts';
import { dashboardUrl } from '../../api/dashboard.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { configOf, globals } from '../context.ts';
import { ApiClient } from '../client.ts';
import { urlOf } from '../../app/free-port.ts';
import { color, printJson } from '../output.ts';

const bin = fileURLToPath(new URL('../../../bin/greenlight.js', import.meta.url));

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start the controller: API, routers of every environment, supervision of instances')
    .option('--detach', 'run in the background (logs in <state_dir>/controller.log) and return once it answers')
    .option('--listen <host:port>', 'API address of this controller instead of controller.listen (several controllers of one PostgreSQL store on one machine)')
    .addOption(new Option('--rejoin', 'internal: the restart of a deposed leader; waits for the store, then serves as a standby').hideHelp())
    .action(async function (this: Command, opts: { detach?: boolean; listen?: string; rejoin?: boolean }) {
      const g = globals(this);
      const loaded = configOf(this);
      for (const w of loaded.warnings) process.stderr.write(`${color.yellow('warning:')} ${w}\n`);
      if (opts.detach) {
        for (const w of secureStateDir(loaded.stateDir)) process.stderr.write(`${color.yellow('warning:')} ${w}\n`);
        const logFile = join(loaded.stateDir, opts.listen ? `controller-${opts.listen.replace(/[^0-9A-Za-z.]/g, '_')}.log` : 'controller.log');
        const fd = openSync(logFile, 'a', 0o600);
        const logStart = fstatSync(fd).size;
        const child = spawn(process.execPath, [bin, '--config', loaded.file, 'up', ...(opts.listen ? ['--listen', opts.listen] : [])], { detached: true, stdio: ['ignore', fd, fd], env: process.env });
        closeSync(fd);
        child.unref();
        const started = Date.now();
        for (;;) {
          if (child.exitCode !== null) throw startFailure(logFile, logStart, child.exitCode);
          try {
            // this controller itself (leader or standby), not whichever leads
            const base = opts.listen ? `http://${opts.listen}` : (process.env.GREENLIGHT_URL ?? urlOf(loaded.config.controller.listen));
            const client = new ApiClient(base, process.env.GREENLIGHT_TOKEN ?? readFileSync(join(loaded.stateDir, 'token'), 'utf8').trim());
            const st = await client.request<{ controller: { role?: string } }>('GET', '/v1/status', undefined, 5000);
            if (st.controller.role === 'starting') throw new Error('still starting');
            const token = process.env.GREENLIGHT_TOKEN ?? readFileSync(join(loaded.stateDir, 'token'), 'utf8').trim();
            if (g.json) printJson({ started: true, pid: child.pid, url: client.base, log: logFile, dashboard: dashboardUrl(client.base, token) });
            else console.log(`controller running (pid ${child.pid}) at ${client.base}; log: ${logFile}\ndashboard: ${dashboardUrl(client.base, token)}`);
            return;
          } catch {
            if (Date.now() - started > 30_000) throw new GreenlightError('INTERNAL', 'the controller did not answer within 30 s', { hint: `see ${logFile}` });
            await new Promise((r) => setTimeout(r, 150));
          }
        }
      }
      const controller = await startController({
        configPath: loaded.file,
        log: (l) => console.log(color.dim(l)),
        ...(opts.listen ? { listen: opts.listen } : {}),
        ...(opts.rejoin ? { waitForStore: true } : {}),
        // Fail-stop: a leader that lost its lease exits at once (its timers and rollouts die with
        // it, so nothing acts on a stale view), and a fresh process takes its place as a standby,
        // waiting for the store while a partition lasts. A restart rather than a demotion in
        // place: every piece of in-memory leader state is gone for sure.
        onLeadershipLost: (why) => {
          console.error(`greenlight controller: leadership lost (${why}); exiting so nothing acts on a stale view, and restarting as a standby`);
          const args = process.argv.slice(1).filter((a) => a !== '--rejoin');
          const child = spawn(process.execPath, [...process.execArgv, ...args, '--rejoin'], { detached: true, stdio: 'inherit', env: process.env });
          child.unref();
          process.exit(4);
        },
      });
      console.log(`${color.green('greenlight controller')} listening on ${controller.url} as ${controller.role()} (token in ${join(loaded.stateDir, 'token')})`);
      console.log(`dashboard: ${dashboardUrl(controller.url, controller.token)}`);
      let stopping = false;
      const stop = async (stopAll: boolean) => {
        if (stopping) return;
        stopping = true;
        await controller.stop({ stopAll });
        console.log(stopAll ? 'controller stopped; routers and instances stopped' : 'controller stopped; routers and instances keep serving');
        process.exit(0);
      };
      controller.onShutdown = (stopAll) => void stop(stopAll);
      process.on('SIGINT', () => void stop(false));
      process.on('SIGTERM', () => void stop(false));
      await new Promise(() => undefined);
    });

  program
    .command('down')
    .description('stop the controller; with --all, also the routers and every instance')
    .option('--all', 'stop routers and instances too (traffic stops)')
    .action(async function (this: Command, opts: { all?: boolean }) {
      const client = ApiClient.fromConfig(configOf(this));
      // The controller closes its API first and stops routers and instances after: gone from the
      // API is not done. Its pid (on this machine) is what `down` waits for, or a script that removes
      // the state directory next leaves the routers running (they are found through it).
      const pid = await client.request<{ controller?: { pid?: unknown } }>('GET', '/v1/status').then((s) => (typeof s.controller?.pid === 'number' ? s.controller.pid : undefined), () => undefined);
      const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(client.base).hostname);
      await client.request('POST', '/v1/shutdown', { stopAll: !!opts.all });
      // Wait until it is gone, so a script can rely on `down` having finished.
      const until = Date.now() + 60_000;
      let gone = false;
      while (!gone && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        // this address itself, not the leader the client would follow to
        gone = await fetch(`${client.base}/v1/health`, { signal: AbortSignal.timeout(1000) }).then(() => false, () => true);
      }
      if (!gone) throw new GreenlightError('INTERNAL', 'the controller is still answering 60 s after it was asked to stop', { hint: 'see <state_dir>/controller.log' });
      const alive = (p: number) => {
        try {
          return process.kill(p, 0);
        } catch (err) {
          return (err as NodeJS.ErrnoException).code === 'EPERM';
        }
      };
      if (pid !== undefined && local) {
        const exitBy = Date.now() + 120_000;
        while (alive(pid) && Date.now() < exitBy) await new Promise((r) => setTimeout(r, 100));
        if (alive(pid)) throw new GreenlightError('INTERNAL', `the controller (pid ${pid}) stopped answering but has not exited 120 s later${opts.all ? ': routers or instances may still run' : ''}`, { hint: 'see <state_dir>/controller.log; greenlight down --all again once it is gone, or stop the pid' });
      }
      if (globals(this).json) printJson({ stopped: true, all: !!opts.all });
      else console.log(opts.all ? 'controller, routers and instances stopped' : 'controller stopped (routers and instances keep serving)');
    });
}

/**
 * What the detached controller said before it exited (its error and hint, as `up` in the
 * foreground would print them), rather than only its exit code.
 */
function startFailure(logFile: string, from: number, exitCode: number): GreenlightError {
  let text = '';
  try {
    const fd = openSync(logFile, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(fd, buf, 0, buf.length, from);
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    /* no log to quote */
  }
  const at = text.lastIndexOf('error:');
  const said = (at >= 0 ? text.slice(at + 'error:'.length) : text.trim().split('\n').slice(-5).join('\n')).trim();
  const hintAt = said.indexOf('\n  hint:');
  const message = (hintAt >= 0 ? said.slice(0, hintAt) : said).trim();
  const hint = hintAt >= 0 ? said.slice(hintAt + '\n  hint:'.length).trim() : '';
  return new GreenlightError(exitCode === 2 ? 'USAGE' : 'INTERNAL', `the controller did not start${message ? `: ${message}` : ` (exit code ${exitCode})`}`, {
    hint: `${hint ? `${hint}; ` : ''}the full log is ${logFile}`,
  });
}
