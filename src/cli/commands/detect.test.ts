import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { GreenlightError } from '../../errors/errors.ts';
import { ANOMALY_THRESHOLD } from '../../monitor/anomaly/detector.ts';
import { parseTimestamp, registerDetect, runDetect } from './detect.ts';

const dir = mkdtempSync(join(tmpdir(), 'gl-detect-'));

function csv(rows: number, spikeAt = -1): string {
  let s = 'timestamp,value\n';
  for (let i = 0; i < rows; i++) {
    const t = new Date(Date.UTC(2024, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
    s += `${t},${i === spikeAt ? 500 : 10 + Math.sin(i / 7)}\n`;
  }
  return s;
}

test('parses NAB, ISO and epoch timestamps', () => {
  assert.equal(parseTimestamp('2014-07-01 00:30:00'), Date.UTC(2014, 6, 1, 0, 30));
  assert.equal(parseTimestamp('2014-07-01T00:30:00.000000Z'), Date.UTC(2014, 6, 1, 0, 30));
  assert.equal(parseTimestamp('1404174600'), Date.UTC(2014, 6, 1, 0, 30));
  assert.ok(Number.isNaN(parseTimestamp('yesterday')));
});

test('writes one scored row per input row, and the spike scores highest', async () => {
  const input = join(dir, 'in.csv');
  const output = join(dir, 'out.csv');
  writeFileSync(input, csv(600, 400));
  const r = await runDetect(input, output);
  assert.equal(r.rows, 600);
  const lines = readFileSync(output, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'timestamp,value,anomaly_score');
  assert.equal(lines.length, 601);
  const scores = lines.slice(1).map((l) => Number(l.split(',')[2]));
  for (const s of scores) assert.ok(s >= 0 && s <= 1);
  const first = scores.findIndex((s) => s >= ANOMALY_THRESHOLD);
  assert.ok(first >= 400 && first <= 402, `first alarm at row ${first}`);
});

test('bad input names file:line and what is wrong, as a USAGE error', async () => {
  const input = join(dir, 'bad.csv');
  writeFileSync(input, 'timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,abc\n');
  await assert.rejects(runDetect(input, join(dir, 'x.csv')), (e: unknown) => e instanceof GreenlightError && e.code === 'USAGE' && e.message.includes('bad.csv:3') && e.message.includes('"abc"'));
  writeFileSync(input, 'time,v\n1,2\n');
  await assert.rejects(runDetect(input, join(dir, 'x.csv')), (e: unknown) => e instanceof GreenlightError && e.message.includes('bad.csv:1'));
  await assert.rejects(runDetect(join(dir, 'missing.csv'), join(dir, 'x.csv')), (e: unknown) => e instanceof GreenlightError && e.code === 'USAGE');
});

test('as a command in a real child process: stdout output, and exit code 2 on bad input', () => {
  const input = join(dir, 'cli.csv');
  writeFileSync(input, csv(50));
  const here = new URL('./detect.ts', import.meta.url).href;
  // resolved from the repository root so `commander` is found; stands in for the main CLI module
  const script = `import { Command } from 'commander'; import { registerDetect } from '${here}'; const p = new Command('greenlight'); registerDetect(p); await p.parseAsync(process.argv);`;
  const node = process.execPath;
  const args = (file: string) => ['--experimental-strip-types', '--no-warnings', '--input-type=module', '--eval', script, 'greenlight', 'detect', file];
  const root = new URL('../../../', import.meta.url).pathname;
  const out = execFileSync(node, args(input), { encoding: 'utf8', cwd: root });
  assert.equal(out.trim().split('\n').length, 51);
  const bad = join(dir, 'cli-bad.csv');
  writeFileSync(bad, 'timestamp,value\n2024-01-01 00:00:00,1\nnot-a-date,2\n');
  const r = spawnSync(node, args(bad), { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cli-bad\.csv:3: timestamp "not-a-date"/);
  assert.ok(registerDetect(new Command()) instanceof Command);
});
