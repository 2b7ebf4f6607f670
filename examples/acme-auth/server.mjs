// A stand-in for the third-party authentication service of the 3 June 2023 outage.
// Versions below 3.0.0 speak handshake protocol 2 only; 3.x speaks 2 and 3.
// Its version can be changed live (POST /admin/version) so an "upgrade" drops no request.
import http from 'node:http';

const port = Number(process.env.PORT ?? process.argv[2] ?? 7100);
let version = process.env.ACME_AUTH_VERSION ?? process.argv[3] ?? '2.4.1';

const major = () => Number(version.split('.')[0]);
const supports = (protocol) => protocol === 2 || (protocol === 3 && major() >= 3);

function readBody(req) {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (text += c));
    req.on('end', () => resolve(text));
  });
}

const server = http.createServer(async (req, res) => {
  const send = (status, obj) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  if (req.method === 'GET' && req.url === '/version') return send(200, { name: 'acme-auth', version });
  if (req.method === 'GET' && req.url === '/healthz') return send(200, { ok: true });
  if (req.method === 'POST' && req.url === '/handshake') {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(400, { error: 'body must be JSON' });
    }
    if (!supports(body.protocol)) return send(426, { error: `acme-auth ${version} does not support handshake protocol ${body.protocol}` });
    return send(200, { token: `tok-${Date.now().toString(36)}`, protocol: body.protocol });
  }
  if (req.method === 'POST' && req.url === '/admin/version') {
    const next = (await readBody(req)).trim().replace(/^"|"$/g, '');
    if (!/^\d+\.\d+\.\d+$/.test(next)) return send(400, { error: 'send a version like 3.1.0' });
    const previous = version;
    version = next;
    console.log(`acme-auth upgraded ${previous} -> ${version}`);
    return send(200, { previous, version });
  }
  send(404, { error: 'not found' });
});
server.keepAliveTimeout = 65_000;
// HOST: where a fleet host's instance listens (the ssh target sets it to the host's address)
const host = process.env.HOST ?? '127.0.0.1';
server.listen(port, host, () => console.log(`acme-auth ${version} listening on ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
