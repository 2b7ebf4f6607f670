import { FakeNotifier } from './fake.ts';
import { notifierContract, type ContractSubject } from '../notifier.contract.ts';

notifierContract('fake', async (): Promise<ContractSubject> => {
  const fake = new FakeNotifier();
  return {
    transport: () => fake,
    answer: (...a) => fake.answer(...a),
    waitForAttempts: (n) => fake.waitForAttempts(n),
    attemptCount: () => fake.attempts.length,
    received: () =>
      fake.delivered.map((n) => ({
        action: n.action,
        dedupKey: n.dedupKey,
        text: [n.summary, ...Object.values(n.links ?? {})].join('\n'),
        problems: [],
      })),
    close: async () => {},
  };
});
