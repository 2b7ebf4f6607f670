import { InvalidArgumentError, type Command } from 'commander';
import { defaultConfigPath, loadConfig, type LoadedConfig } from '../config/load.ts';
import { ApiClient } from './client.ts';

/** Options every command shares, read from the root program. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  let root = cmd;
  while (root.parent) root = root.parent;
  return { ...root.opts<GlobalOptions>(), ...cmd.optsWithGlobals<GlobalOptions>() };
}

export function configOf(cmd: Command): LoadedConfig {
  return loadConfig(globals(cmd).config ?? defaultConfigPath());
}

export function clientOf(cmd: Command): ApiClient {
  return ApiClient.fromConfig(configOf(cmd));
}

/**
 * A commander option parser for a whole number in [min, max]: "abc" or "-5" is a usage error that
 * names the option (exit 2), not a NaN that reaches the event store as a datatype mismatch.
 */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max.toLocaleString('en')}.`);
    return n;
  };
}
