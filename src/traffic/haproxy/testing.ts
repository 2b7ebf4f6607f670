// A real HAProxy (Debian's /usr/sbin/haproxy) for tests and the benchmark: a throw-away config
// with a stats socket in a temp dir, a frontend on a free loopback port and Greenlight's backend;
// or the same on an edge host of a test fleet (startEdgeHaproxy).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../app/free-port.ts';
import { RuntimeApi } from './runtime-api.ts';
import { backendConfig, type Stickiness } from './config.ts';
import type { HaproxyTrafficConfig } from './config.ts';

export const HAPROXY_BIN = process.env.GREENLIGHT_HAPROXY_BIN ?? '/usr/sbin/haproxy';

/** Why HAProxy tests cannot run here, or undefined when they can. */
export function haproxyMissing(): string | undefined {
  return existsSync(HAPROXY_BIN) ? undefined : `HAProxy is not installed (${HAPROXY_BIN}); apt-get install haproxy (.ci/run does)`;
}

export interface TestHaproxy {
  /** the frontend clients use */
  url: string;
  config: HaproxyTrafficConfig;
  dir: string;
  readonly process: ChildProcess;
  /** stops HAProxy and starts it again with the same config (the runtime API's changes are lost, as on a real restart) */
  restart(): Promise<void>;
  /** stops HAProxy (SIGUSR1: soft stop, in-flight requests finish; SIGTERM after 2 s) */
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  stickiness?: Stickiness;
  slots?: number;
  backend?: string;
  port?: number;
  /** HAProxy's nbthread (default: HAProxy's own, one per CPU); the benchmark sets 1 to compare with the single-threaded router */
  threads?: number;
  backendSection?: string;
}

/** HAProxy on this machine's loopback, its runtime API a unix socket in a temp dir (tcpStats: a TCP one on a free loopback port). */
export async function startHaproxy(opts: HaproxyOptions & { tcpStats?: boolean } = {}): Promise<TestHaproxy> {
  return start(opts, opts.tcpStats ? { address: '127.0.0.1', statsPort: await freePort() } : undefined);
}

/**
 * HAProxy on an edge host: inside the network namespace `netns` (a test fleet host), frontend and
 * runtime API on its `address`, the runtime API over TCP (`stats socket ipv4@address:port`), as a
 * controller on another machine drives it. Port 80 and 9999 are the namespace's own.
 */
export function startEdgeHaproxy(opts: HaproxyOptions & { netns: string; address: string; statsPort?: number }): Promise<TestHaproxy> {
  return start({ port: 80, ...opts }, { netns: opts.netns, address: opts.address, statsPort: opts.statsPort ?? 9999 });
}

async function start(opts: HaproxyOptions, edge?: { netns?: string; address: string; statsPort: number }): Promise<TestHaproxy> {
  const missing = haproxyMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'gl-haproxy-'));
  const port = opts.port ?? (await freePort());
  const host = edge?.address ?? '127.0.0.1';
  const backend = opts.backend ?? 'gl_web';
  // TCP: `level admin` only on a private address (docs/fleets.md)
  const socket = edge ? `${edge.address}:${edge.statsPort}` : join(dir, 'admin.sock');
  const map = join(dir, 'greenlight.map');
  writeFileSync(map, '');
  const cfg = [
    'global',
    edge ? `  stats socket ipv4@${socket} level admin` : `  stats socket ${socket} level admin mode 600`,
    '  maxconn 4096',
    ...(opts.threads ? [`  nbthread ${opts.threads}`] : []),
    '',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-keep-alive 10s',
    '',
    'frontend fe',
    `  bind ${host}:${port}`,
    `  default_backend ${backend}`,
    '',
    // backendSection: a team's own section instead of Greenlight's (tests of a misconfigured one); {map} is the map file
    opts.backendSection?.replaceAll('{map}', map) ?? backendConfig({ backend, map, slots: opts.slots ?? 16, stickiness: opts.stickiness ?? { kind: 'hash' } }),
  ].join('\n');
  writeFileSync(join(dir, 'haproxy.cfg'), cfg);
  // -db: stay in the foreground, so the test owns the process and its stderr
  const args = ['-db', '-f', join(dir, 'haproxy.cfg')];
  const api = new RuntimeApi({ socket, timeoutMs: 500 });
  const launch = async (): Promise<ChildProcess> => {
    const child = edge?.netns ? spawn('ip', ['netns', 'exec', edge.netns, HAPROXY_BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(HAPROXY_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${stderr}`);
      if (await api.command('show', 'info').then(() => true, () => false)) return child;
      if (i > 100) {
        child.kill('SIGKILL');
        throw new Error(`haproxy did not open its stats socket within 10 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const halt = async (child: ChildProcess) => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGUSR1');
    const t = setTimeout(() => child.kill('SIGTERM'), 2000);
    await exited;
    clearTimeout(t);
  };
  let child = await launch();
  return {
    url: `http://${host}:${port}`,
    config: { kind: 'haproxy', socket, backend, map, url: `http://${host}:${port}`, timeout: 3000 },
    dir,
    get process() {
      return child;
    },
    async restart() {
      await halt(child);
      // the same config and map file: what the runtime API set is gone, as on a real restart
      writeFileSync(map, '');
      child = await launch();
    },
    async stop() {
      await halt(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
