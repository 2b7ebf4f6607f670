// A real Prometheus for tests: Debian's binary with a throw-away config and data directory on a
// free loopback port, scraping the targets of a file_sd file the test rewrites as instances come
// and go (Prometheus watches the file). Tests skip with this reason when the binary is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../app/free-port.ts';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const prometheusMissing: string | false = existsSync(PROMETHEUS_BIN) ? false : `${PROMETHEUS_BIN} is missing (apt-get install -y prometheus); .ci/run installs it`;

export interface TestPrometheus {
  url: string;
  /** replaces the scraped targets: url "http://127.0.0.1:port" -> labels */
  setTargets(targets: { url: string; labels: Record<string, string> }[]): void;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startPrometheus(opts: { scrapeIntervalMs?: number } = {}): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'gl-prom-'));
  const sd = join(dir, 'targets.json');
  const interval = `${opts.scrapeIntervalMs ?? 500}ms`;
  writeFileSync(sd, '[]');
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: ${interval}\n  scrape_timeout: ${interval}\nscrape_configs:\n  - job_name: app\n    file_sd_configs:\n      - files: ['${sd}']\n        refresh_interval: 1s\n`);
  const port = await freePort();
  let stderr = '';
  const child: ChildProcess = spawn(PROMETHEUS_BIN, [`--config.file=${join(dir, 'prometheus.yml')}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${join(dir, 'data')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  let ready = false;
  for (let i = 0; i < 150 && !ready && child.exitCode === null; i++) {
    ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  if (!ready) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`prometheus did not become ready on ${url}:\n${stderr}`);
  }
  return {
    url,
    setTargets(targets) {
      if (closed) return;
      const tmp = `${sd}.tmp`;
      writeFileSync(tmp, JSON.stringify(targets.map((t) => ({ targets: [t.url.replace(/^https?:\/\//, '')], labels: t.labels }))));
      renameSync(tmp, sd);
    },
    stop,
    async close() {
      closed = true;
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An instance whose /metrics exports one gauge, queue_depth = depth: what the sources' tests scrape. */
export async function gaugeInstance(depth: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(req.url === '/metrics' ? `# TYPE queue_depth gauge\nqueue_depth ${depth}\n` : 'ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
