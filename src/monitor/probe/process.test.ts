import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ManualClock } from '../../clock/clock.ts';
import { SeriesStore } from '../series/store.ts';
import { ProcessSampler, parseStat, parseVmRss, readProcessMetrics } from './process.ts';

const linux = process.platform === 'linux';
const skip = linux ? false : `needs /proc (Linux); this is ${process.platform}`;

test('parseStat copes with spaces and parentheses in the command name', () => {
  const line = '4242 (my (weird) app) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 4 0 12345 1000000 2500 18446744073709551615';
  assert.deepEqual(parseStat(line), { utimeTicks: 250, stimeTicks: 75 });
  assert.equal(parseVmRss('Name:\tnode\nVmRSS:\t   51200 kB\nThreads:\t7\n'), 51200 * 1024);
  assert.equal(parseVmRss('Name:\tkthreadd\n'), 0);
});

test('reads this process: RSS agrees with process.memoryUsage()', { skip }, async () => {
  const m = await readProcessMetrics(process.pid);
  const rss = process.memoryUsage().rss;
  assert.ok(m.residentBytes > rss / 2 && m.residentBytes < rss * 2, `${m.residentBytes} vs ${rss}`);
  assert.ok(m.cpuSecondsTotal > 0);
});

test('a busy child process accumulates CPU seconds; an exited one is process_up 0', { skip }, async () => {
  // burns ~400 ms of CPU, then idles until killed
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 400; while (Date.now() < end) {} setInterval(() => {}, 1000)'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const clock = new ManualClock(0);
    const store = new SeriesStore({ clock });
    const sampler = new ProcessSampler({ clock, store, intervalMs: 1_000, processes: () => [{ pid: child.pid!, labels: { service: 'busy' } }] });
    sampler.start();
    await sampler.idle();
    // bounded: at most 100 x 50 ms of real time for the child to burn its CPU
    for (let i = 0; i < 100; i++) {
      const m = await readProcessMetrics(child.pid!);
      if (m.cpuSecondsTotal >= 0.3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await clock.advance(1_000);
    await sampler.idle();
    const labels = { service: 'busy', pid: String(child.pid) };
    const cpu = store.range('process_cpu_seconds_total', labels, { windowMs: 10_000 });
    assert.equal(cpu.length, 2);
    assert.ok(cpu[1]!.v - cpu[0]!.v >= 0.1, `cpu ${cpu.map((p) => p.v)}`);
    assert.ok(store.latest('process_resident_memory_bytes', labels)[0]!.value > 1024 * 1024);
    assert.equal(store.select('process_cpu_seconds_total')[0]!.kind, 'counter');

    child.kill('SIGKILL');
    await exited;
    await clock.advance(1_000);
    await sampler.idle();
    sampler.stop();
    assert.deepEqual(store.range('process_up', labels, { windowMs: 10_000 }).map((p) => p.v), [1, 1, 0]);
    await assert.rejects(readProcessMetrics(child.pid!), { code: 'NOT_FOUND' });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
});
