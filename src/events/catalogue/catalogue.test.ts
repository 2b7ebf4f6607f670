import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { apply, emptyState } from '../../state/projection.ts';
import { defineEvent } from './define.ts';
import { docsPath, renderEventsMarkdown } from './docs.ts';
import { catalogueJsonSchema, definitionOf, definitions, eventOfRow, eventTypes, upcastWith, validateEvent, type StoredRow } from './index.ts';

test('catalogue: every type once, named owner.what, with a meaning and a strict data schema', () => {
  assert.equal(new Set(eventTypes).size, eventTypes.length);
  assert.ok(eventTypes.length >= 90, `${eventTypes.length} types`);
  for (const d of definitions) {
    assert.match(d.type, /^[a-z]+(\.[a-z_]+)+$/, d.type);
    assert.ok(d.meaning.length > 10, `${d.type} says what it means`);
    assert.equal(d.version, d.upcasters.length + 1, `${d.type}: one upcaster per earlier version`);
    // strict: a field nobody declared is refused, so every field means one thing everywhere
    const json = z.toJSONSchema(d.data, { unrepresentable: 'any' }) as { additionalProperties?: unknown };
    // the one open type: each metric kind of src/analysis adds its own figures
    if (d.type !== 'analysis.metric.verdict') assert.equal(json.additionalProperties, false, `${d.type} takes only its declared fields`);
  }
});

test('catalogue: published as one JSON Schema, a union keyed on type', () => {
  const s = catalogueJsonSchema() as { oneOf?: { title?: string; properties: { type: { const: string }; data: unknown } }[]; anyOf?: unknown[] };
  const members = s.oneOf ?? (s.anyOf as typeof s.oneOf)!;
  assert.equal(members.length, eventTypes.length);
  assert.deepEqual(members.map((m) => m.properties.type.const), [...eventTypes]);
  assert.ok(members.every((m) => m.title && m.properties.data));
  assert.doesNotThrow(() => JSON.stringify(s));
});

test('docs/events.md is generated from the catalogue and up to date (npm run docs:events)', () => {
  const want = renderEventsMarkdown();
  const have = readFileSync(docsPath, 'utf8');
  assert.ok(have === want, 'docs/events.md is out of date: run npm run docs:events');
  for (const t of eventTypes) assert.ok(have.includes(`### \`${t}\``), t);
});

test('a version with its upcaster: data written at version 1 reads as version 2; data written at 2 is left alone', () => {
  // what a change of schema looks like: deploymentId became id in version 2
  const v2 = defineEvent({
    type: 'example.renamed',
    owner: 'example',
    meaning: 'an example of a field renamed between versions',
    version: 2,
    data: z.strictObject({ id: z.string() }),
    upcasters: [{ from: 1, up: ({ deploymentId, ...rest }) => ({ ...rest, id: deploymentId }) }],
  });
  assert.deepEqual(upcastWith(v2, 1, { deploymentId: 'd1' }), { id: 'd1' });
  assert.deepEqual(upcastWith(v2, 2, { id: 'd1' }), { id: 'd1' });
  assert.throws(() => defineEvent({ type: 'example.bad', owner: 'example', meaning: 'version 2 without an upcaster', version: 2, data: z.strictObject({}) }), /needs one upcaster/);
});

// Written on 1 December 2026 by the Greenlight of this commit (a canary rolled back in production,
// its incident opened, paged, acknowledged, noted and resolved: src/incidents/testing.ts scenarios
// through the real incident automation), as the in-memory store keeps its rows. Never regenerate
// it: it stands for the logs earlier Greenlights wrote, which must keep reading.
const fixture = (readFileSync(new URL('./fixture.jsonl', import.meta.url), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as StoredRow[]);

test('a log written today still reads: every event is a catalogue event at its current version, and it projects', () => {
  assert.equal(fixture.length, 20);
  for (const row of fixture) {
    const e = eventOfRow(row);
    assert.ok(definitionOf(e.type), `${e.type} is still in the catalogue (or has an upcaster to what replaced it)`);
    // after upcasting, the data matches today's schema: a schema change without an upcaster fails here
    assert.doesNotThrow(() => validateEvent(e), `${e.type} written at version ${row.v}`);
  }
  const state = emptyState();
  for (const row of fixture) apply(state, eventOfRow(row));
  const d = state.deployments.get('d-fixture')!;
  assert.equal(d.state, 'rolled_back');
  assert.deepEqual(d.environments.map((e) => [e.name, e.state]), [['staging', 'passed'], ['production', 'rolled_back']]);
  assert.equal(state.releases.get('web@2.0.0')?.requires['acme-auth'], '>=3.0.0 <4');
  assert.equal(state.passed.get('staging/web@2.0.0')?.deploymentId, 'd-fixture');
});
