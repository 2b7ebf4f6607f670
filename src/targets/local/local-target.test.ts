import { after, test } from 'node:test';
import { ofType, type EventOf, type EventType } from '../../events/catalogue/index.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ManualClock, systemClock, type Clock } from '../../clock/clock.ts';
import { queryType, type StoredEvent } from '../../events/log.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { httpStatus, targetContract } from '../target.contract.ts';
import { createTarget, targetConfigSchema } from '../registry.ts';
import { fixtureSpec, writeFixtureApp, type FixtureMode } from './fixture-app.ts';
import { LocalTarget } from './local-target.ts';
import { isPortFree } from './ports.ts';
import { isSameProcessAlive, processStartTime, signalGroup } from './proc.ts';
import { RecordStore } from './records.ts';
import type { LocalTargetConfig } from './config.ts';

const artifact = writeFixtureApp();

// A failing test must not leave instances running: everything recorded under the state dirs used
// here is killed at the end (the records identify our processes by pid and start time).
const stateDirs = new Set<string>();
after(() => {
  for (const dir of stateDirs) {
    if (!existsSync(join(dir, 'instances'))) continue;
    for (const r of new RecordStore(dir).readAll().records) {
      if (isSameProcessAlive(r.pid, r.procStartTime)) signalGroup(r.pid, 'SIGKILL');
    }
  }
});

targetContract('LocalTarget', () => ({
  open: (stateDir, events) => {
    stateDirs.add(stateDir);
    return new LocalTarget({ restart_backoff: { initial: 100, max: 1000, reset_after: 60_000 } }, { stateDir, events, clock: systemClock });
  },
  spec: (mode, over) => fixtureSpec(artifact, mode as FixtureMode, over),
  crash: async (_target, instance) => void (await fetch(instance.url + '/crash')).text(),
}));

function setup(config: Partial<LocalTargetConfig> = {}, clock: Clock = systemClock) {
  const stateDir = mkdtempSync(join(tmpdir(), 'gl-local-'));
  stateDirs.add(stateDir);
  const events = new MemoryEventLog(clock);
  const target = new LocalTarget(config, { stateDir, events, clock });
  return { stateDir, events, target };
}

/** Resolves with the first event matching, already appended or still to come (real time bound). */
async function nextEvent<T extends EventType>(events: MemoryEventLog, type: T, pred: (e: EventOf<T>) => boolean = () => true, timeoutMs = 10_000): Promise<EventOf<T>> {
  let off = () => {};
  const isIt = ofType(type);
  const coming = new Promise<EventOf<T>>((resolve) => {
    off = events.subscribe((e) => {
      if (isIt(e) && pred(e)) resolve(e);
    });
  });
  const already = (await queryType(events, type)).find(pred);
  if (already) {
    off();
    return already;
  }
  const ac = new AbortController();
  const timer = delay(timeoutMs, undefined, { signal: ac.signal }).then(() => {
    throw new Error(`no ${type} event within ${timeoutMs}ms`);
  });
  timer.catch(() => {});
  try {
    return await Promise.race([coming, timer]);
  } finally {
    off();
    ac.abort();
  }
}

/** Moves a ManualClock forward while real time passes, until p settles (a real process is involved). */
async function drive<T>(clock: ManualClock, p: Promise<T>, stepMs = 25): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; !done && i < 2000; i++) {
    await clock.advance(stepMs);
    await delay(5);
  }
  return p;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return fetch(url, { headers: { connection: 'close' } }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

test('LocalTarget: instances get PORT, log to their file, and have a record with pid and start time', async () => {
  const { stateDir, target } = setup();
  try {
    const [a] = await target.start(fixtureSpec(artifact), 1);
    const body = JSON.parse((await get(a!.url + '/')).body) as { pid: number; port: number; version: string };
    assert.equal(body.port, a!.port);
    assert.equal(body.pid, a!.pid);
    assert.equal(a!.logFile, join(stateDir, 'logs', 'web', 'staging', `${a!.id}.log`));
    assert.match(readFileSync(a!.logFile, 'utf8'), new RegExp(`listening on ${a!.port}`));
    const recordFile = join(stateDir, 'instances', `${a!.id}.json`);
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as { pid: number; port: number; procStartTime: string; spec: { version: string } };
    assert.equal(record.pid, a!.pid);
    assert.equal(record.port, a!.port);
    assert.equal(record.procStartTime, processStartTime(a!.pid));
    assert.equal(record.spec.version, '1.0.0');
    await target.stop([a!.id]);
    assert.equal(existsSync(recordFile), false, 'the record goes with the instance');
    assert.equal(isSameProcessAlive(a!.pid, record.procStartTime), false);
  } finally {
    await target.close({ stopInstances: true });
  }
});

test('LocalTarget: a string command runs through /bin/sh -c', async () => {
  const { target } = setup();
  try {
    const [a] = await target.start(fixtureSpec(artifact, 'healthy', { command: `exec "${process.execPath}" server.mjs` }), 1);
    assert.equal((await get(a!.url + '/healthz')).status, 200);
  } finally {
    await target.close({ stopInstances: true });
  }
});

test('LocalTarget: a port held by someone else is skipped', async () => {
  // find two adjacent free ports, then occupy the first
  let from = 0;
  for (let p = 43000 + Math.floor(Math.random() * 1000); p < 44990; p++) {
    if ((await isPortFree(p)) && (await isPortFree(p + 1))) {
      from = p;
      break;
    }
  }
  assert.ok(from > 0);
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(from, '127.0.0.1', () => r()));
  const { target } = setup({ port_range: [from, from + 1] });
  try {
    const [a] = await target.start(fixtureSpec(artifact), 1);
    assert.equal(a!.port, from + 1);
    await assert.rejects(target.start(fixtureSpec(artifact), 1), (e: { code?: string }) => e.code === 'PORT_IN_USE');
  } finally {
    await target.close({ stopInstances: true });
    squatter.close();
  }
});

test('LocalTarget: a missing artifact directory is ARTIFACT_MISSING, a bad spec is USAGE', async () => {
  const { target } = setup();
  try {
    await assert.rejects(target.start(fixtureSpec('/nonexistent/gl-artifact'), 1), (e: { code?: string }) => e.code === 'ARTIFACT_MISSING');
    await assert.rejects(target.start(fixtureSpec(artifact, 'healthy', { service: '../etc' }), 1), (e: { code?: string }) => e.code === 'USAGE');
  } finally {
    await target.close();
  }
});

test('LocalTarget: stop sends SIGTERM and lets an in-flight request finish', async () => {
  const { events, target } = setup();
  try {
    const [a] = await target.start(fixtureSpec(artifact), 1);
    const inFlight = get(a!.url + '/slow?ms=400');
    for (let i = 0; i < 200 && !readFileSync(a!.logFile, 'utf8').includes('slow request'); i++) await delay(10);
    await target.stop([a!.id]);
    assert.deepEqual(await inFlight, { status: 200, body: 'slow done' });
    const log = readFileSync(a!.logFile, 'utf8');
    assert.match(log, /SIGTERM received, draining/);
    assert.match(log, /drained, exiting/);
    const stopped = await nextEvent(events, 'instance.stopped');
    assert.equal(stopped.data.graceful, true);
    assert.equal(stopped.data.exitCode, 0);
  } finally {
    await target.close({ stopInstances: true });
  }
});

test('LocalTarget: an instance ignoring SIGTERM is killed after the grace period', async () => {
  const { events, target } = setup();
  try {
    const [a] = await target.start(fixtureSpec(artifact, 'ignore-sigterm', { stopGraceMs: 300 }), 1);
    await target.stop([a!.id]);
    assert.match(readFileSync(a!.logFile, 'utf8'), /ignoring SIGTERM/);
    const stopped = await nextEvent(events, 'instance.stopped');
    assert.equal(stopped.data.graceful, false);
    assert.equal(stopped.data.signal, 'SIGKILL');
    assert.equal(await httpStatus(a!.url + '/healthz'), 0);
  } finally {
    await target.close({ stopInstances: true });
  }
});

test('LocalTarget: a crash of a ready instance is recorded and restarted with back-off, same id and port', async () => {
  const clock = new ManualClock();
  const { events, target } = setup({ restart_backoff: { initial: 1000, max: 30_000, reset_after: 60_000 } }, clock);
  const heard: string[] = [];
  target.onInstanceEvent((e) => heard.push(e.type));
  try {
    const [a] = await drive(clock, target.start(fixtureSpec(artifact), 1));
    await get(a!.url + '/crash');
    const crashed = await nextEvent(events, 'instance.crashed');
    assert.equal(crashed.data.exitCode, 42);
    assert.equal(crashed.data.phase, 'running');
    assert.equal(crashed.data.restartInMs, 1000);
    assert.equal(crashed.data.port, a!.port);
    assert.equal(crashed.data.pid, a!.pid);
    assert.ok((crashed.data.logTail as string[]).some((l) => l.includes('crashing on request')));
    assert.equal(target.list()[0]!.state, 'crashed');
    assert.ok(heard.includes('instance.crashed'), 'listeners hear the crash');

    await clock.advance(999);
    assert.equal((await queryType(events, 'instance.restarted')).length, 0, 'not before the back-off');
    await clock.advance(1);
    const restarted = await nextEvent(events, 'instance.restarted');
    assert.equal(restarted.data.previousPid, a!.pid);
    await drive(clock, nextEvent(events, 'instance.ready', (e) => e.data.afterRestart === true));
    const [now] = target.list();
    assert.equal(now!.id, a!.id);
    assert.equal(now!.port, a!.port);
    assert.equal(now!.state, 'ready');
    assert.equal(now!.restarts, 1);
    assert.notEqual(now!.pid, a!.pid);
    assert.equal((await get(a!.url + '/healthz')).status, 200);

    // a second crash soon after: the delay doubles
    await get(a!.url + '/crash');
    const second = await nextEvent(events, 'instance.crashed', (e) => e.seq > crashed.seq);
    assert.equal(second.data.restartInMs, 2000);
    await clock.advance(1999);
    assert.equal((await queryType(events, 'instance.restarted')).length, 1);
    await clock.advance(1);
    await drive(clock, nextEvent(events, 'instance.ready', (e) => e.seq > second.seq));

    // ready for longer than reset_after: the next crash starts again from the initial delay
    await clock.advance(60_000);
    await get(a!.url + '/crash');
    const third = await nextEvent(events, 'instance.crashed', (e) => e.seq > second.seq);
    assert.equal(third.data.restartInMs, 1000);
  } finally {
    await drive(clock, target.close({ stopInstances: true }));
  }
});

test('LocalTarget: after a controller restart, instances are adopted, keep serving, and their crash is detected', async () => {
  const { stateDir, events, target } = setup();
  const started = await target.start(fixtureSpec(artifact), 2);
  await target.close();
  const next = new LocalTarget({ liveness_interval: 50, restart_backoff: { initial: 100, max: 1000, reset_after: 60_000 } }, { stateDir, events, clock: systemClock });
  try {
    const adopted = await next.adopt();
    assert.deepEqual(adopted.map((i) => i.pid).sort(), started.map((i) => i.pid).sort());
    const adoptedEvent = await nextEvent(events, 'instance.adopted');
    assert.equal(adoptedEvent.data.service, 'web');
    assert.equal(typeof adoptedEvent.data.pid, 'number');

    const victim = started[0]!;
    await get(victim.url + '/crash');
    const crashed = await nextEvent(events, 'instance.crashed', (e) => e.subject === `instance/${victim.id}`);
    assert.equal(crashed.data.detectedBy, 'poll');
    await nextEvent(events, 'instance.ready', (e) => e.subject === `instance/${victim.id}` && e.data.afterRestart === true);
    const now = next.list().find((i) => i.id === victim.id)!;
    assert.equal(now.port, victim.port);
    assert.equal(now.restarts, 1);
    assert.equal((await get(victim.url + '/healthz')).status, 200);
  } finally {
    await next.close({ stopInstances: true });
  }
});

test('LocalTarget: an adopted instance that is ours but unhealthy is replaced like a crashed one', async () => {
  const { stateDir, events, target } = setup();
  const [a] = await target.start(fixtureSpec(artifact, 'healthy', { health: { path: '/healthz', timeoutMs: 400, intervalMs: 25 } }), 1);
  await target.close();
  await get(a!.url + '/sick');
  const next = new LocalTarget({ restart_backoff: { initial: 100, max: 1000, reset_after: 60_000 } }, { stateDir, events, clock: systemClock });
  try {
    const [adopted] = await next.adopt();
    assert.equal(adopted!.id, a!.id);
    assert.equal((await nextEvent(events, 'instance.adopted')).data.healthy, false);
    assert.equal((await nextEvent(events, 'instance.crashed')).data.reason, 'unhealthy-when-adopted');
    await nextEvent(events, 'instance.ready', (e) => e.data.afterRestart === true);
    assert.equal(isSameProcessAlive(a!.pid, undefined), false, 'the sick process was killed');
    assert.equal((await get(a!.url + '/healthz')).status, 200);
  } finally {
    await next.close({ stopInstances: true });
  }
});

test('LocalTarget: instances survive the controller process being killed, and are adopted', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'gl-local-'));
  stateDirs.add(stateDir);
  const script = join(stateDir, 'controller.ts');
  writeFileSync(
    script,
    `import { LocalTarget } from ${JSON.stringify(join(import.meta.dirname, 'local-target.ts'))};
import { fixtureSpec } from ${JSON.stringify(join(import.meta.dirname, 'fixture-app.ts'))};
import { MemoryEventLog } from ${JSON.stringify(join(import.meta.dirname, '../../events/memory-log.ts'))};
import { systemClock } from ${JSON.stringify(join(import.meta.dirname, '../../clock/clock.ts'))};
const t = new LocalTarget({}, { stateDir: ${JSON.stringify(stateDir)}, events: new MemoryEventLog(), clock: systemClock });
const started = await t.start(fixtureSpec(${JSON.stringify(artifact)}), 1);
console.log(JSON.stringify(started));
setInterval(() => {}, 1000);
`,
  );
  const controller = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  controller.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 1000 && !out.includes('\n'); i++) await delay(10);
  const [inst] = JSON.parse(out) as { id: string; url: string; pid: number }[];
  controller.kill('SIGKILL');
  await new Promise((r) => controller.once('exit', r));
  assert.equal(await httpStatus(inst!.url + '/healthz'), 200, 'the instance outlives its controller');
  const events = new MemoryEventLog();
  const next = new LocalTarget({}, { stateDir, events, clock: systemClock });
  try {
    const adopted = await next.adopt();
    assert.deepEqual(adopted.map((i) => i.id), [inst!.id]);
    await next.stop([inst!.id]);
    assert.equal(await httpStatus(inst!.url + '/healthz'), 0);
  } finally {
    await next.close({ stopInstances: true });
  }
});

test('LocalTarget: a record whose pid now belongs to another process is not adopted, and that process is left alone', async () => {
  const { stateDir, events, target } = setup();
  const [a] = await target.start(fixtureSpec(artifact), 1);
  await target.close();
  // simulate: the instance died and the kernel gave its pid to an unrelated process (started later)
  const recordFile = join(stateDir, 'instances', `${a!.id}.json`);
  const record = JSON.parse(readFileSync(recordFile, 'utf8')) as Record<string, unknown>;
  process.kill(a!.pid, 'SIGKILL');
  await delay(30); // start times are in clock ticks (10 ms): the stranger must start in a later one
  const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  try {
    writeFileSync(recordFile, JSON.stringify({ ...record, pid: stranger.pid }));
    // and one record of an instance that simply is not running any more
    writeFileSync(join(stateDir, 'instances', 'web-dead.json'), JSON.stringify({ ...record, id: 'web-dead', pid: 2 ** 22 + 12345 }));

    const next = new LocalTarget({}, { stateDir, events, clock: systemClock });
    try {
      assert.deepEqual(await next.adopt(), []);
      const lost = await queryType(events, 'instance.lost');
      assert.deepEqual(
        lost.map((e) => [e.subject, e.data.reason]).sort(),
        [[`instance/${a!.id}`, 'pid-reused'], ['instance/web-dead', 'not-running']].sort(),
      );
      assert.equal(existsSync(recordFile), false);
      assert.equal(isSameProcessAlive(stranger.pid!, processStartTime(stranger.pid!)), true, 'the stranger is not killed');
    } finally {
      await next.close({ stopInstances: true });
    }
  } finally {
    stranger.kill('SIGKILL');
  }
});

test('LocalTarget: the registry builds it from config, and rejects an unknown kind with the known ones', () => {
  const deps = { stateDir: setup().stateDir, events: new MemoryEventLog(), clock: systemClock };
  const t = createTarget({ kind: 'local', port_range: [42000, 42100], restart_backoff: { initial: '500ms' } }, deps);
  assert.equal(t.kind, 'local');
  const parsed = targetConfigSchema.parse({ kind: 'local', restart_backoff: { initial: '2s' } });
  assert.deepEqual(parsed, { kind: 'local', port_range: [41000, 41999], restart_backoff: { initial: 2000, max: 30_000, reset_after: 60_000 }, liveness_interval: 1000 });
  assert.equal(createTarget(parsed, deps).kind, 'local', 'an already parsed config is accepted as is');
  assert.throws(() => createTarget({ kind: 'mainframe' }, deps), (e: { code?: string; hint?: string }) => e.code === 'CONFIG_INVALID' && /local/.test(e.hint ?? ''));
  assert.throws(() => createTarget({ kind: 'local', port_range: [5000, 4000] }, deps), (e: { code?: string }) => e.code === 'CONFIG_INVALID');
  assert.throws(() => createTarget({ kind: 'local', bogus: 1 }, deps), (e: { code?: string }) => e.code === 'CONFIG_INVALID');
});
