// The test peer for the PostgreSQL store: a throw-away PostgreSQL 15 cluster in a temporary
// directory, on a free loopback port, run as the unprivileged `postgres` user when the tests run as
// root (the server refuses to run as root). One cluster is shared by all the test files of a run
// (`npm test` starts it in its global setup and passes its URL down in GREENLIGHT_TEST_PG_URL); a
// file run on its own starts one for its process. Each test takes its own database, so tests stay
// independent while paying for initdb once.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../app/free-port.ts';

export const PG_BIN = process.env['GREENLIGHT_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';
const URL_ENV = 'GREENLIGHT_TEST_PG_URL';

export interface PostgresPeer {
  /** superuser URL of the cluster's `postgres` database */
  url: string;
  dir: string;
  stop(): void;
}

/** Why the PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  if (process.env[URL_ENV]) return undefined;
  for (const b of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(PG_BIN, b))) return `PostgreSQL 15 is not installed (${join(PG_BIN, b)} is missing; Debian package postgresql-15, which .ci/run installs)`;
  }
  if (userInfo().uid === 0) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root and there is no unprivileged "postgres" user to run the server as';
    }
  }
  return undefined;
}

/** Runs a PostgreSQL binary as the unprivileged postgres user when we are root (the server refuses root). */
function run(bin: string, args: string[]): string {
  const [cmd, argv] = userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]] : [join(PG_BIN, bin), args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** Starts a fresh cluster; throws with the server log when it does not come up. */
export async function startPostgres(): Promise<PostgresPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'gl-pg-'));
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  run('initdb', ['-D', data, '-U', 'greenlight', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      // fsync off: a test cluster's durability across power loss does not matter, its speed does
      run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          /* already gone */
        }
        rmSync(dir, { recursive: true, force: true });
      };
      return { url: `postgres://greenlight@127.0.0.1:${port}/postgres`, dir, stop };
    } catch (err) {
      lastErr = err; // most likely the port was taken between freePort and start: try another
    }
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start a test PostgreSQL in ${dir}: ${String(lastErr)}\n${log}`);
}

let own: Promise<PostgresPeer> | undefined;

/** The run's shared cluster URL (started for this process if no global setup did). */
export async function sharedPostgresUrl(): Promise<string> {
  const fromSetup = process.env[URL_ENV];
  if (fromSetup) return fromSetup;
  if (!own) {
    own = startPostgres();
    const peer = await own;
    process.on('exit', () => peer.stop());
  }
  return (await own).url;
}

/** A new empty database on the shared cluster; its URL. */
export async function freshDatabase(): Promise<string> {
  const base = await sharedPostgresUrl();
  const name = 't_' + randomBytes(6).toString('hex');
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(base);
  u.pathname = '/' + name;
  return u.toString();
}

// `--test-global-setup` hooks: one cluster for every test file of `npm test`.
let global: PostgresPeer | undefined;
export async function globalSetup(): Promise<void> {
  if (process.env[URL_ENV] || postgresMissing()) return;
  global = await startPostgres();
  process.env[URL_ENV] = global.url;
  process.on('exit', () => global?.stop());
}
export async function globalTeardown(): Promise<void> {
  global?.stop();
}

export interface PartitionProxy {
  /** the database URL through the proxy */
  url: string;
  /**
   * Cuts the link as a network partition does: nothing is refused or reset, bytes simply stop
   * flowing both ways (held, as TCP would keep retransmitting them) and new connections hang.
   */
  cut(): void;
  /** Heals it: held bytes flow again, waiting connections go through. */
  heal(): void;
  close(): Promise<void>;
}

/** A TCP proxy on loopback in front of a PostgreSQL URL, whose link a test can cut and heal. */
export async function partitionProxy(target: string): Promise<PartitionProxy> {
  const { createServer, connect } = await import('node:net');
  const to = new URL(target);
  let cut = false;
  const pairs = new Set<{ a: import('node:net').Socket; b: import('node:net').Socket | undefined; pending: Buffer[] }>();
  const waiting: (() => void)[] = [];
  const server = createServer((client) => {
    const pair = { a: client, b: undefined as import('node:net').Socket | undefined, pending: [] as Buffer[] };
    pairs.add(pair);
    const open = () => {
      const upstream = connect(Number(to.port), to.hostname);
      pair.b = upstream;
      for (const chunk of pair.pending) upstream.write(chunk);
      pair.pending = [];
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => client.write(d));
      const end = () => {
        client.destroy();
        upstream.destroy();
        pairs.delete(pair);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
      if (cut) (client.pause(), upstream.pause());
    };
    client.on('data', (d) => pair.b || pair.pending.push(d));
    if (cut) {
      client.pause();
      waiting.push(() => (client.resume(), open()));
    } else open();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const u = new URL(target);
  u.hostname = '127.0.0.1';
  u.port = String((server.address() as import('node:net').AddressInfo).port);
  return {
    url: u.toString(),
    cut() {
      cut = true;
      for (const p of pairs) (p.a.pause(), p.b?.pause());
    },
    heal() {
      cut = false;
      for (const p of pairs) (p.a.resume(), p.b?.resume());
      for (const w of waiting.splice(0)) w();
    },
    async close() {
      for (const p of pairs) (p.a.destroy(), p.b?.destroy());
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
