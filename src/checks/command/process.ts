// Runs a check command in its own process group so a timeout (or a cancelled deployment) can kill
// everything it started, not just the shell: a smoke-test script that forks a browser or a
// `sleep` must not outlive the check. Output is kept as a bounded tail: the end of a failing
// script's output is what explains it, and an endless logger must not grow our memory.
import { spawn } from 'node:child_process';
import type { Clock } from '../../clock/clock.ts';

export class OutputTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  totalBytes = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.kept - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.kept -= excess;
      }
    }
  }

  get truncated(): boolean {
    return this.totalBytes > this.kept;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface RunCommandOptions {
  /** a string runs through /bin/sh -c; an array runs the program directly */
  command: string | string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  clock: Clock;
  signal?: AbortSignal;
  /** bytes of stdout and of stderr kept (the last ones) */
  outputBytes?: number;
  /** after SIGTERM on timeout, how long before SIGKILL */
  killGraceMs?: number;
}

export interface CommandRun {
  exitCode: number | null;
  /** the signal that ended the process, if one did */
  exitSignal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  stdout: OutputTail;
  stderr: OutputTail;
  pid: number;
  durationMs: number;
}

/** The program could not be started at all (not found, not executable, bad cwd). */
export class CommandStartError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, cause: unknown) {
    super(message, { cause });
    this.name = 'CommandStartError';
    this.code = code;
  }
}

export function describeCommand(command: string | string[]): string {
  return typeof command === 'string' ? command : command.map((a) => (/[\s"'$\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

export function runCommand(opts: RunCommandOptions): Promise<CommandRun> {
  const [file, args] = typeof opts.command === 'string' ? ['/bin/sh', ['-c', opts.command]] : [opts.command[0]!, opts.command.slice(1)];
  const stdout = new OutputTail(opts.outputBytes ?? 4096);
  const stderr = new OutputTail(opts.outputBytes ?? 4096);
  const grace = opts.killGraceMs ?? 1000;
  const started = opts.clock.now();

  return new Promise<CommandRun>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason);
      return;
    }
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    let aborted = false;
    let exited = false;
    let settled = false;
    let killTimer: { cancel(): void } | undefined;

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone, which is what we want
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      killTimer = opts.clock.setTimeout(() => killGroup('SIGKILL'), grace);
    };
    const timer = opts.clock.setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));

    const cleanup = () => {
      timer.cancel();
      killTimer?.cancel();
      opts.signal?.removeEventListener('abort', onAbort);
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      if (exited || settled) return;
      settled = true;
      cleanup();
      const where = opts.cwd ? ` in ${opts.cwd}` : '';
      reject(new CommandStartError(`could not start ${describeCommand(opts.command)}${where}: ${err.code ?? err.message}`, err.code, err));
    });

    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    const finish = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve({ exitCode, exitSignal, timedOut, aborted, stdout, stderr, pid: child.pid ?? -1, durationMs: opts.clock.now() - started });
    };

    child.on('exit', (code, sig) => {
      exited = true;
      exitCode = code;
      exitSignal = sig;
      // Whatever the command left running in its group (background jobs) goes with it; otherwise
      // it would hold our pipes open and outlive the check.
      killGroup('SIGKILL');
      // Pipes close once every writer is gone; don't wait forever on one that escaped the group.
      const t = opts.clock.setTimeout(finish, 500);
      child.on('close', () => {
        t.cancel();
        finish();
      });
    });
  });
}
