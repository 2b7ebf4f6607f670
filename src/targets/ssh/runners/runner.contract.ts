// The contract every runner (how an instance is kept alive on a host) passes, on a real host of
// the test fleet: it starts the supervisor so that it outlives the SSH connection, reports it
// alive with its pids, stops it gracefully on request (TERM, SIGKILL after the grace, a "stopped"
// line), kills it so that nothing starts it again, and leaves nothing to start it after remove.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { parseSupervisorLine, type RemoteHost, type SupervisorLine } from '../host.ts';
import type { InstanceRunner, LaunchOptions } from './runner.ts';

export interface RunnerHarness {
  /** a fresh host (its own connection), and the runner under test on it */
  open(): { host: RemoteHost; runner: InstanceRunner; close(): void };
  /** the host's processes, as the host itself sees them (a pid is alive and not a zombie) */
  processAlive(pid: number): boolean;
  /** what the runner leaves on the host besides the instance directory, to check it is gone after remove */
  leftovers(id: string): string[];
}

// a shell loop standing in for a service: logs, traps TERM unless told not to
const SERVICE = (ignoreTerm: boolean) =>
  `echo "service $$ up"; trap '${ignoreTerm ? 'echo ignoring TERM' : 'echo draining; exit 0'}' TERM; while :; do sleep 0.05; done`;

function launchOptions(id: string, over: Partial<LaunchOptions> = {}): LaunchOptions {
  return {
    id,
    digest: `sha256:${'0'.repeat(64)}`,
    command: SERVICE(false),
    env: { GREETING: "it's 100% $ok" },
    graceMs: 600,
    backoff: { initial: 100, max: 1000, reset_after: 60_000 },
    describe: { service: 'svc', version: '1.0.0', environment: 'test' },
    ...over,
  };
}

async function lines(host: RemoteHost, id: string): Promise<SupervisorLine[]> {
  const r = await host.conn.exec(`cat ${host.eventsFile} 2>/dev/null || true`, { timeoutMs: 10_000 });
  return r.stdout.split('\n').map(parseSupervisorLine).filter((l): l is SupervisorLine => l !== undefined && l.id === id);
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

export function runnerContract(name: string, makeHarness: () => RunnerHarness): void {
  let n = 0;
  const fresh = async (harness: RunnerHarness, over: Partial<LaunchOptions> = {}) => {
    const opened = harness.open();
    const id = `svc-${process.pid.toString(16)}${(n++).toString(16).padStart(4, '0')}`;
    // the release directory run.sh changes into
    await opened.host.prepare();
    await opened.host.conn.exec(`mkdir -p ${opened.host.releaseDir(launchOptions(id).digest)}`);
    return { ...opened, id, opts: launchOptions(id, over) };
  };

  test(`${name}: the supervisor is launched detached, reports its pid, and its instance runs with its environment`, async () => {
    const harness = makeHarness();
    const { host, runner, close, id, opts } = await fresh(harness, { command: `echo "greeting=$GREETING"; ${SERVICE(false)}` });
    try {
      const pid = await runner.launch(opts);
      assert.ok(pid > 0, `a pid: ${pid}`);
      const started = await until('the started line', async () => (await lines(host, id)).find((l) => l.kind === 'started'));
      assert.equal(Number(started.args[2]), pid, 'the started line carries the supervisor pid launch returned');
      const alive = await runner.alive(id);
      assert.equal(alive?.supervisorPid, pid);
      assert.equal(alive?.childPid, Number(started.args[0]));
      assert.ok(harness.processAlive(alive!.childPid));
      assert.match((await until('the log', async () => (await host.logTail(id)).join('\n').includes('greeting') && (await host.logTail(id)).join('\n'))), /greeting=it's 100% \$ok/);
      // the connection goes (the controller's end): the supervisor and its instance stay
      close();
      const again = harness.open();
      try {
        assert.equal((await again.runner.alive(id))?.supervisorPid, pid, 'alive after the SSH connection closed');
        await again.runner.kill(id, pid, alive!.childPid);
        await again.runner.remove(id);
      } finally {
        again.close();
      }
    } finally {
      close();
    }
  });

  test(`${name}: a graceful stop sends TERM to the instance and reports it stopped; remove leaves nothing to start it again`, async () => {
    const harness = makeHarness();
    const { host, runner, close, id, opts } = await fresh(harness);
    try {
      const pid = await runner.launch(opts);
      await until('started', async () => (await lines(host, id)).find((l) => l.kind === 'started'));
      await host.arm(id);
      await runner.requestStop(id, pid);
      const stopped = await until('the stopped line', async () => (await lines(host, id)).find((l) => l.kind === 'stopped'));
      assert.equal(stopped.args[1], '1', 'graceful: the instance exited on TERM within the grace');
      assert.match((await host.logTail(id)).join('\n'), /draining/);
      await until('not alive', async () => (await runner.alive(id)) === undefined);
      await runner.remove(id);
      assert.deepEqual(harness.leftovers(id), []);
      assert.equal(await runner.alive(id), undefined);
    } finally {
      close();
    }
  });

  test(`${name}: an instance ignoring TERM is killed after the grace`, async () => {
    const harness = makeHarness();
    const { host, runner, close, id, opts } = await fresh(harness, { command: SERVICE(true), graceMs: 300 });
    try {
      const pid = await runner.launch(opts);
      const started = await until('started', async () => (await lines(host, id)).find((l) => l.kind === 'started'));
      // the test hosts share this machine's clock: the stop is asked at `asked` on the host's too
      const asked = Date.now();
      await runner.requestStop(id, pid);
      const stopped = await until('the stopped line', async () => (await lines(host, id)).find((l) => l.kind === 'stopped'));
      assert.equal(stopped.args[1], '0', 'not graceful: killed after the grace');
      assert.ok(stopped.at - asked >= 250, `the grace was given before the SIGKILL (${stopped.at - asked} ms after the request)`);
      await until('the child gone', async () => !harness.processAlive(Number(started.args[0])));
      await runner.remove(id);
    } finally {
      close();
    }
  });

  test(`${name}: kill ends supervisor and instance, and nothing starts them again`, async () => {
    const harness = makeHarness();
    const { host, runner, close, id, opts } = await fresh(harness);
    try {
      const pid = await runner.launch(opts);
      const started = await until('started', async () => (await lines(host, id)).find((l) => l.kind === 'started'));
      await host.arm(id);
      await runner.kill(id, pid, Number(started.args[0]));
      await until('not alive', async () => (await runner.alive(id)) === undefined);
      assert.ok(!harness.processAlive(pid));
      await until('the child gone', async () => !harness.processAlive(Number(started.args[0])));
      // a moment longer than any restart delay: still nothing
      await delay(1500);
      assert.equal(await runner.alive(id), undefined);
      assert.equal((await lines(host, id)).filter((l) => l.kind === 'started').length, 1, 'not started again');
      await runner.remove(id);
      assert.deepEqual(harness.leftovers(id), []);
    } finally {
      close();
    }
  });

  test(`${name}: an unknown instance is not alive`, async () => {
    const harness = makeHarness();
    const { runner, close } = harness.open();
    try {
      assert.equal(await runner.alive('svc-unknown'), undefined);
    } finally {
      close();
    }
  });
}
