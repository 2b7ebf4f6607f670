// `traffic:` in greenlight.yaml: builtin by default, haproxy validated with located reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../config/load.ts';
import { Registry } from '../registry/registry.ts';
import { trafficKinds } from './registry.ts';

const config = (env: string, services = '  web: { command: [node, server.mjs] }\n') => `version: 1
services:
${services}environments:
  - name: production
${env}`;

function refused(text: string): ConfigError {
  try {
    parseConfigText(text, 'g.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected the config to be refused');
}

const HAPROXY = '    traffic: { kind: haproxy, socket: /run/haproxy/admin.sock, backend: gl_web, map: /etc/haproxy/greenlight.map, url: "http://127.0.0.1:80" }\n';

test('traffic defaults to the built-in router; haproxy parses with its defaults', () => {
  const a = parseConfigText(config('    router: { listen: "127.0.0.1:8081" }\n'), 'g.yaml');
  assert.deepEqual(a.environments[0]!.traffic, { kind: 'builtin' });
  const b = parseConfigText(config(HAPROXY), 'g.yaml');
  assert.deepEqual(b.environments[0]!.traffic, { kind: 'haproxy', socket: '/run/haproxy/admin.sock', backend: 'gl_web', map: '/etc/haproxy/greenlight.map', url: 'http://127.0.0.1:80', timeout: 3000 });
});

test('traffic: a wrong kind, a bad field, router: beside haproxy, no router for builtin, several services', () => {
  assert.match(refused(config('    traffic: { kind: nginx }\n')).message, /traffic/);
  assert.match(refused(config(HAPROXY.replace('gl_web', 'gl web'))).message, /backend/);
  assert.match(refused(config(HAPROXY.replace('/etc/haproxy/greenlight.map', 'greenlight.map'))).message, /map/);
  const both = refused(config(HAPROXY + '    router: { listen: "127.0.0.1:8081" }\n'));
  assert.match(both.message, /router: is the built-in router's, and this environment's traffic goes through haproxy/);
  assert.match(refused(config('    traffic: { kind: builtin }\n')).message, /the built-in router needs router:/);
  const two = refused(config(HAPROXY, '  web: { command: [node, server.mjs] }\n  api: { command: [node, api.mjs] }\n'));
  assert.match(two.message, /traffic kind haproxy drives one backend, and there are 2 services/);
});

test('traffic providers are one Registry family: builtin and haproxy', () => {
  assert.ok(trafficKinds instanceof Registry);
  assert.equal(trafficKinds.family, 'traffic provider');
  assert.deepEqual(trafficKinds.names(), ['builtin', 'haproxy']);
});

test('traffic: haproxy socket host:port needs a port 1..65535, located at the field', () => {
  for (const port of ['99999', '0', '65536']) {
    const e = refused(config(HAPROXY.replace('/run/haproxy/admin.sock', `10.0.0.5:${port}`)));
    assert.equal(e.problems.length, 1, e.message);
    assert.equal(e.problems[0]!.path, 'environments[0].traffic.socket');
    assert.match(e.message, /g\.yaml:6:39 .*the port of host:port must be 1\.\.65535/);
  }
  // not also told the port is wrong when the form already is
  assert.equal(refused(config(HAPROXY.replace('/run/haproxy/admin.sock', 'nonsense'))).problems.length, 1);
  for (const socket of ['10.0.0.5:65535', '"[::1]:9999"', 'lb.example:1']) parseConfigText(config(HAPROXY.replace('/run/haproxy/admin.sock', socket)), 'g.yaml');
});
