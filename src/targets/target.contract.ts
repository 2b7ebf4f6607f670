// The contract every Target kind passes (local, the fake, and later ssh or kubernetes). Call it
// from each kind's test file with a harness that opens the target and builds specs per behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GreenlightError } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import type { InstanceEvent, InstanceInfo, InstanceSpec, Target } from './target.ts';

export type ContractBehaviour = 'healthy' | 'never-ready' | 'crash-at-start';

export interface TargetHarness {
  /** a target on stateDir; opening a second one on the same stateDir is a "controller restart" */
  open(stateDir: string, events: EventLog): Target;
  spec(behaviour: ContractBehaviour, over?: Partial<InstanceSpec>): InstanceSpec;
  /** makes a ready instance die as if it crashed (the target should restart it within ~1 s) */
  crash(target: Target, instance: InstanceInfo): Promise<void>;
}

/** GET url; the status, or 0 when nothing answers. */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

function expectError(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof GreenlightError, `expected a GreenlightError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.ok(err.hint, 'the error says what to do');
    return true;
  };
}

export function targetContract(name: string, makeHarness: () => TargetHarness): void {
  const setup = () => {
    const harness = makeHarness();
    const stateDir = mkdtempSync(join(tmpdir(), 'gl-target-'));
    const events = new MemoryEventLog();
    const target = harness.open(stateDir, events);
    return { harness, stateDir, events, target };
  };

  test(`${name}: starts N ready instances on distinct ports, each answering its health path`, async () => {
    const { harness, events, target } = setup();
    try {
      const progress: InstanceInfo[] = [];
      const spec = harness.spec('healthy', { role: 'canary' });
      const started = await target.start(spec, 3, { onProgress: (i) => progress.push(i) });
      assert.equal(started.length, 3);
      assert.equal(new Set(started.map((i) => i.port)).size, 3);
      assert.equal(new Set(started.map((i) => i.id)).size, 3);
      for (const i of started) {
        assert.equal(i.state, 'ready');
        assert.equal(i.role, 'canary');
        assert.equal(i.version, spec.version);
        // loopback for local targets, the host's address for remote ones: the router reaches it there
        assert.equal(i.url, `http://${new URL(i.url).hostname}:${i.port}`);
        if (i.host === undefined) assert.equal(new URL(i.url).hostname, '127.0.0.1');
        assert.equal(await httpStatus(i.url + spec.health.path), 200);
      }
      assert.ok(progress.some((p) => p.state === 'ready'));
      const logged = await events.query({ types: ['instance.*'] });
      for (const i of started) {
        const mine = logged.filter((e) => e.subject === `instance/${i.id}`);
        assert.deepEqual(mine.map((e) => e.type), ['instance.started', 'instance.ready']);
        for (const e of mine) {
          assert.ok(e.actor.startsWith('target:'));
          assert.equal(e.data.service, spec.service);
          assert.equal(e.data.version, spec.version);
          assert.equal(e.data.environment, spec.environment);
          assert.equal(e.data.role, 'canary');
          assert.equal(e.data.port, i.port);
          assert.equal(typeof e.data.pid, 'number');
        }
      }
    } finally {
      await target.close({ stopInstances: true });
    }
  });

  test(`${name}: list filters by service, version and environment`, async () => {
    const { harness, target } = setup();
    try {
      await target.start(harness.spec('healthy', { version: '1.0.0' }), 1);
      await target.start(harness.spec('healthy', { version: '2.0.0' }), 2);
      assert.equal(target.list().length, 3);
      assert.equal(target.list({ version: '2.0.0' }).length, 2);
      assert.equal(target.list({ service: 'nope' }).length, 0);
      assert.equal(target.list({ environment: harness.spec('healthy').environment, version: '1.0.0' }).length, 1);
    } finally {
      await target.close({ stopInstances: true });
    }
  });

  test(`${name}: an instance that never becomes ready fails start with INSTANCE_NOT_READY and nothing is left`, async () => {
    const { harness, events, target } = setup();
    try {
      const seen: InstanceInfo[] = [];
      await assert.rejects(target.start(harness.spec('never-ready'), 2, { onProgress: (i) => seen.push(i) }), expectError('INSTANCE_NOT_READY'));
      assert.deepEqual(target.list(), []);
      const urls = [...new Set(seen.map((i) => i.url))];
      assert.equal(urls.length, 2);
      for (const u of urls) assert.equal(await httpStatus(`${u}/`), 0, `${u} is released`);
      assert.equal((await events.query({ types: ['instance.stopped'] })).length, 2);
    } finally {
      await target.close({ stopInstances: true });
    }
  });

  test(`${name}: an instance crashing at start fails start with INSTANCE_CRASHED and its log tail`, async () => {
    const { harness, events, target } = setup();
    try {
      let error: unknown;
      await target.start(harness.spec('crash-at-start'), 2).catch((e: unknown) => (error = e));
      expectError('INSTANCE_CRASHED')(error);
      const data = (error as GreenlightError).data!;
      assert.ok(Array.isArray(data.logTail) && data.logTail.length > 0, 'the log tail is in the error data');
      assert.deepEqual(target.list(), []);
      const crashed = await events.query({ types: ['instance.crashed'] });
      assert.ok(crashed.length >= 1);
      assert.equal(crashed[0]!.data.phase, 'start');
      assert.equal((await events.query({ types: ['instance.restarted'] })).length, 0, 'a crash at start is not restarted');
    } finally {
      await target.close({ stopInstances: true });
    }
  });

  test(`${name}: stop releases the instance and records instance.stopped; unknown ids are ignored`, async () => {
    const { harness, events, target } = setup();
    try {
      const [a, b] = await target.start(harness.spec('healthy'), 2);
      await target.stop([a!.id, 'no-such-instance']);
      assert.deepEqual(target.list().map((i) => i.id), [b!.id]);
      assert.equal(await httpStatus(a!.url + '/'), 0);
      assert.equal(await httpStatus(b!.url + '/healthz'), 200);
      const stopped = await events.query({ types: ['instance.stopped'] });
      assert.deepEqual(stopped.map((e) => e.subject), [`instance/${a!.id}`]);
      await target.stop([a!.id]); // twice is fine
    } finally {
      await target.close({ stopInstances: true });
    }
  });

  test(`${name}: listeners hear instance events until they unsubscribe`, async () => {
    const { harness, target } = setup();
    try {
      const heard: InstanceEvent[] = [];
      const off = target.onInstanceEvent((e) => heard.push(e));
      const [a] = await target.start(harness.spec('healthy'), 1);
      assert.deepEqual(heard.map((e) => e.type), ['instance.started', 'instance.ready']);
      assert.equal(heard[1]!.instance.id, a!.id);
      assert.equal(heard[1]!.instance.state, 'ready');
      off();
      await target.stop([a!.id]);
      assert.equal(heard.length, 2);
    } finally {
      await target.close({ stopInstances: true });
    }
  });

  test(`${name}: a crash of a ready instance is heard, recorded, and the instance restarted under the same id`, async () => {
    const { harness, events, target } = setup();
    try {
      const heard: InstanceEvent[] = [];
      target.onInstanceEvent((e) => heard.push(e));
      const [a, b] = await target.start(harness.spec('healthy'), 2);
      await harness.crash(target, a!);
      for (let i = 0; i < 500 && !heard.some((e) => e.type === 'instance.ready' && e.instance.restarts === 1); i++) await new Promise((r) => setTimeout(r, 10));
      const mine = heard.filter((e) => e.instance.id === a!.id).map((e) => e.type);
      assert.deepEqual(mine.slice(-3), ['instance.crashed', 'instance.restarted', 'instance.ready']);
      const crashed = (await events.query({ types: ['instance.crashed'] }))[0]!;
      assert.equal(crashed.subject, `instance/${a!.id}`);
      assert.equal(crashed.data.phase, 'running');
      assert.equal(typeof crashed.data.restartInMs, 'number');
      const now = target.list().find((i) => i.id === a!.id)!;
      assert.equal(now.state, 'ready');
      assert.equal(now.restarts, 1);
      assert.equal(await httpStatus(now.url + '/healthz'), 200);
      assert.equal(target.list().find((i) => i.id === b!.id)!.restarts, 0, 'the other instance is untouched');
    } finally {
      await target.close({ stopInstances: true });
    }
  });

  test(`${name}: instances survive close() and a new target on the same state adopts them`, async () => {
    const { harness, stateDir, events, target } = setup();
    const started = await target.start(harness.spec('healthy'), 2);
    await target.close();
    const next = harness.open(stateDir, events);
    try {
      for (const i of started) assert.equal(await httpStatus(i.url + '/healthz'), 200, 'still serving after the controller went away');
      const adopted = await next.adopt();
      assert.deepEqual(adopted.map((i) => i.id).sort(), started.map((i) => i.id).sort());
      assert.deepEqual(adopted.map((i) => i.port).sort(), started.map((i) => i.port).sort());
      assert.ok(adopted.every((i) => i.state === 'ready'));
      assert.equal(next.list().length, 2);
      assert.equal((await events.query({ types: ['instance.adopted'] })).length, 2);
      assert.deepEqual(await next.adopt(), [], 'adopting twice finds nothing new');
      await next.stop(started.map((i) => i.id));
      for (const i of started) assert.equal(await httpStatus(i.url + '/healthz'), 0);
      assert.deepEqual(next.list(), []);
    } finally {
      await next.close({ stopInstances: true });
    }
  });

  test(`${name}: adopt(filter) takes only the matching instances (targets of several environments share one state)`, async () => {
    const { harness, stateDir, events, target } = setup();
    const [staging] = await target.start(harness.spec('healthy', { environment: 'staging' }), 1);
    const [production] = await target.start(harness.spec('healthy', { environment: 'production' }), 1);
    await target.close();
    const stagingTarget = harness.open(stateDir, events);
    const productionTarget = harness.open(stateDir, events);
    try {
      assert.deepEqual((await stagingTarget.adopt({ environment: 'staging' })).map((i) => i.id), [staging!.id]);
      assert.deepEqual((await productionTarget.adopt({ environment: 'production' })).map((i) => i.id), [production!.id]);
      assert.deepEqual(stagingTarget.list().map((i) => i.id), [staging!.id]);
    } finally {
      await stagingTarget.close({ stopInstances: true });
      await productionTarget.close({ stopInstances: true });
    }
  });

  test(`${name}: close({ stopInstances: true }) stops everything and leaves nothing to adopt`, async () => {
    const { harness, stateDir, events, target } = setup();
    const started = await target.start(harness.spec('healthy'), 2);
    await target.close({ stopInstances: true });
    for (const i of started) assert.equal(await httpStatus(i.url + '/healthz'), 0);
    const next = harness.open(stateDir, events);
    try {
      assert.deepEqual(await next.adopt(), []);
      await assert.rejects(target.start(harness.spec('healthy'), 1), 'a closed target starts nothing');
    } finally {
      await next.close({ stopInstances: true });
    }
  });

  test(`${name}: an aborted start stops what it started and rejects with the reason`, async () => {
    const { harness, target } = setup();
    try {
      const ac = new AbortController();
      const reason = new Error('deployment cancelled');
      const p = target.start(harness.spec('never-ready', { health: { path: '/healthz', timeoutMs: 10_000, intervalMs: 20 } }), 2, {
        signal: ac.signal,
        onProgress: (i) => {
          if (i.state === 'starting') setTimeout(() => ac.abort(reason), 50);
        },
      });
      await assert.rejects(p, (e) => e === reason);
      assert.deepEqual(target.list(), []);
    } finally {
      await target.close({ stopInstances: true });
    }
  });
}
