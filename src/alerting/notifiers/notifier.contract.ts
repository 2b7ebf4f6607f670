// The contract every notifier kind passes (webhook, slack, pagerduty, email and the fake), each
// against a real receiver on loopback that checks the payload format. The kind's single-attempt
// notifier runs inside the standard pipeline, because "retried until it succeeds" and "abandoned
// after the timeout" are promises made by the pipeline around every kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, systemClock, type Clock } from '../../clock/clock.ts';
import type { Answer } from './loopback-receivers.ts';
import type { Action, DeliveryResult, Notification, Notifier } from './notifier.ts';
import { pipeline } from './stages/pipeline.ts';

/** One delivery as the receiver understood it. */
export interface Received {
  action: Action;
  dedupKey: string;
  /** everything a person would read: subject/title, body, button labels and URLs */
  text: string;
  /** format violations the receiver found (wrong shape, bad signature); empty when well-formed */
  problems: string[];
}

export interface ContractSubject {
  /** the kind's single-attempt notifier, pointed at this subject's receiver */
  transport(clock: Clock): Notifier;
  /** answers for the next attempts, in order; 'ok' once they are used up */
  answer(...answers: Answer[]): void;
  /** resolves once the receiver has seen `count` attempts */
  waitForAttempts(count: number): Promise<void>;
  attemptCount(): number;
  /** the attempts the receiver accepted, in order */
  received(): Received[];
  close(): Promise<void>;
}

export function sampleNotification(over: Partial<Notification> = {}): Notification {
  return {
    id: 'ntf-0001',
    dedupKey: 'production/web:HighErrorRate',
    action: 'trigger',
    severity: 'critical',
    summary: 'production/web: 100% of requests fail with HTTP 500',
    source: 'production/web',
    labels: { environment: 'production', service: 'web', alertname: 'HighErrorRate' },
    annotations: { description: 'error ratio 1.0 over 5m (threshold 0.02)' },
    startsAt: Date.UTC(2026, 5, 3, 10, 0, 0),
    incidentId: 'inc-42',
    links: {
      acknowledge: 'https://greenlight.example.com/a/ack?t=sig-ack-123',
      resolve: 'https://greenlight.example.com/a/resolve?t=sig-res-456',
      snooze: 'https://greenlight.example.com/a/snooze?t=sig-snz-789',
      dashboard: 'https://greenlight.example.com/incidents/inc-42',
    },
    recipient: { name: 'Ann Oncall', email: 'ann@example.com' },
    ...over,
  };
}

export function notifierContract(kind: string, open: () => Promise<ContractSubject>): void {
  // Retries in the contract wait 0-2 ms of real time: what is checked is the count, not the wait
  // (exact back-off timing has its own test with ManualClock).
  const fast = { attempts: 4, initialMs: 1, maxMs: 2 };

  async function withSubject(fn: (s: ContractSubject) => Promise<void>): Promise<void> {
    const s = await open();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  }

  test(`${kind} contract: a trigger is delivered with its summary and action links`, () =>
    withSubject(async (s) => {
      const n = pipeline(s.transport(systemClock), { clock: systemClock, retry: fast });
      const note = sampleNotification();
      const r = await n.send(note);
      assert.equal(r.ok, true, r.error);
      assert.equal(r.attempts, 1);
      const [got] = s.received();
      assert.ok(got, 'the receiver got nothing');
      assert.deepEqual(got.problems, []);
      assert.equal(got.action, 'trigger');
      assert.equal(got.dedupKey, note.dedupKey);
      assert.ok(got.text.includes(note.summary), `summary missing from: ${got.text}`);
      assert.ok(got.text.includes(note.links!.acknowledge!), 'acknowledge link missing');
      assert.ok(got.text.includes(note.links!.resolve!), 'resolve link missing');
      assert.equal(n.kind, kind);
    }));

  test(`${kind} contract: failing twice with a retryable error, then succeeding, takes 3 attempts`, () =>
    withSubject(async (s) => {
      s.answer('retryable', 'retryable', 'ok');
      const r = await pipeline(s.transport(systemClock), { clock: systemClock, retry: fast }).send(sampleNotification());
      assert.equal(r.ok, true, r.error);
      assert.equal(r.attempts, 3);
      assert.equal(s.attemptCount(), 3);
      assert.equal(s.received().length, 1);
    }));

  test(`${kind} contract: a final refusal is not retried`, () =>
    withSubject(async (s) => {
      s.answer('fatal');
      const r = await pipeline(s.transport(systemClock), { clock: systemClock, retry: fast }).send(sampleNotification());
      assert.equal(r.ok, false);
      assert.equal(r.retryable, false);
      assert.equal(r.attempts, 1);
      assert.equal(s.attemptCount(), 1);
      assert.ok(r.error && r.error.length > 0);
      assert.ok(r.status === undefined || r.status >= 400, `status ${r.status}`);
    }));

  test(`${kind} contract: a receiver that hangs is abandoned after the timeout, each attempt, with a clear error`, () =>
    withSubject(async (s) => {
      const clock = new ManualClock();
      s.answer('hang', 'hang');
      const n = pipeline(s.transport(clock), { clock, timeoutMs: 1000, retry: { attempts: 2, initialMs: 100, maxMs: 100 }, random: () => 0.5 });
      let settled: DeliveryResult | undefined;
      const p = n.send(sampleNotification()).then((r) => (settled = r));
      await s.waitForAttempts(1);
      await clock.advance(999);
      assert.equal(settled, undefined, 'gave up before the timeout');
      await clock.advance(1);
      await clock.advance(50); // full jitter: 0.5 * 100 ms
      await s.waitForAttempts(2);
      await clock.advance(1000);
      const r = await p;
      assert.equal(r.ok, false);
      assert.equal(r.attempts, 2);
      assert.equal(r.retryable, true);
      assert.match(r.error ?? '', /timed out after 1000 ms/);
      assert.equal(s.received().length, 0);
    }));

  test(`${kind} contract: acknowledge and resolve are delivered for the same dedup key; a repeated trigger is not`, () =>
    withSubject(async (s) => {
      const n = pipeline(s.transport(systemClock), { clock: systemClock, retry: fast });
      const base = sampleNotification();
      for (const action of ['trigger', 'trigger', 'acknowledge', 'resolve'] as const) {
        const r = await n.send({ ...base, id: `ntf-${action}`, action });
        assert.equal(r.ok, true, r.error);
      }
      const got = s.received();
      assert.deepEqual(got.map((g) => g.action), ['trigger', 'acknowledge', 'resolve']);
      for (const g of got) {
        assert.deepEqual(g.problems, []);
        assert.equal(g.dedupKey, base.dedupKey);
      }
    }));

  test(`${kind} contract: send never rejects, even when the caller aborts`, () =>
    withSubject(async (s) => {
      s.answer('hang');
      const ac = new AbortController();
      const p = pipeline(s.transport(systemClock), { clock: systemClock, retry: fast }).send(sampleNotification(), ac.signal);
      await s.waitForAttempts(1);
      ac.abort(new Error('shutting down'));
      const r = await p;
      assert.equal(r.ok, false);
      assert.match(r.error ?? '', /abort/i);
    }));
}
