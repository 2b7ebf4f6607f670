// The CLI's own credentials: `greenlight login` keeps a user's token per controller URL in
// ~/.config/greenlight/credentials.json (mode 0600, directory 0700), so commands act as that user.
// Order of precedence: GREENLIGHT_TOKEN, then this file, then the bootstrap token in <state_dir>/token.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function credentialsPath(): string {
  return process.env.GREENLIGHT_CREDENTIALS ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'greenlight', 'credentials.json');
}

function readAll(): Record<string, string> {
  try {
    const j = JSON.parse(readFileSync(credentialsPath(), 'utf8')) as unknown;
    return j && typeof j === 'object' ? (j as Record<string, string>) : {};
  } catch {
    return {};
  }
}

const key = (url: string) => url.replace(/\/+$/, '');

export function storedToken(url: string): string | undefined {
  return readAll()[key(url)];
}

export function storeToken(url: string, token: string | undefined): string {
  const file = credentialsPath();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const all = readAll();
  if (token === undefined) delete all[key(url)];
  else all[key(url)] = token;
  writeFileSync(file, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}
