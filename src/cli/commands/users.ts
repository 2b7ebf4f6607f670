// greenlight login | logout | whoami | user add|list|roles|token | token revoke: people, service
// accounts and their tokens. A new token is printed once, by the command that made it.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { GreenlightError } from '../../errors/errors.ts';
import { ApiClient } from '../client.ts';
import { configOf, globals } from '../context.ts';
import { credentialsPath, storeToken } from '../credentials.ts';
import { urlOf } from '../../app/free-port.ts';
import { color, printJson } from '../output.ts';

/** what came from the controller, made safe for a terminal (no control characters) */
const plain = (v: unknown) => String(v ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const c of process.stdin) text += c;
    return text.trim();
  }
  // typed, not echoed
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput?: (s: string) => void; output: NodeJS.WritableStream };
  process.stderr.write(prompt);
  out._writeToOutput = () => undefined;
  const answer = await new Promise<string>((r) => rl.question('', r));
  rl.close();
  process.stderr.write('\n');
  return answer.trim();
}

interface Whoami {
  name: string;
  kind: string;
  roles: string[];
  actor: string;
  bootstrap?: boolean;
}

export function registerUsers(program: Command): void {
  program
    .command('login')
    .description('store your API token for this controller (read from stdin, or typed without echo), checked first')
    .action(async function (this: Command) {
      const loaded = configOf(this);
      const base = process.env.GREENLIGHT_URL ?? urlOf(loaded.config.controller.listen);
      const token = await readSecret(`token for ${base}: `);
      if (!token) throw new GreenlightError('USAGE', 'no token given', { hint: 'an admin creates one with greenlight user add <name> --role <role>' });
      const me = await new ApiClient(base, token).request<Whoami>('GET', '/v1/whoami');
      const file = storeToken(base, token);
      if (globals(this).json) printJson({ loggedIn: true, ...me, credentials: file });
      else console.log(`logged in to ${base} as ${plain(me.actor)} (roles: ${plain(me.roles.join(', '))}); token kept in ${file} (mode 0600)`);
    });

  program
    .command('logout')
    .description('forget the token stored for this controller')
    .action(async function (this: Command) {
      const loaded = configOf(this);
      const base = process.env.GREENLIGHT_URL ?? urlOf(loaded.config.controller.listen);
      storeToken(base, undefined);
      if (globals(this).json) printJson({ loggedOut: true, credentials: credentialsPath() });
      else console.log(`forgot the token for ${base}`);
    });

  program
    .command('whoami')
    .description('who the controller takes you for, and your roles')
    .action(async function (this: Command) {
      const me = await ApiClient.fromConfig(configOf(this)).request<Whoami>('GET', '/v1/whoami');
      if (globals(this).json) printJson(me);
      else console.log(`${plain(me.actor)} (roles: ${plain(me.roles.join(', '))})${me.bootstrap ? color.yellow(' — the bootstrap admin token: create users and log in as one of them') : ''}`);
    });

  const user = program.command('user').description('users and service accounts (admin)');
  user
    .command('add <name>')
    .description('create a user (or --service account) with roles, and print its first token once')
    .requiredOption('--role <roles...>', 'viewer, deployer, approver, admin, or a role from access.roles')
    .option('--service', 'a service account (CI), recorded as service:<name>')
    .option('--expires <duration>', 'the token expires after e.g. 90d')
    .action(async function (this: Command, name: string, opts: { role: string[]; service?: boolean; expires?: string }) {
      const out = await ApiClient.fromConfig(configOf(this)).request<{ user: { name: string; kind: string; roles: string[] }; token: string; tokenId: string }>('POST', '/v1/users', {
        name,
        roles: opts.role.flatMap((r) => r.split(',')),
        kind: opts.service ? 'service' : 'user',
        ...(opts.expires ? { expiresIn: opts.expires } : {}),
      });
      if (globals(this).json) return printJson(out);
      console.log(`${out.user.kind} ${plain(out.user.name)} created (roles: ${plain(out.user.roles.join(', '))}); token ${out.tokenId}, shown once:`);
      console.log(out.token);
    });
  user
    .command('list')
    .description('users, roles and their tokens (never the secrets)')
    .action(async function (this: Command) {
      const out = await ApiClient.fromConfig(configOf(this)).request<{ users: { name: string; kind: string; roles: string[]; tokens: { id: string; state: string; expiresAt: number | null }[] }[] }>('GET', '/v1/users');
      if (globals(this).json) return printJson(out);
      for (const u of out.users) {
        console.log(`${plain(u.kind)}:${plain(u.name)}  roles: ${plain(u.roles.join(', '))}`);
        for (const t of u.tokens) console.log(color.dim(`  token ${t.id} ${t.state}${t.expiresAt ? ` (expires ${new Date(t.expiresAt).toISOString()})` : ''}`));
      }
    });
  user
    .command('roles <name> <roles...>')
    .description("replace a user's roles")
    .action(async function (this: Command, name: string, roles: string[]) {
      const out = await ApiClient.fromConfig(configOf(this)).request<{ user: { name: string; roles: string[] } }>('POST', `/v1/users/${encodeURIComponent(name)}/roles`, { roles });
      if (globals(this).json) printJson(out);
      else console.log(`${plain(out.user.name)}: roles ${plain(out.user.roles.join(', '))}`);
    });
  user
    .command('token <name>')
    .description('issue another token for a user (printed once)')
    .option('--expires <duration>', 'e.g. 30d')
    .option('--label <text>', 'what it is for')
    .action(async function (this: Command, name: string, opts: { expires?: string; label?: string }) {
      const out = await ApiClient.fromConfig(configOf(this)).request<{ token: string; tokenId: string }>('POST', `/v1/users/${encodeURIComponent(name)}/tokens`, { ...(opts.expires ? { expiresIn: opts.expires } : {}), ...(opts.label ? { label: opts.label } : {}) });
      if (globals(this).json) printJson(out);
      else console.log(`token ${out.tokenId} for ${plain(name)}, shown once:\n${out.token}`);
    });

  program
    .command('token')
    .description('API tokens')
    .command('revoke <id>')
    .description('revoke a token (your own, or anyone\'s with users.manage)')
    .action(async function (this: Command, id: string) {
      const out = await ApiClient.fromConfig(configOf(this)).request<{ token: { id: string; user: string } }>('POST', `/v1/tokens/${encodeURIComponent(id)}/revoke`, {});
      if (globals(this).json) printJson(out);
      else console.log(`token ${plain(out.token.id)} of ${plain(out.token.user)} revoked`);
    });
}
