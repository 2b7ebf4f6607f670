// The benchmark's upstream: a tiny HTTP server answering every request with a 12-byte body.
// Runs as its own process so its CPU can be pinned apart from the proxy under test.
//   node bench/load/upstream.ts <port>   (prints {"port":n} once listening)

import http from 'node:http';
import type { AddressInfo } from 'node:net';

const body = Buffer.from('hello world\n');
const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
