import { eventLogContract } from './log.contract.ts';
import { MemoryEventLog } from './memory-log.ts';

eventLogContract('MemoryEventLog', async () => ({ log: new MemoryEventLog() }));
