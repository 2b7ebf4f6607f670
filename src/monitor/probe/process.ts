// CPU and memory of local instances read straight from /proc (Linux), so instances that expose no
// metrics endpoint still get process_cpu_seconds_total and process_resident_memory_bytes series.
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import type { Labels } from '../series/labels.ts';
import type { SeriesStore } from '../series/store.ts';

export interface ProcessMetrics {
  pid: number;
  /** user + system CPU time since the process started */
  cpuSecondsTotal: number;
  residentBytes: number;
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of /proc/<pid>/stat times; 100 on practically every Linux, asked once. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Parses /proc/<pid>/stat text: utime and stime are fields 14 and 15, counted after the "(comm)" field. */
export function parseStat(text: string): { utimeTicks: number; stimeTicks: number } {
  // comm may itself contain spaces and parentheses, so split after the last ")"
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field n is rest[n - 3]
  return { utimeTicks: Number(rest[11]), stimeTicks: Number(rest[12]) };
}

/** Parses VmRSS from /proc/<pid>/status ("VmRSS:\t  12345 kB") into bytes; 0 for kernel threads and zombies. */
export function parseVmRss(text: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

export async function readProcessMetrics(pid: number): Promise<ProcessMetrics> {
  if (process.platform !== 'linux') {
    throw new GreenlightError('INTERNAL', `process metrics need /proc (Linux); this is ${process.platform}`, {
      hint: 'expose a Prometheus /metrics endpoint from the service and scrape it instead',
    });
  }
  let stat: string;
  let status: string;
  try {
    [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  } catch (err) {
    throw new GreenlightError('NOT_FOUND', `no process ${pid}`, {
      retryable: false,
      hint: 'the instance has exited; look at its logs and the instance events',
      cause: err,
    });
  }
  const { utimeTicks, stimeTicks } = parseStat(stat);
  return { pid, cpuSecondsTotal: (utimeTicks + stimeTicks) / ticksPerSecond(), residentBytes: parseVmRss(status) };
}

export interface WatchedProcess {
  pid: number;
  /** e.g. { service, version, instance }; pid is added */
  labels?: Labels;
}

export interface ProcessSamplerOptions {
  clock: Clock;
  store: SeriesStore;
  intervalMs?: number;
  /** asked at every sample, so instances can come and go */
  processes: () => WatchedProcess[];
}

/** Samples watched processes on the clock into process_cpu_seconds_total, process_resident_memory_bytes and process_up. */
export class ProcessSampler {
  private readonly opts: ProcessSamplerOptions;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;

  constructor(opts: ProcessSamplerOptions) {
    this.opts = opts;
  }

  async sampleOnce(): Promise<void> {
    const { clock, store } = this.opts;
    const at = clock.now();
    await Promise.all(
      this.opts.processes().map(async (p) => {
        const labels = { ...p.labels, pid: String(p.pid) };
        try {
          const m = await readProcessMetrics(p.pid);
          store.add('process_cpu_seconds_total', labels, m.cpuSecondsTotal, at, 'counter');
          store.add('process_resident_memory_bytes', labels, m.residentBytes, at, 'gauge');
          store.add('process_up', labels, 1, at, 'gauge');
        } catch {
          store.add('process_up', labels, 0, at, 'gauge');
        }
      }),
    );
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.running ??= this.sampleOnce().finally(() => (this.running = undefined));
      this.timer = this.opts.clock.setTimeout(tick, this.opts.intervalMs ?? 15_000);
    };
    tick();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
