// A second process writing to a shared event log, for the store contract suite: appends `count`
// events tagged with its name (alternating single appends and batches of 3), then exits 0.
// Usage: node contract-writer.ts '<StoreSpec JSON>' <writer> <count>
import { numbered } from '../events/testing.ts';
import { openEventLog, type StoreSpec } from './registry.ts';

const [specJson, writer, countArg] = process.argv.slice(2);
const spec = JSON.parse(specJson!) as StoreSpec;
const count = Number(countArg);
const log = await openEventLog(spec);
let n = 0;
while (n < count) {
  const batch = Math.min(n % 2 === 0 ? 1 : 3, count - n);
  await log.appendAll(Array.from({ length: batch }, (_, i) => numbered(writer!, n + i)));
  n += batch;
}
await log.close();
