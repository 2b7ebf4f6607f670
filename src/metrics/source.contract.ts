// The contract every metric source kind (and the fake) passes: readings per version label, that
// only grow, that tell a worse version from a better one, and a retryable error (never readings
// that look like data) when the source cannot answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GreenlightError } from '../errors/errors.ts';
import type { MetricSource, MetricWindow } from './source.ts';

export interface SourceFixture {
  source: MetricSource;
  window(): MetricWindow;
  /** labels whose metric is higher (worse) and lower */
  worse: string;
  better: string;
  /** lets time / traffic pass so the next read has new readings */
  advance(): Promise<void>;
  /** makes the source unable to answer (stops the peer) */
  breakIt(): Promise<void>;
  close(): Promise<void>;
}

export function metricSourceContract(name: string, setup: () => Promise<SourceFixture>, opts: { skip?: string | false } = {}): void {
  test(`${name}: readings per version that only grow and tell the worse version from the better`, { skip: opts.skip ?? false }, async () => {
    const f = await setup();
    try {
      let prev: Record<string, number[]> = {};
      let r: Record<string, number[]> = {};
      for (let i = 0; i < 6; i++) {
        r = await f.source.read(f.window());
        for (const label of [f.worse, f.better]) {
          assert.ok(Array.isArray(r[label]), `readings for ${label}: ${JSON.stringify(r)}`);
          assert.ok(r[label]!.every(Number.isFinite));
          assert.ok(r[label]!.length >= (prev[label]?.length ?? 0), `readings of ${label} went from ${prev[label]?.length} to ${r[label]!.length}`);
        }
        prev = r;
        await f.advance();
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      assert.ok(r[f.worse]!.length >= 2 && r[f.better]!.length >= 2, `too few readings: ${JSON.stringify(r)}`);
      assert.ok(mean(r[f.worse]!) > mean(r[f.better]!), `worse ${mean(r[f.worse]!)} vs better ${mean(r[f.better]!)}`);
    } finally {
      await f.close();
    }
  });

  test(`${name}: a source that cannot answer throws a retryable GreenlightError`, { skip: opts.skip ?? false }, async () => {
    const f = await setup();
    try {
      await f.source.read(f.window());
      await f.breakIt();
      await assert.rejects(f.source.read(f.window()), (err: unknown) => {
        assert.ok(err instanceof GreenlightError, String(err));
        assert.equal(err.retryable, true);
        assert.ok(err.message.length > 10);
        return true;
      });
    } finally {
      await f.close();
    }
  });
}
