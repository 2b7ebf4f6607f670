// The import graph of src/ has no circle: not through `import type` either. A circle ties modules
// together so neither can be read, tested or replaced alone (and at run time, one of them sees the
// other half-initialised). The graph comes from the TypeScript compiler's import scanner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { circleThrough, components, importGraph } from './graph.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the graph builder sees a circle made only of type imports, and re-exports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-imports-'));
  try {
    mkdirSync(join(dir, 'src', 'b'), { recursive: true });
    writeFileSync(join(dir, 'src', 'a.ts'), "import type { B } from './b/b.ts';\nexport interface A { b: B }\n");
    writeFileSync(join(dir, 'src', 'b', 'b.ts'), "export type { C as B } from './c.ts';\n");
    writeFileSync(join(dir, 'src', 'b', 'c.ts'), "import type { A } from '../a.ts';\nexport interface C { a?: A }\n");
    writeFileSync(join(dir, 'src', 'd.ts'), "import { x } from 'zod';\nimport type { A } from './a.ts';\nexport type D = A;\n");
    const found = components(importGraph(dir));
    assert.deepEqual(found, [['src/a.ts', 'src/b/b.ts', 'src/b/c.ts']]);
    assert.deepEqual(circleThrough(importGraph(dir), new Set(found[0])), ['src/a.ts', 'src/b/b.ts', 'src/b/c.ts', 'src/a.ts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('src/ imports in no circle (type-only imports included)', () => {
  const graph = importGraph(ROOT);
  assert.ok(graph.size > 100, `only ${graph.size} files read under src/`);
  assert.deepEqual(
    components(graph).map((c) => circleThrough(graph, new Set(c)).join(' -> ')),
    [],
    'import circle(s): break each by moving the shared type or function to the module both sides may import, or by passing a narrow interface',
  );
});
