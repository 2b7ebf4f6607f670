// Runs the incident commands in a child process for the CLI tests, the way bin/greenlight runs
// them, without depending on the program's main (the controller owner wires registerIncident there).
import { Command, CommanderError } from 'commander';
import { registerIncident } from '../cli/commands/incident.ts';
import { reportError } from '../cli/output.ts';
import { guardTerminalOutput } from '../cli/terminal.ts';

guardTerminalOutput();

const program = new Command('greenlight').option('-c, --config <file>').option('--json').exitOverride();
registerIncident(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = err instanceof CommanderError ? 2 : reportError(err, process.argv.includes('--json'));
}
