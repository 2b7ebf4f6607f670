import { GreenlightError, exitCodeFor } from '../errors/errors.ts';
import { ConfigError } from '../config/load.ts';

export interface Output {
  json: boolean;
}

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
export const color = {
  green: (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s),
  red: (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s),
  yellow: (s: string) => (tty ? `\x1b[33m${s}\x1b[0m` : s),
  dim: (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s),
  bold: (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s),
};

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints an error the way a person can act on it, and returns the exit code it maps to. */
export function reportError(err: unknown, json: boolean): number {
  const e = err instanceof GreenlightError ? err : new GreenlightError('INTERNAL', err instanceof Error ? err.stack ?? err.message : String(err));
  if (json) {
    process.stdout.write(JSON.stringify({ error: e.toJSON() }, null, 2) + '\n');
  } else if (e instanceof ConfigError) {
    process.stderr.write(`${color.red('error:')} ${e.message}\n`);
  } else {
    process.stderr.write(`${color.red('error:')} ${e.message}\n${e.hint ? `  ${color.dim('hint:')} ${e.hint}\n` : ''}`);
  }
  return exitCodeFor(e.code);
}
