import type { IncomingMessage, ServerResponse } from 'node:http';
import { matchesFilter, type EventFilter, type EventLog } from '../events/log.ts';

/** Streams past events matching the filter, then new ones as they are appended (server-sent events). */
export async function followEvents(log: EventLog, filter: EventFilter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.flushHeaders();
  const buffered: unknown[] = [];
  let replaying = true;
  let lastSeq = filter.afterSeq ?? 0;
  const write = (e: { seq: number }) => {
    if (e.seq <= lastSeq) return;
    lastSeq = e.seq;
    res.write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`);
  };
  const { limit: _limit, ...live } = filter;
  const off = log.subscribe((e) => {
    if (!matchesFilter(e, { ...live, afterSeq: undefined })) return;
    if (replaying) buffered.push(e);
    else write(e);
  });
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  req.on('close', () => {
    off();
    clearInterval(ping);
  });
  for (const e of await log.query(filter)) write(e);
  replaying = false;
  for (const e of buffered as { seq: number }[]) write(e);
}
