// Readiness is "GET <health path> answers 2xx". One probe never outlives its timeout, so a hung
// instance cannot stall the loop that waits for it.
import { request } from 'node:http';
import type { Clock } from '../clock/clock.ts';

/** host: where the instance listens (a remote target's host address; loopback for local ones) */
export async function probeHealth(port: number, path: string, timeoutMs: number, clock: Clock, host = '127.0.0.1'): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      timer.cancel();
      resolve(ok);
    };
    const req = request({ host, port, path, method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      finish((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    const timer = clock.setTimeout(() => {
      req.destroy();
      finish(false);
    }, timeoutMs);
    req.on('error', () => finish(false));
    req.end();
  });
}
