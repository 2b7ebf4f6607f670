// Seeded, bounded fuzzing of configuration files: whatever the bytes, loading ends in a config or
// a ConfigError (located problems, exit 2), never another exception or a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, parseConfigText } from './load.ts';
import { seededRandom } from '../analysis/simulation.ts';

const SEED = 0x9e3779b9;
const CASES = 3000;
const example = readFileSync(new URL('../../examples/greenlight.yaml', import.meta.url), 'utf8');

const prng = seededRandom;

const FRAGMENTS = ['&a', '*a', '*nope', '<<: *a', '{', '}', '[', ']', ': ', '- ', '\t', '"', "'", '!!binary', '!!js/function', '? ', '|', '>', '%YAML 1.1', '---', '...', '~', 'null', '1e999', '-0', '0x1F', '__proto__: {}', 'constructor: 1', '\u0000', '\uFEFF', '\u202e', '😀', 'state_dir: /', 'listen: "0.0.0.0:1"', 'version: 2', 'port: 99999', '{a: *a}', '&b [*b]'];

export function mutate(text: string, rnd: () => number): string {
  let lines = text.split('\n');
  const ops = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < ops; i++) {
    const at = Math.floor(rnd() * lines.length);
    const r = rnd();
    const frag = FRAGMENTS[Math.floor(rnd() * FRAGMENTS.length)]!;
    if (r < 0.2) lines.splice(at, 1);
    else if (r < 0.4) lines.splice(at, 0, ' '.repeat(Math.floor(rnd() * 8)) + frag);
    else if (r < 0.6) {
      const l = lines[at] ?? '';
      const pos = Math.floor(rnd() * (l.length + 1));
      lines[at] = l.slice(0, pos) + frag + l.slice(pos);
    } else if (r < 0.7) lines = lines.slice(0, at);
    else if (r < 0.8) lines[at] = (lines[at] ?? '').replace(/: .*/, ': ' + frag);
    else if (r < 0.9) lines.splice(at, 0, ...lines.slice(at, at + 1 + Math.floor(rnd() * 5)));
    else {
      const l = lines[at] ?? '';
      const pos = Math.floor(rnd() * (l.length + 1));
      lines[at] = l.slice(0, pos) + String.fromCharCode(Math.floor(rnd() * 0x300)) + l.slice(pos);
    }
  }
  return lines.join('\n');
}

test(`config fuzz: ${CASES} seeded mutations of the example, every one a config or a ConfigError`, () => {
  const rnd = prng(SEED);
  let refused = 0;
  let accepted = 0;
  const other: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const text = mutate(example, rnd);
    try {
      parseConfigText(text, 'fuzz.yaml');
      accepted++;
    } catch (err) {
      if (err instanceof ConfigError) {
        refused++;
        assert.ok(err.problems.length > 0);
        assert.doesNotMatch(err.message, /\n\s+at .+:\d+:\d+/, 'no stack trace in the message');
      } else other.push(`case ${i}: ${(err as Error)?.stack ?? String(err)}\n--- input ---\n${text.slice(0, 400)}`);
    }
  }
  assert.deepEqual(other.slice(0, 3), [], `${other.length} inputs ended in something other than a ConfigError`);
  assert.equal(refused + accepted, CASES);
  assert.ok(refused > CASES / 2, `most mutations are invalid (refused ${refused})`);
});

test('config fuzz through the CLI: exit 2 and no stack trace on stderr (seeded sample)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-config-fuzz-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = new URL('../../bin/greenlight.js', import.meta.url).pathname;
  const rnd = prng(SEED ^ 0x5bd1e995);
  const run = promisify(execFile);
  for (let i = 0; i < 6; i++) {
    const file = join(dir, `c${i}.yaml`);
    writeFileSync(file, mutate(example, rnd));
    const r = await run(process.execPath, [bin, 'validate', file], { timeout: 20_000 }).then((o) => ({ code: 0, ...o }), (e: { code: number; stdout: string; stderr: string }) => e);
    assert.ok(r.code === 0 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+|TypeError|ReferenceError|RangeError/, r.stderr);
  }
});
