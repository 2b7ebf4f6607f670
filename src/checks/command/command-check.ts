// A command check runs a program (a smoke test, a migration dry run, a contract test) and passes
// when it exits with the expected code. It learns about the deployment from GREENLIGHT_* variables.
import path from 'node:path';
import { z } from 'zod';
import { phaseSchema, type Check, type CheckContext, type CheckResult } from '../check.ts';
import { duration, formatDuration } from '../../config/duration.ts';
import { CommandStartError, describeCommand, runCommand, type CommandRun } from './process.ts';

export const commandCheckSchema = z.strictObject({
  kind: z.literal('command'),
  phase: phaseSchema.optional().describe('default pre'),
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe('a string runs through /bin/sh -c; an array runs the program directly'),
  cwd: z.string().min(1).optional().describe('"artifact" (the release\'s unpacked artifact) or a directory'),
  env: z.record(z.string(), z.string()).optional(),
  expect_exit: z.number().int().min(0).max(255).optional().describe('default 0'),
  timeout: duration.optional().describe('default 30s; on timeout the whole process group is killed'),
});

export type CommandCheckSpec = z.infer<typeof commandCheckSchema>;

const outputBytes = 4096;
const killGraceMs = 1000;

export function createCommandCheck(name: string, spec: CommandCheckSpec): Check {
  const timeoutMs = spec.timeout ?? 30_000;
  const expectExit = spec.expect_exit ?? 0;
  const shown = describeCommand(spec.command);
  return {
    name,
    kind: 'command',
    phase: spec.phase ?? 'pre',
    budgetMs: timeoutMs + killGraceMs + 500,
    async run(ctx: CheckContext): Promise<CheckResult> {
      const started = ctx.clock.now();
      const result = (verdict: CheckResult['verdict'], message: string, details: Record<string, unknown>): CheckResult => ({
        name,
        kind: 'command',
        verdict,
        message,
        durationMs: ctx.clock.now() - started,
        details: { command: spec.command, ...details },
      });

      let cwd: string | undefined;
      if (spec.cwd === 'artifact') {
        if (!ctx.release.artifactPath) {
          return result('error', `check ${name} runs in the release artifact, but no artifact path is known for ${ctx.service}@${ctx.release.version}`, { cwd: 'artifact' });
        }
        cwd = ctx.release.artifactPath;
      } else if (spec.cwd !== undefined) {
        cwd = path.resolve(spec.cwd);
      }

      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...spec.env,
        GREENLIGHT_ENVIRONMENT: ctx.environment,
        GREENLIGHT_SERVICE: ctx.service,
        GREENLIGHT_VERSION: ctx.release.version,
        GREENLIGHT_DIGEST: ctx.release.digest,
        GREENLIGHT_ROUTER_URL: ctx.routerUrl ?? '',
        // space-separated so a shell script can `for url in $GREENLIGHT_INSTANCE_URLS`
        GREENLIGHT_INSTANCE_URLS: ctx.instanceUrls.join(' '),
      };

      let run: CommandRun;
      try {
        run = await runCommand({ command: spec.command, cwd, env, timeoutMs, clock: ctx.clock, signal: ctx.signal, outputBytes, killGraceMs });
      } catch (err) {
        if (err instanceof CommandStartError) return result('error', err.message, { cwd });
        if (ctx.signal?.aborted) return result('error', `${shown} was cancelled before it started`, { cwd });
        throw err;
      }

      const details = {
        cwd,
        exitCode: run.exitCode,
        exitSignal: run.exitSignal,
        stdout: run.stdout.text(),
        stderr: run.stderr.text(),
        stdoutTruncated: run.stdout.truncated,
        stderrTruncated: run.stderr.truncated,
        timedOut: run.timedOut,
      };
      const tail = lastLine(run.stderr.text()) ?? lastLine(run.stdout.text());
      const said = tail ? `; last output: ${tail}` : '';

      if (run.timedOut) {
        return result('error', `${shown} did not finish within ${formatDuration(timeoutMs)}; it and every process it started were killed`, details);
      }
      if (run.aborted) {
        return result('error', `${shown} was cancelled; it and every process it started were killed`, details);
      }
      if (run.exitSignal) {
        return result('fail', `${shown} was killed by ${run.exitSignal}${said}`, details);
      }
      if (run.exitCode === expectExit) {
        return result('pass', `${shown} exited with ${expectExit}`, details);
      }
      // 126/127 come from the shell itself: the command was never run, so nothing was verified.
      if (typeof spec.command === 'string' && (run.exitCode === 126 || run.exitCode === 127) && expectExit !== run.exitCode) {
        return result('error', `${shown} could not be run by the shell (exit ${run.exitCode}${run.exitCode === 127 ? ', command not found' : ', not executable'})${said}`, details);
      }
      return result('fail', `${shown} exited with ${run.exitCode}, expected ${expectExit}${said}`, details);
    },
  };
}

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines.at(-1);
  return last === undefined ? undefined : last.length > 200 ? `${last.slice(0, 200)}…` : last;
}
