import { GreenlightError, exitCodeFor } from '../errors/errors.ts';
import { ConfigError } from '../config/load.ts';
import { OWN_ESC } from './terminal.ts';

export interface Output {
  json: boolean;
}

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
// The CLI's own colours are written with OWN_ESC, not ESC, so the output guard can tell them from
// an ESC that came in with outside text (terminal.ts turns only OWN_ESC back into ESC).
const sgr = (code: number) => `${OWN_ESC}[${code}m`;
export const color = {
  green: (s: string) => (tty ? `${sgr(32)}${s}${sgr(0)}` : s),
  red: (s: string) => (tty ? `${sgr(31)}${s}${sgr(0)}` : s),
  yellow: (s: string) => (tty ? `${sgr(33)}${s}${sgr(0)}` : s),
  dim: (s: string) => (tty ? `${sgr(2)}${s}${sgr(0)}` : s),
  bold: (s: string) => (tty ? `${sgr(1)}${s}${sgr(0)}` : s),
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
