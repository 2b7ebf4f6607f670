// Load generator for bench:warnings, in its own process so it does not starve the memory sampler:
// ~rate req/s to the sample HTTP service on 127.0.0.1:<port>; at <latencyStepS> it sets the service's
// latency to 32 ms, at <errorStepS> its errors to 2%; every 5 s it prints one JSON line with the p99
// latency (as the service measured it, header x-duration-ms), error ratio and request rate over the
// last minute (as the router derives them). Bounded by <endS>.
import http from 'node:http';
const [port, rate = '100', latencyStepS = '90', errorStepS = '180', endS = '260'] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const t0 = Date.now();
const since = () => (Date.now() - t0) / 1000;
const samples = [];
let sent = 0;
const get = (path, method = 'GET') =>
  new Promise((resolve) => {
    const start = performance.now();
    const req = http.request({ host: '127.0.0.1', port: Number(port), path, method, agent }, (res) => {
      res.resume();
      const served = Number(res.headers['x-duration-ms']);
      res.on('end', () => resolve({ ms: Number.isFinite(served) ? served : performance.now() - start, ok: res.statusCode < 500 }));
    });
    req.on('error', () => resolve({ ms: performance.now() - start, ok: false }));
    req.end();
  });
let latencyStepped = false;
let errorsStepped = false;
const tick = setInterval(async () => {
  if (since() >= Number(endS)) {
    clearInterval(tick);
    clearInterval(derive);
    process.stdout.write(JSON.stringify({ done: true, sent }) + '\n');
    setTimeout(() => process.exit(0), 200);
    return;
  }
  if (!latencyStepped && since() >= Number(latencyStepS)) {
    latencyStepped = true;
    await get('/set?delay=32', 'POST');
    process.stdout.write(JSON.stringify({ event: 'latency', at: Date.now() }) + '\n');
  }
  if (!errorsStepped && since() >= Number(errorStepS)) {
    errorsStepped = true;
    await get('/set?errors=0.02', 'POST');
    process.stdout.write(JSON.stringify({ event: 'errors', at: Date.now() }) + '\n');
  }
  // send the requests this 10 ms tick owes, so the rate holds even when ticks come late
  const owed = Math.floor(since() * Number(rate)) - sent;
  for (let i = 0; i < Math.min(owed, 50); i++) {
    sent++;
    get('/').then((r) => samples.push({ t: Date.now(), ...r }));
  }
}, 10);
const derive = setInterval(() => {
  const at = Date.now();
  while (samples.length > 0 && samples[0].t < at - 60_000) samples.shift();
  if (samples.length === 0) return;
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)];
  const errorRatio = samples.filter((s) => !s.ok).length / samples.length;
  process.stdout.write(JSON.stringify({ at, s: since(), p99, errorRatio, rate: samples.length / 60 }) + '\n');
}, 5_000);
