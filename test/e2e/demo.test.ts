// `greenlight demo` as its user runs it (a real CLI process), asserting each outcome.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/greenlight.js', import.meta.url));

test('greenlight demo replays 3 June 2023: forced v2 rolled back, blocked in staging, promoted after the upgrade', { timeout: 180_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'gl-demo-out-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, 'demo', '--json', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  assert.equal(run.code, 0, run.stderr + run.stdout.slice(-2000));
  const r = JSON.parse(run.stdout);
  const [a, b, c, d] = r.phases;
  assert.equal(a.state, 'promoted');
  assert.equal(b.state, 'rolled_back');
  assert.ok(b.requests > 0 && b.failed / b.requests < 0.01, `b: ${b.failed}/${b.requests} failed`);
  assert.ok(b.canaryFailed > 0 && b.canaryFailed === b.canaryRequests, 'the forced canary failed every request it answered (otherwise nothing was tested)');
  assert.ok(b.failed <= b.canaryFailed - b.canaryRescued, 'clients saw at most the canary failures the router could not replay on stable');
  assert.equal(c.state, 'blocked');
  assert.match(c.reason, /acme-auth 2\.4\.1 does not satisfy/);
  assert.equal(c.failed, 0);
  assert.equal(d.state, 'promoted');
  assert.equal(d.failed, 0);
  assert.ok(r.durationMs < 120_000, `the demo took ${r.durationMs} ms`);
  assert.ok(r.postmortem && existsSync(r.postmortem));
  const md = readFileSync(r.postmortem, 'utf8');
  for (const section of ['Issue Summary', 'Timeline', 'Root Cause and Resolution', 'Corrective and Preventative Measures']) assert.ok(r.postmortemSections.includes(section), `missing ${section}`);
  assert.match(md, /```mermaid/);
  assert.match(md, /requires acme-auth >=3\.0\.0 \\?<4; production runs acme-auth 2\.4\.1/);
  assert.deepEqual(r.postmortemLint, []);
  // nothing left running: no process whose command line or working directory is in the demo's workspace
  assert.ok(r.workspace.includes('greenlight-demo-') && !r.kept && !existsSync(r.workspace), 'the workspace was removed');
  const left: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cmd.includes(r.workspace) || cwd.includes(r.workspace)) left.push(`${pid} ${cwd} ${cmd}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  assert.deepEqual(left, [], 'processes left behind');
});
