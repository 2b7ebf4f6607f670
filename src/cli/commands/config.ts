import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { configJsonSchema, defaultConfigPath, loadConfig } from '../../config/load.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { globals } from '../context.ts';
import { color, printJson } from '../output.ts';

const example = fileURLToPath(new URL('../../../examples/greenlight.yaml', import.meta.url));

export function registerConfigCommands(program: Command): void {
  program
    .command('init')
    .description('write a commented example greenlight.yaml')
    .option('--out <file>', 'where to write it', 'greenlight.yaml')
    .option('--force', 'overwrite an existing file')
    .action(function (this: Command, opts: { out: string; force?: boolean }) {
      const out = resolve(opts.out);
      if (existsSync(out) && !opts.force) throw new GreenlightError('USAGE', `${out} already exists`, { hint: 'pass --force to overwrite it, or --out <file>' });
      writeFileSync(out, readFileSync(example, 'utf8').replace('# yaml-language-server: $schema=../greenlight.schema.json', '# yaml-language-server: $schema=./greenlight.schema.json'));
      if (globals(this).json) printJson({ written: out });
      else console.log(`wrote ${out}\nnext: greenlight validate && greenlight schema && greenlight up`);
    });

  program
    .command('validate [file]')
    .description('check a configuration file; every problem is listed with file:line:column and field')
    .action(function (this: Command, file: string | undefined) {
      const loaded = loadConfig(file ?? globals(this).config ?? defaultConfigPath());
      const c = loaded.config;
      if (globals(this).json) return printJson({ valid: true, file: loaded.file, services: Object.keys(c.services), environments: c.environments.map((e) => e.name), warnings: loaded.warnings });
      for (const w of loaded.warnings) process.stderr.write(`${color.yellow('warning:')} ${w}\n`);
      console.log(`${color.green('✓')} ${loaded.file} is valid: services ${Object.keys(c.services).join(', ')}; environments ${c.environments.map((e) => e.name).join(' -> ')}`);
    });

  program
    .command('schema')
    .description('write the JSON Schema of greenlight.yaml (for editor completion)')
    .option('--out <file>', 'file to write; "-" for stdout', 'greenlight.schema.json')
    .action(function (this: Command, opts: { out: string }) {
      const text = JSON.stringify({ title: 'greenlight.yaml', ...configJsonSchema() }, null, 2) + '\n';
      if (opts.out === '-') return void process.stdout.write(text);
      writeFileSync(resolve(opts.out), text);
      if (globals(this).json) printJson({ written: resolve(opts.out) });
      else console.log(`wrote ${resolve(opts.out)}; point your editor's YAML schema setting at it`);
    });
}
