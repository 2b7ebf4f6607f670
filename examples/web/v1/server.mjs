// The sample web service Greenlight deploys in the walk-through, the demo and the tests.
// Each request authenticates with the acme-auth service using this version's handshake protocol:
// v1 speaks protocol 2, v2 speaks protocol 3, which acme-auth supports only from 3.0.0 on.
// It is plain JavaScript with no dependencies so any artifact copy runs as it is.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const here = new URL('.', import.meta.url);
const meta = JSON.parse(readFileSync(new URL('./release.json', here), 'utf8'));
const port = Number(process.env.PORT ?? 8080);
// {HOST} in AUTH_URL is this host's address: on a fleet each server talks to its own acme-auth
const authUrl = (process.env.AUTH_URL ?? 'http://127.0.0.1:7100').replace('{HOST}', process.env.HOST ?? '127.0.0.1');
// Fault knobs used by the rollout benchmark and tests (never set in the walk-through).
const failRate = Number(process.env.FAIL_RATE ?? 0);
const extraLatencyMs = Number(process.env.EXTRA_LATENCY_MS ?? 0);
const crashAfter = Number(process.env.CRASH_AFTER_REQUESTS ?? 0);
if (process.env.CRASH_AT_START === '1') {
  console.error('crashing at start as asked by CRASH_AT_START');
  process.exit(3);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
let served = 0;
let errors = 0;
const started = Date.now();

function handshake() {
  return new Promise((resolve) => {
    const body = JSON.stringify({ protocol: meta.authProtocol, client: `web@${meta.version}` });
    const req = http.request(`${authUrl}/handshake`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ ok: false, status: 0, text: err.message }));
    req.end(body);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  if (url.pathname === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    return res.end(
      `# HELP web_requests_total Requests served.\n# TYPE web_requests_total counter\nweb_requests_total ${served}\n` +
        `# HELP web_errors_total Requests answered with 5xx.\n# TYPE web_errors_total counter\nweb_errors_total ${errors}\n` +
        `# HELP web_uptime_seconds Seconds since start.\n# TYPE web_uptime_seconds gauge\nweb_uptime_seconds ${(Date.now() - started) / 1000}\n`,
    );
  }
  if (url.pathname === '/version') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ version: meta.version }));
  }
  served++;
  if (crashAfter > 0 && served >= crashAfter) {
    console.error(`crashing after ${served} requests as asked by CRASH_AFTER_REQUESTS`);
    process.exit(4);
  }
  if (extraLatencyMs > 0) await new Promise((r) => setTimeout(r, extraLatencyMs));
  const auth = await handshake();
  if (!auth.ok || (failRate > 0 && Math.random() < failRate)) {
    errors++;
    res.writeHead(500, { 'content-type': 'text/plain' });
    return res.end(`web@${meta.version}: authentication handshake failed (protocol ${meta.authProtocol}): ${auth.ok ? 'injected failure' : auth.text.trim()}\n`);
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`hello from web@${meta.version}\n`);
});

server.keepAliveTimeout = 65_000;
// HOST: where a fleet host's instance listens (the ssh target sets it to the host's address)
const host = process.env.HOST ?? '127.0.0.1';
server.listen(port, host, () => console.log(`web@${meta.version} listening on ${host}:${port}, auth at ${authUrl}`));

// Graceful stop: finish in-flight requests, then exit.
process.on('SIGTERM', () => {
  console.log('SIGTERM: draining');
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
});
