// Property: random sequences of valid catalogue events never make a reader throw. Seeded and
// bounded (200 sequences of up to 80 events); a failure names its seed, which replays exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arbitraryEvent, random } from '../events/catalogue/arbitrary.ts';
import { eventTypes } from '../events/catalogue/index.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { describeEvent } from '../cli/progress.ts';
import { describeIncidentEvent } from '../incidents/timeline.ts';
import { describe as feedLine } from '../../web/events.js';
import { apply, emptyState, replay } from './projection.ts';

const SEQUENCES = 200;
const MAX_EVENTS = 80;

test('random sequences of valid catalogue events never make the projection or a reader throw', async () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= SEQUENCES; seed++) {
    const rnd = random(seed);
    const log = new MemoryEventLog();
    const n = 1 + Math.floor(rnd() * MAX_EVENTS);
    const state = emptyState();
    for (let i = 0; i < n; i++) {
      const stored = await log.append(arbitraryEvent(rnd, 1_000 + i));
      seen.add(stored.type);
      try {
        apply(state, stored);
        describeEvent(stored);
        describeIncidentEvent(stored);
        assert.equal(typeof feedLine(stored), 'string');
      } catch (err) {
        assert.fail(`seed ${seed}, event ${i + 1} (${stored.type} ${JSON.stringify(stored.data)}): ${String(err)}`);
      }
    }
    // the same log replayed gives the same state
    const again = await replay(log);
    assert.deepEqual([...again.deployments.entries()], [...state.deployments.entries()], `seed ${seed}`);
  }
  assert.equal(seen.size, eventTypes.length, 'every event type was drawn at least once');
});
