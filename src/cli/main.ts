// greenlight: the command line. Commands are thin: they parse, call the controller's API (or the
// app for `up`), print for people or --json for scripts, and exit with a documented code:
// 0 success, 1 deployment blocked or rolled back, 2 usage or configuration error, 3 controller unreachable.
import { Command, CommanderError } from 'commander';
import { registerConfigCommands } from './commands/config.ts';
import { registerUp } from './commands/up.ts';
import { registerRelease } from './commands/release.ts';
import { registerDeploy } from './commands/deploy.ts';
import { registerStatus } from './commands/status.ts';
import { registerEvents } from './commands/events.ts';
import { registerDetect } from './commands/detect.ts';
import { registerIncident } from './commands/incident.ts';
import { registerAlerting } from './commands/alerting.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDrill } from './commands/drill.ts';
import { registerAudit } from './commands/audit.ts';
import { registerUsers } from './commands/users.ts';
import { registerApprove } from './commands/approve.ts';
import { registerFleet } from './commands/fleet.ts';
import { registerLoad } from './commands/load.ts';
import { registerStore } from './commands/store.ts';
import { reportError } from './output.ts';
import { guardTerminalOutput } from './terminal.ts';
import { exitCodes } from '../errors/errors.ts';
import pkg from '../../package.json' with { type: 'json' };

export function buildProgram(): Command {
  const program = new Command('greenlight')
    .description('Keeps bad releases away from users: every release proven in staging, progressive production, automatic rollback.')
    .version(pkg.version)
    .option('-c, --config <file>', 'configuration file (default: ./greenlight.yaml or $GREENLIGHT_CONFIG)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();
  registerConfigCommands(program);
  registerUp(program);
  registerRelease(program);
  registerDeploy(program);
  registerStatus(program);
  registerEvents(program);
  registerDetect(program);
  registerIncident(program);
  registerAlerting(program);
  registerDemo(program);
  registerDrill(program);
  registerAudit(program);
  registerUsers(program);
  registerApprove(program);
  registerFleet(program);
  registerLoad(program);
  registerStore(program);
  program.addHelpText('after', '\nExit codes: 0 success, 1 deployment blocked or rolled back, 2 usage or configuration error, 3 controller unreachable.');
  return program;
}

export async function main(argv: string[]): Promise<void> {
  guardTerminalOutput();
  quietOnClosedPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : exitCodes.usage;
      return;
    }
    process.exitCode = reportError(err, process.argv.includes('--json'));
  }
}

/**
 * `greenlight schema --out - | head`, `greenlight events | head`: the reader went away, which is
 * how a pipeline says "enough". Exit quietly, as cat and grep do, instead of an EPIPE stack trace.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}
