// Each instance gets its own port from the configured range. A port someone else holds is skipped:
// the range is shared with whatever else runs on the machine.
import { createServer } from 'node:net';
import { GreenlightError } from '../../errors/errors.ts';

function canListen(port: number, host: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Free when nothing listens on it, whether bound to loopback or to every address. */
export async function isPortFree(port: number): Promise<boolean> {
  return (await canListen(port, '127.0.0.1')) && (await canListen(port, undefined));
}

/**
 * Picks a free port in [from, to], not in taken. The scan starts at a random offset so that two
 * targets sharing a range (two controllers, parallel tests) rarely race for the same port.
 */
export async function pickFreePort(range: readonly [number, number], taken: ReadonlySet<number>): Promise<number> {
  const [from, to] = range;
  const size = to - from + 1;
  const offset = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = from + ((offset + i) % size);
    if (taken.has(port)) continue;
    if (await isPortFree(port)) return port;
  }
  throw new GreenlightError('PORT_IN_USE', `no free port in ${from}-${to}`, {
    retryable: true,
    hint: 'stop instances that are no longer needed, or widen the target\'s port_range',
    data: { from, to },
  });
}
