import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfigText } from './load.ts';

const BASE = `version: 1
services:
  web: { command: [node, server.mjs] }
environments:
  - name: production
    router: { listen: "127.0.0.1:8081" }
`;

function problemsOf(text: string): ConfigError {
  try {
    parseConfigText(text, 'g.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${(err as Error)?.stack}`);
    return err;
  }
  assert.fail('expected the config to be refused');
}

test('a YAML alias bomb is a located ConfigError, not a ReferenceError', () => {
  const bomb = `${BASE}a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
`;
  const e = problemsOf(bomb);
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /g\.yaml:8:\d+ +\(yaml\): too many YAML alias expansions/);
  assert.match(e.problems[0]!.hint!, /alias/);
});

test('one anchor used more than 100 times in an otherwise valid config is a located ConfigError', () => {
  const many = `version: 1
x-env: &env { A: "1" }
services:
  web: { command: [node], env: *env }
environments:
${Array.from({ length: 120 }, (_, i) => `  - { name: e${i}, env: *env, router: { listen: "127.0.0.1:${9000 + i}" } }`).join('\n')}
`;
  const e = problemsOf(many);
  assert.match(e.message, /too many YAML alias expansions/);
  assert.equal(e.problems[0]!.line, 4);
});

test('duplicate keys are still found (without yaml\'s quadratic check), with their position', () => {
  const e = problemsOf(`${BASE}state_dir: a\nstate_dir: b\n`);
  assert.match(e.message, /g\.yaml:8:1 +\(yaml\): Map keys must be unique \("state_dir" appears twice\)/);
});

test('thousands of unknown keys are all reported, each located; the first 100 get a suggestion', () => {
  const n = 20_000;
  const e = problemsOf(BASE + Array.from({ length: n }, (_, i) => `verzion${i}: 1`).join('\n') + '\nstat_dir: x\n');
  assert.equal(e.problems.length, n + 1);
  assert.equal(e.problems[n - 1]!.line, 7 + n - 1);
  assert.match(e.problems.at(-1)!.hint!, /remove it/, 'past the first 100, a plain hint');
  assert.match(problemsOf(BASE + 'stat_dir: x\n').problems[0]!.hint!, /did you mean "state_dir"\?/);
});

test('warnings: state_dir "/" and a controller listening beyond loopback without TLS', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'greenlight.yaml');
  writeFileSync(file, `${BASE}state_dir: /\ncontroller: { listen: "0.0.0.0:7070" }\n`);
  const w = loadConfig(file).warnings;
  assert.equal(w.length, 2);
  assert.match(w[0]!, /state_dir is "\/"/);
  assert.match(w[1]!, /controller\.listen is 0\.0\.0\.0:7070, beyond loopback, and the API has no TLS/);
  writeFileSync(file, `${BASE}controller: { listen: "[::1]:7070" }\n`);
  assert.deepEqual(loadConfig(file).warnings, []);
});

const CHANGE = (verify: string) => `${BASE}changes:
  upgrade:
    apply: apt-get install -y acme-auth=3.1.0
${verify}    undo: apt-get install -y acme-auth=2.4.1
`;

test('a change without a usable verify says which two forms there are, not "Invalid input"', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /^required: a change needs a verify, \{ command: .* or \{ http: /],
    ['    verify: curl -f http://x/\n', /^verify is an object, not a command line: /],
    ['    verify: {}\n', /^verify needs command or http: /],
    ['    verify: { htp: "http://{address}/" }\n', /^verify needs command or http \(got htp\): /],
    ['    verify: { command: "true", http: "http://{address}/" }\n', /^verify takes command or http, not both: /],
  ];
  for (const [verify, expected] of cases) {
    const e = problemsOf(CHANGE(verify));
    assert.equal(e.problems.length, 1, e.message);
    assert.equal(e.problems[0]!.path, 'changes.upgrade.verify');
    assert.match(e.problems[0]!.message, expected);
    assert.doesNotMatch(e.problems[0]!.message, /Invalid input/);
  }
  // the forms that are right still load
  parseConfigText(CHANGE('    verify: { command: "acme-auth --version" }\n'), 'g.yaml');
  parseConfigText(CHANGE('    verify: { http: "http://{address}:7100/version", body_contains: "3.1.0" }\n'), 'g.yaml');
});

test('an unknown key that is a key of another section is not told "did you mean" itself', () => {
  const e = problemsOf(CHANGE('    verify: { command: "true", status: 200 }\n'));
  const p = e.problems.find((x) => x.path === 'changes.upgrade.verify.status');
  assert.ok(p, e.message);
  assert.equal(p.message, 'unknown key "status"');
  assert.doesNotMatch(p.hint!, /did you mean "status"/);
  assert.match(p.hint!, /not of this one/);
});

test('a change whose hosts: selector picks no host of an environment is refused (it would pass that environment vacuously)', () => {
  const fleet = (name: string, hosts: string) => `  - name: ${name}
    target:
      kind: ssh
      known_hosts: /etc/ssh/ssh_known_hosts
      auth: { agent: true }
      hosts:
${hosts}    router: { listen: "127.0.0.1:${name === 'staging' ? 8081 : 8082}" }
`;
  const text = (selector: string) => `version: 1
services:
  web: { command: [node, server.mjs] }
environments:
${fleet('staging', '        - { name: staging-1, address: 10.0.0.10, labels: { env: staging } }\n')}${fleet('production', '        - { name: web-1, address: 10.0.0.11, labels: { role: web } }\n        - { name: db-1, address: 10.0.0.12, labels: { role: db } }\n')}changes:
  upgrade:
    apply: "true"
    verify: { command: "true" }
    undo: "true"
${selector}`;
  const e = problemsOf(text('    hosts: { role: web }\n'));
  assert.equal(e.problems.length, 1, e.message);
  assert.equal(e.problems[0]!.path, 'changes.upgrade.hosts');
  assert.match(e.problems[0]!.message, /no host of environment staging has the labels role=web: the change would pass staging without changing a host/);
  assert.match(e.problems[0]!.hint!, /staging-1 \(env=staging\)/);
  assert.equal(problemsOf(text('    hosts: { role: cache }\n')).problems.length, 2);
  // no selector (every host), or one that picks hosts everywhere, is fine
  parseConfigText(text(''), 'g.yaml');
  parseConfigText(text('    hosts: { role: web }\n').replace('labels: { env: staging }', 'labels: { env: staging, role: web }'), 'g.yaml');
});

test('an ssh target listing one address:port under two host names is refused at the second, located', () => {
  const text = (second: string) => `version: 1
services:
  web: { command: [node, server.mjs] }
environments:
  - name: production
    router: { listen: "127.0.0.1:8081" }
    target:
      kind: ssh
      known_hosts: /etc/ssh/ssh_known_hosts
      auth: { agent: true }
      hosts:
        - { name: web-1, address: 10.0.0.11 }
        - { name: web-2, address: 10.0.0.12 }
${second}`;
  const e = problemsOf(text('        - { name: web-3, address: 10.0.0.11, port: 22 }\n'));
  assert.equal(e.problems.length, 1, e.message);
  assert.equal(e.problems[0]!.path, 'environments[0].target.hosts[2].address');
  assert.match(e.message, /g\.yaml:14:35 +environments\[0\]\.target\.hosts\[2\]\.address: host "web-3" has the address 10\.0\.0\.11:22 of host "web-1": one server listed under two names/);
  assert.match(e.problems[0]!.hint!, /list the server once/);
  // the same address on another port is another sshd (a second container, a jump port): allowed
  parseConfigText(text('        - { name: web-3, address: 10.0.0.11, port: 2222 }\n'), 'g.yaml');
});
