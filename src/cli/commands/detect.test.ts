import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { GreenlightError } from '../../errors/errors.ts';
import { ANOMALY_THRESHOLD } from '../../monitor/anomaly/detector.ts';
import { parseTimestamp, registerDetect, runDetect } from './detect.ts';

const dir = mkdtempSync(join(tmpdir(), 'gl-detect-'));
// shared/ beside the repository (CI's layout), or one level further up for a worktree
const repo = new URL('../../../', import.meta.url).pathname;
const nabFile = [join(repo, '..', 'shared'), join(repo, '..', '..', 'shared')]
  .map((d) => join(d, 'data/nab/data/realKnownCause/machine_temperature_system_failure.csv'))
  .find((f) => existsSync(f)) ?? join(repo, '..', 'shared/data/nab/data/realKnownCause/machine_temperature_system_failure.csv');

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

test('a file that is not a timestamp,value CSV is refused with file:line, as a USAGE error', async () => {
  const input = join(dir, 'bad.csv');
  writeFileSync(input, 'time,v\n1,2\n');
  await assert.rejects(runDetect(input, join(dir, 'x.csv')), (e: unknown) => e instanceof GreenlightError && e.message.includes('bad.csv:1'));
  await assert.rejects(runDetect(join(dir, 'missing.csv'), join(dir, 'x.csv')), (e: unknown) => e instanceof GreenlightError && e.code === 'USAGE');
});

test('rows as they come: a step back (as in NAB machine_temperature), duplicates, a gap and non-numbers are scored or skipped and counted, never refused', async () => {
  // 5-minute rows; row 300 steps back 55 minutes (as row 10,151 of machine_temperature_system_failure.csv
  // does), rows 400-402 repeat one timestamp (a DST fold), a 6-hour gap before row 500, a value "abc"
  // at row 450 and an empty value at row 451
  const base = Date.UTC(2024, 0, 1);
  const stamps: number[] = [];
  let t = base;
  for (let i = 0; i < 600; i++) {
    if (i === 300) t -= 60 * 60_000;
    else if (i === 401 || i === 402) t += 0;
    else if (i === 500) t += 6 * 3600_000;
    else if (i > 0) t += 300_000;
    stamps.push(t);
  }
  const fmt = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
  let text = 'timestamp,value\n';
  for (const [i, ms] of stamps.entries()) text += `${fmt(ms)},${i === 450 ? 'abc' : i === 451 ? '' : 10 + Math.sin(i / 7)}\n`;
  const input = join(dir, 'as-they-come.csv');
  const output = join(dir, 'as-they-come.out.csv');
  writeFileSync(input, text);
  const r = await runDetect(input, output);
  assert.equal(r.rows, 600);
  const lines = readFileSync(output, 'utf8').trim().split('\n');
  assert.equal(lines.length, 601, 'one output row per input row');
  // line numbers are 1-based with the header on line 1, so data row i is on line i + 2
  assert.deepEqual(r.irregularities['step back'], { count: 1, first: 302, firstDetail: `${fmt(stamps[300]!)} after ${fmt(stamps[299]!)}` });
  assert.equal(r.irregularities.duplicate?.count, 2);
  assert.equal(r.irregularities.duplicate?.first, 403);
  assert.equal(r.irregularities.gap?.count, 1);
  assert.equal(r.irregularities.gap?.first, 502);
  assert.equal(r.irregularities['not a number']?.count, 2);
  assert.equal(r.irregularities['not a number']?.first, 452);
  assert.equal(lines[451]!.split(',')[2], '', 'the row without a number has no score');
  assert.ok(Number.isFinite(Number(lines[452]!.split(',')[2])));
  assert.equal(r.warnings.length, 4);
  assert.match(r.warnings[0]!, /as-they-come\.csv: 1 row steps back in time \(first at line 302: .*\); scored in arrival order/);
  assert.match(r.warnings[3]!, /2 rows have no usable number \(first at line 452: value "abc" at .*\); skipped, not scored/);
});

test('NAB machine_temperature_system_failure.csv (row 10,151 steps back 55 minutes) is scored whole', { skip: existsSync(nabFile) ? false : `NAB subset not found at ${nabFile}` }, async () => {
  const r = await runDetect(nabFile, join(dir, 'machine.out.csv'));
  assert.equal(r.rows, 22695);
  assert.equal(r.irregularities['step back']?.count, 1);
  assert.equal(r.irregularities['step back']?.first, 10151);
  assert.equal(readFileSync(join(dir, 'machine.out.csv'), 'utf8').trim().split('\n').length, 22696);
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
  assert.equal(r.status, 0, 'a row without a date is skipped, not a refusal');
  assert.match(r.stderr, /warning: .*cli-bad\.csv: 1 row has no usable number \(first at line 3: timestamp "not-a-date"\); skipped/);
  const header = spawnSync(node, args(join(dir, 'missing.csv')), { encoding: 'utf8', cwd: root });
  assert.equal(header.status, 2);
  assert.ok(registerDetect(new Command()) instanceof Command);
});

test('awkward files: a quoted cell with a comma stays one cell in the output, a header alone is said, a header with control characters is not echoed raw', async () => {
  const input = join(dir, 'quoted.csv');
  const output = join(dir, 'quoted.out.csv');
  writeFileSync(input, '\uFEFFtimestamp,value\r\n2024-01-01 00:00:00,1\r\n2024-01-01 00:05:00,"1,5"\r\n"2024-01-01 00:10:00",2\r\n');
  const r = await runDetect(input, output);
  assert.equal(r.rows, 3);
  const lines = readFileSync(output, 'utf8').trim().split('\n');
  assert.deepEqual(lines.slice(1).map((l) => l.replace(/,[0-9.]*$/, '')), ['2024-01-01 00:00:00,1', '2024-01-01 00:05:00,"1,5"', '2024-01-01 00:10:00,2']);
  assert.equal(lines[2], '2024-01-01 00:05:00,"1,5",', 'the non-number keeps an empty score');

  const onlyHeader = join(dir, 'header-only.csv');
  writeFileSync(onlyHeader, 'timestamp,value\n');
  const h = await runDetect(onlyHeader, join(dir, 'header-only.out.csv'));
  assert.equal(h.rows, 0);
  assert.deepEqual(h.warnings, [`${onlyHeader}: no data rows after the header; nothing scored`]);

  const ansi = join(dir, 'ansi-header.csv');
  writeFileSync(ansi, '\x1b[31mtimestamp\x1b[0m,val\x1b]0;title\x07\n1,2\n');
  await assert.rejects(runDetect(ansi, join(dir, 'x.csv')), (e: unknown) => e instanceof GreenlightError && !/[\x00-\x08\x0b-\x1f\x7f]/.test(e.message) && e.message.includes('\\u001b[31mtimestamp'));
});
