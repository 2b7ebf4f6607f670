// The real CLI in a shell pipeline whose reader stops early (`greenlight schema --out - | head`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../demo/workspace.ts';

const skip = existsSync('/bin/bash') ? false : 'needs /bin/bash for a real pipe (node child stdio are socket pairs, which absorb the whole output)';

test('a pipe closed by its reader (| head) ends the CLI quietly with exit code 0, not an EPIPE trace', { skip }, async () => {
  // a real pipe: 64 KiB of buffer, and the schema is larger, so the CLI writes into a closed pipe
  const script = 'set -o pipefail; "$0" "$1" schema --out - | head -c 10 >/dev/null';
  const out = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('/bin/bash', ['-c', script, process.execPath, join(repoRoot, 'bin/greenlight.js')], { timeout: 60_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stderr }),
    ),
  );
  assert.equal(out.stderr, '');
  assert.equal(out.code, 0);
});
