// Minimal service for the rollout benchmark: what examples/web/v1 does, minus the acme-auth
// handshake, so neither the auth service nor the sample app is what the benchmark measures.
// Fault knobs come from knobs.json in the working directory (the release's artifact, so two
// releases differ by their content, as real ones do), overridden by the same names in the env:
//   BASE_LATENCY_MS (every request), EXTRA_LATENCY_MS (added), FAIL_RATE (0..1, answers 500),
//   CRASH_AFTER_REQUESTS (exits on that request), CRASH_AT_START=1 (exits before listening),
//   FAIL_REAL=1 (answers 500 to requests of real users, those with a cookie: synthetic checks pass).
import http from 'node:http';
import { readFileSync } from 'node:fs';

let file = {};
try {
  file = JSON.parse(readFileSync('knobs.json', 'utf8'));
} catch {
  /* no knobs: a healthy instance */
}
const knob = (name, dflt) => Number(process.env[name] ?? file[name] ?? dflt);
const port = Number(process.env.PORT ?? 8080);
const baseLatencyMs = knob('BASE_LATENCY_MS', 0);
const extraLatencyMs = knob('EXTRA_LATENCY_MS', 0);
const failRate = knob('FAIL_RATE', 0);
const crashAfter = knob('CRASH_AFTER_REQUESTS', 0);
const failReal = knob('FAIL_REAL', 0) === 1;
if (String(process.env.CRASH_AT_START ?? file.CRASH_AT_START ?? '') === '1') {
  console.error('crashing at start as asked by CRASH_AT_START');
  process.exit(3);
}
const delay = baseLatencyMs + extraLatencyMs;
let served = 0;

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  served++;
  req.resume();
  if (crashAfter > 0 && served >= crashAfter) {
    console.error(`crashing after ${served} requests as asked by CRASH_AFTER_REQUESTS`);
    process.exit(4);
  }
  const answer = () => {
    if ((failRate > 0 && Math.random() < failRate) || (failReal && req.headers.cookie !== undefined)) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      return res.end('injected failure\n');
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello\n');
  };
  if (delay > 0) setTimeout(answer, delay);
  else answer();
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log(`bench service on 127.0.0.1:${port} (delay ${delay} ms, fail ${failRate}, crash after ${crashAfter})`));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2000).unref();
});
