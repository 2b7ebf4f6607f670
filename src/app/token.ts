import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GreenlightError } from '../errors/errors.ts';

export function tokenPath(stateDir: string): string {
  return join(stateDir, 'token');
}

/** The routers' admin credential: their own, so a router's token file does not grant the controller's API. */
export function routerTokenPath(stateDir: string): string {
  return join(stateDir, 'router-token');
}

export function ensureRouterToken(stateDir: string): string {
  return ensureToken(stateDir, routerTokenPath(stateDir));
}

/** The API token, created on first start, readable only by its owner (mode 0600). */
export function ensureToken(stateDir: string, file = tokenPath(stateDir)): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (t) {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      return t;
    }
  } catch {
    // first start
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'w' });
  chmodSync(file, 0o600);
  return token;
}

export function readToken(stateDir: string): string {
  try {
    return readFileSync(tokenPath(stateDir), 'utf8').trim();
  } catch {
    throw new GreenlightError('CONTROLLER_UNREACHABLE', `no API token at ${tokenPath(stateDir)}`, {
      hint: 'start the controller first: greenlight up (it creates the token), or set GREENLIGHT_TOKEN',
    });
  }
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
