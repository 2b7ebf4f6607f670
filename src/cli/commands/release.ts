import type { Command } from 'commander';
import { parseRequirement, type Release } from '../../releases/releases.ts';
import { shortDigest } from '../../releases/digest.ts';
import { clientOf, globals } from '../context.ts';
import { printJson } from '../output.ts';
import { resolve } from 'node:path';

export function registerRelease(program: Command): void {
  program
    .command('release <service> <version>')
    .description('register an immutable release of a service from an artifact directory')
    .requiredOption('--artifact <dir>', 'directory holding the built service')
    .option('--requires <dep@range...>', 'requirement on a third-party dependency, e.g. "acme-auth@>=3.0.0 <4" (repeatable)')
    .action(async function (this: Command, service: string, version: string, opts: { artifact: string; requires?: string[] }) {
      const requires = Object.fromEntries((opts.requires ?? []).map(parseRequirement));
      const out = await clientOf(this).request<{ release: Release; created: boolean }>('POST', '/v1/releases', { service, version, artifact: resolve(opts.artifact), requires });
      if (globals(this).json) return printJson(out);
      const r = out.release;
      const reqs = Object.entries(r.requires).map(([d, range]) => `${d} ${range}`).join(', ') || 'none';
      console.log(`${out.created ? 'registered' : 'already registered'} ${r.service}@${r.version} digest ${shortDigest(r.digest)} requires ${reqs}`);
    });
}
