// Sample HTTP service for bench:warnings: answers after `delay` ms; POST /set?delay=32&errors=0.02 changes
// its latency and the share of requests answered 500. Prints its port; exits on SIGTERM or after 10 min.
import { createServer } from 'node:http';
let delay = 2;
let errors = 0;
let n = 0;
const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url?.startsWith('/set')) {
    const q = new URL(req.url, 'http://x').searchParams;
    if (q.has('delay')) delay = Number(q.get('delay'));
    if (q.has('errors')) errors = Number(q.get('errors'));
    res.end('ok');
    return;
  }
  // deterministic error share: every k-th request fails
  const fail = errors > 0 && ++n % Math.round(1 / errors) === 0;
  const start = performance.now();
  setTimeout(() => {
    res.statusCode = fail ? 500 : 200;
    // the time the service took, as a router measures its upstream (the load process's own
    // scheduling delays on a busy machine are not the service's latency)
    res.setHeader('x-duration-ms', (performance.now() - start).toFixed(3));
    res.end(fail ? 'error' : 'hello');
  }, delay);
});
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
setTimeout(() => process.exit(0), 600_000).unref();
process.on('SIGTERM', () => process.exit(0));
