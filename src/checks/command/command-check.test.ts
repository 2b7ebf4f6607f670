import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../../clock/clock.ts';
import type { CheckContext } from '../check.ts';
import { parseCheck } from '../registry.ts';
import { commandCheckSchema } from './command-check.ts';

function ctx(over: Partial<CheckContext> = {}): CheckContext {
  return {
    environment: 'staging',
    service: 'web',
    release: { version: '2.0.0', digest: 'sha256:abc', requires: {} },
    routerUrl: 'http://127.0.0.1:8081',
    instanceUrls: ['http://127.0.0.1:41234', 'http://127.0.0.1:41235'],
    dependencies: {},
    clock: systemClock,
    ...over,
  };
}

const run = (spec: Record<string, unknown>, c: CheckContext = ctx()) => parseCheck('cmd', { kind: 'command', ...spec }).run(c);
type Out = { stdout: string; stderr: string; stdoutTruncated: boolean; exitCode: number | null };

/** alive unless gone or a zombie waiting for a reaper (it no longer runs anything) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('command: exit 0 passes, is a pre check by default, and sees the deployment in GREENLIGHT_* variables', async () => {
  const check = parseCheck('env', {
    kind: 'command',
    command: 'echo "$GREENLIGHT_ENVIRONMENT $GREENLIGHT_SERVICE $GREENLIGHT_VERSION $GREENLIGHT_ROUTER_URL [$GREENLIGHT_INSTANCE_URLS] $EXTRA"',
    env: { EXTRA: 'x1' },
  });
  assert.equal(check.phase, 'pre');
  const r = await check.run(ctx());
  assert.equal(r.verdict, 'pass', r.message);
  assert.equal((r.details as Out).stdout, 'staging web 2.0.0 http://127.0.0.1:8081 [http://127.0.0.1:41234 http://127.0.0.1:41235] x1\n');
});

test('command: a wrong exit code fails with the code, the expectation and the last output line', async () => {
  const r = await run({ command: 'echo starting; echo "login: 401 from acme-auth" >&2; exit 3' });
  assert.equal(r.verdict, 'fail');
  assert.match(r.message, /exited with 3, expected 0; last output: login: 401 from acme-auth/);
  assert.equal((r.details as Out).stdout, 'starting\n');
  assert.equal((r.details as Out).exitCode, 3);
  assert.equal((await run({ command: 'exit 3', expect_exit: 3 })).verdict, 'pass');
});

test('command: an array runs the program directly, without a shell', async () => {
  const r = await run({ command: [process.execPath, '-e', 'console.log(process.argv[1])', 'a b; exit 1'] });
  assert.equal(r.verdict, 'pass', r.message);
  assert.equal((r.details as Out).stdout, 'a b; exit 1\n');
});

test('command: a program that cannot be started is an error, not a fail', async () => {
  const direct = await run({ command: ['/nonexistent/greenlight-smoke'] });
  assert.equal(direct.verdict, 'error');
  assert.match(direct.message, /could not start \/nonexistent\/greenlight-smoke: ENOENT/);
  const shell = await run({ command: 'greenlight-no-such-command-xyz' });
  assert.equal(shell.verdict, 'error');
  assert.match(shell.message, /could not be run by the shell \(exit 127, command not found\)/);
});

test('command: output is kept as the last 4 KiB of each stream', async () => {
  const r = await run({ command: [process.execPath, '-e', 'process.stdout.write("a".repeat(10000) + "THE END")'] });
  const d = r.details as Out;
  assert.equal(r.verdict, 'pass');
  assert.equal(Buffer.byteLength(d.stdout), 4096);
  assert.ok(d.stdout.endsWith('aTHE END'));
  assert.equal(d.stdoutTruncated, true);
});

test('command: a timeout kills the whole process group and is an error saying so', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gl-cmd-'));
  try {
    const pidFile = path.join(dir, 'pids');
    const started = Date.now();
    const r = await run({ command: `sleep 30 & echo $! > ${pidFile}; echo $$ >> ${pidFile}; echo waiting; wait`, timeout: '300ms' });
    assert.equal(r.verdict, 'error');
    assert.match(r.message, /did not finish within 300ms; it and every process it started were killed/);
    assert.equal((r.details as Out & { timedOut: boolean }).timedOut, true);
    assert.equal((r.details as Out).stdout, 'waiting\n');
    assert.ok(Date.now() - started < 10_000, 'did not wait for sleep 30');
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} is still running`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('command: a process that ignores SIGTERM is killed after the grace period', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gl-cmd-'));
  try {
    const pidFile = path.join(dir, 'pid');
    const r = await run({ command: `trap '' TERM; echo $$ > ${pidFile}; while :; do sleep 0.05; done`, timeout: '200ms' });
    assert.equal(r.verdict, 'error');
    assert.equal(alive(Number(readFileSync(pidFile, 'utf8'))), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('command: background jobs left by a finished command do not outlive the check', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gl-cmd-'));
  try {
    const pidFile = path.join(dir, 'pid');
    const r = await run({ command: `sleep 30 > /dev/null 2>&1 & echo $! > ${pidFile}; exit 0` });
    assert.equal(r.verdict, 'pass');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(alive(pid), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('command: cwd "artifact" runs in the release artifact, and is an error when none is known', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gl-artifact-'));
  try {
    writeFileSync(path.join(dir, 'smoke.sh'), 'echo artifact-ok\n');
    const r = await run({ command: 'sh smoke.sh', cwd: 'artifact' }, ctx({ release: { version: '2.0.0', digest: 'd', requires: {}, artifactPath: dir } }));
    assert.equal(r.verdict, 'pass', r.message);
    assert.equal((r.details as Out).stdout, 'artifact-ok\n');
    const none = await run({ command: 'true', cwd: 'artifact' });
    assert.equal(none.verdict, 'error');
    assert.match(none.message, /no artifact path is known for web@2\.0\.0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('command: a cancelled deployment kills the command', async () => {
  const ac = new AbortController();
  const p = run({ command: 'sleep 30', timeout: '20s' }, ctx({ signal: ac.signal }));
  setTimeout(() => ac.abort(new Error('deployment cancelled')), 100);
  const r = await p;
  assert.equal(r.verdict, 'error');
  assert.match(r.message, /was cancelled/);
});

test('command: config is strict', () => {
  assert.equal(commandCheckSchema.safeParse({ kind: 'command', command: 'true', timeout: '5s', expect_exit: 0 }).success, true);
  assert.equal(commandCheckSchema.safeParse({ kind: 'command', command: '' }).success, false);
  assert.equal(commandCheckSchema.safeParse({ kind: 'command', command: 'true', shell: true }).success, false);
  assert.equal(commandCheckSchema.safeParse({ kind: 'command', command: 'true', expect_exit: 300 }).success, false);
});
