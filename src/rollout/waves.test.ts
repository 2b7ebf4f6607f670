import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../config/load.ts';
import { wavesSchema } from './schema.ts';
import { planWaves } from './waves.ts';

const config = (target: string, waves: string) => `version: 1
services:
  web: { command: [node, server.mjs] }
environments:
  - name: production
    target: ${target}
    router: { listen: "127.0.0.1:8081" }
    rollout:
      steps: [{ weight: 10, hold: 1s }]
      waves: ${waves}
`;
const SSH = `{ kind: ssh, hosts: [{ name: web-1, address: 10.0.0.11, labels: { zone: a } }, { name: web-2, address: 10.0.0.12 }, { name: web-3, address: 10.0.0.13 }] }`;

function refusal(text: string): string {
  try {
    parseConfigText(text, 'g.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  return assert.fail('expected the config to be refused');
}

test('waves: the remaining hosts in waves of min(batch_size, max_unavailable), in the target\'s order', () => {
  const p = (batch: number, unavailable: number) => planWaves(['a', 'b', 'c', 'd', 'e'], ['b'], wavesSchema.parse({ batch_size: batch, max_unavailable: unavailable }));
  assert.deepEqual(p(1, 1), [['a'], ['c'], ['d'], ['e']]);
  assert.deepEqual(p(2, 5), [['a', 'c'], ['d', 'e']]);
  assert.deepEqual(p(3, 2), [['a', 'c'], ['d', 'e']], 'cut to max_unavailable');
  assert.deepEqual(planWaves(['a'], ['a'], wavesSchema.parse({})), [], 'the canary host was the only one');
});

test('waves config: defaults, and validated against the target\'s hosts with the field named', () => {
  const ok = parseConfigText(config(SSH, '{ canary: { labels: { zone: a } }, batch_size: 2 }'), 'g.yaml');
  assert.deepEqual(ok.environments[0]!.rollout!.waves, { canary: { labels: { zone: 'a' } }, batch_size: 2, max_unavailable: 1, unavailable_timeout: 120_000, verify_for: 5000 });
  assert.deepEqual(parseConfigText(config(SSH, '{}'), 'g.yaml').environments[0]!.rollout!.waves!.canary, { hosts: 1 });

  assert.match(refusal(config('{ kind: local }', '{}')), /rollout\.waves: releases in waves go host by host, and target kind "local" has no hosts/);
  assert.match(refusal(config(SSH, '{ canary: { hosts: 4 } }')), /waves\.canary\.hosts: the canary cannot run on 4 hosts: the target has 3/);
  assert.match(refusal(config(SSH, '{ canary: { labels: { zone: b } } }')), /waves\.canary\.labels: no host of the target has the labels zone=b/);
  assert.match(refusal(config(SSH, '{ batch_size: 0 }')), /batch_size/);
  assert.match(refusal(config(SSH, '{ canary: { hosts: 1 }, batchsize: 2 }')), /batchsize/);
});
