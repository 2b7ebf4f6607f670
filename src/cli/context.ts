import type { Command } from 'commander';
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
