// `greenlight detect <input.csv> [--output <file>]`: streams a `timestamp,value` CSV through the
// anomaly detector and writes `timestamp,value,anomaly_score`, one row per input row.
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { GreenlightError, exitCodeFor } from '../../errors/errors.ts';
import { createDetector, type DetectorOptions } from '../../monitor/anomaly/detector.ts';
import { ArrivalOrder, describeIrregularities, type Irregularity, type IrregularityCount } from '../../monitor/series/arrival.ts';
import { terminalSafe } from '../terminal.ts';

/** Accepts ISO 8601, NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` (read as UTC) and Unix epoch seconds or ms. */
export function parseTimestamp(text: string): number {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    // epoch seconds until the year 5138, then milliseconds
    return Math.abs(n) < 1e11 ? n * 1000 : n;
  }
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (m) {
    const frac = m[3] ? m[3].slice(0, 4) : '';
    return Date.parse(`${m[1]}T${m[2]}${frac}${m[4] ?? 'Z'}`);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) return Date.parse(`${t}T00:00:00Z`);
  return Number.NaN;
}

function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** A cell as written back: quoted when it holds a comma, a quote or a line break, so the output stays a 3-column CSV. */
function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function usage(message: string, hint: string, data?: Record<string, unknown>): GreenlightError {
  return new GreenlightError('USAGE', message, { hint, ...(data ? { data } : {}) });
}

export interface DetectResult {
  rows: number;
  alarms: number;
  /** rows out of order, repeated, after a gap or without a number: counted, never refused */
  irregularities: Partial<Record<Irregularity, IrregularityCount>>;
  /** one sentence per kind of irregularity, for the person running the command */
  warnings: string[];
}

/**
 * Streams `input` through a detector into `out`, one output row per data row, in arrival order (as a
 * live stream would come). Rows that step back in time, repeat a timestamp or follow a gap are scored
 * and counted; a row without a usable timestamp or number is written with an empty score and not fed
 * to the detector. Only a file that cannot be read as a `timestamp,value` CSV is refused (file:line).
 */
export async function detectStream(input: string, out: Writable, opts: DetectorOptions = {}): Promise<DetectResult> {
  const stream = createReadStream(input, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usage(`${input}: cannot read the input file (${code ?? String(err)})`, 'give the path of a readable CSV file with a `timestamp,value` header', { file: input });
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const detector = createDetector(opts);
  let lineNo = 0;
  let tsCol = -1;
  let valCol = -1;
  let rows = 0;
  let alarms = 0;
  const order = new ArrivalOrder();
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  try {
    for await (const raw of lines) {
      lineNo++;
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (line.trim() === '') continue;
      const cells = splitCsvLine(line);
      if (tsCol < 0) {
        const names = cells.map((c) => c.trim().toLowerCase());
        tsCol = names.indexOf('timestamp');
        valCol = names.indexOf('value');
        if (tsCol < 0 || valCol < 0) {
          throw usage(`${input}:${lineNo}: expected a header naming the columns \`timestamp\` and \`value\`, got "${terminalSafe(line.slice(0, 80))}"`, 'the first line must be a header such as `timestamp,value`', { file: input, line: lineNo });
        }
        await write('timestamp,value,anomaly_score\n');
        continue;
      }
      const tsText = cells[tsCol] ?? '';
      const valText = cells[valCol] ?? '';
      const ts = parseTimestamp(tsText);
      const value = valText.trim() === '' ? Number.NaN : Number(valText);
      rows++;
      const echo = `${csvCell(tsText.trim())},${csvCell(valText.trim())}`;
      if (order.check(ts, value, lineNo, tsText.trim(), valText.trim()) === 'not a number') {
        await write(`${echo},\n`);
        continue;
      }
      const score = detector.update(ts, value);
      if (detector.alarm) alarms++;
      await write(`${echo},${score.toFixed(6)}\n`);
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  if (tsCol < 0) {
    throw usage(`${input}:1: the file is empty; expected a \`timestamp,value\` header`, 'give a CSV with a header and rows', { file: input, line: 1 });
  }
  const irregularities = order.counts();
  const warnings = describeIrregularities(irregularities, 'line').map((w) => `${input}: ${w}`);
  // a header and nothing else is not refused (a stream may not have started), but it is said
  if (rows === 0) warnings.push(`${input}: no data rows after the header; nothing scored`);
  return { rows, alarms, irregularities, warnings };
}

/** Runs the command; `output` undefined writes to stdout. */
export async function runDetect(input: string, output?: string, opts: DetectorOptions = {}): Promise<DetectResult> {
  if (output === undefined) return detectStream(input, process.stdout, opts);
  const out = createWriteStream(output);
  try {
    await once(out, 'open');
  } catch (err) {
    throw usage(`${output}: cannot write the output file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'give a writable path to --output', { file: output });
  }
  try {
    return await detectStream(input, out, opts);
  } finally {
    out.end();
    await once(out, 'close');
  }
}

export function registerDetect(program: Command): Command {
  return program
    .command('detect')
    .description('score every row of a `timestamp,value` CSV with the streaming anomaly detector')
    .argument('<input.csv>', 'CSV with a `timestamp,value` header')
    .option('-o, --output <file>', 'write `timestamp,value,anomaly_score` here instead of stdout')
    .action(async (input: string, options: { output?: string }) => {
      try {
        const r = await runDetect(input, options.output);
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      } catch (err) {
        if (!(err instanceof GreenlightError)) throw err;
        process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
        process.exitCode = exitCodeFor(err.code);
      }
    });
}
