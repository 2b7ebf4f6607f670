// WebSocket (and other) upgrades: the handshake is routed and retried like a request, then the
// two sockets are piped both ways. Kept apart from the request path because it always uses
// node:http and per-connection closures, which are fine at connection rather than request rate.

import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { headerOf, Inbound, responseHeaders, VERSION_HEADER } from './headers.ts';
import type { ProxyHost } from './proxy.ts';
import { clientIdentity, selectRoute } from './routing.ts';
import { isConnectFailure, markUp } from './upstreams.ts';

export function handleUpgrade(router: ProxyHost, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const t0 = performance.now();
  socket.on('error', () => socket.destroy());
  const remote = req.socket.remoteAddress;
  const inbound = new Inbound(req.rawHeaders, remote, true, router.identity.header);
  const ck = { cid: undefined as string | undefined, newCid: null as string | null, identity: undefined as string | undefined };
  clientIdentity(router.identity, inbound.cookie, inbound.identity, remote, ck);
  const route = selectRoute(router.compiled, ck.identity);
  if (route === null) {
    router.noRoute++;
    const body = router.noRouteBody();
    socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    return;
  }
  let tried = 0;
  let finished = false;
  const record = (status: number) => {
    if (finished) return;
    finished = true;
    route.counters.record(status, performance.now() - t0, router.clock.now(), ck.cid);
  };
  const fail = () => {
    record(0);
    if (socket.writable) {
      socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n${VERSION_HEADER}: ${route.version}\r\nConnection: close\r\n\r\n`);
    } else socket.destroy();
  };
  const tryOne = (): void => {
    const ups = route.upstreams;
    let i = -1;
    for (let k = 0; k < ups.length && i === -1; k++) {
      const j = (route.rr + k) % ups.length;
      if (ups[j]!.healthy && !(tried & (1 << j))) i = j;
    }
    if (i === -1) for (let j = 0; j < ups.length && i === -1; j++) if (!(tried & (1 << j))) i = j;
    if (i === -1 || i >= 30) return fail();
    route.rr = (i + 1) % ups.length;
    tried |= 1 << i;
    const up = ups[i]!;
    const uc = route.upCounters[i]!;
    // no agent: an upgraded socket leaves the pool anyway
    const ureq = http.request({ host: up.host, port: up.port, method: req.method, path: req.url, headers: inbound.out, setHost: false, agent: false, timeout: router.idleTimeoutMs });
    ureq.on('timeout', () => ureq.destroy(Object.assign(new Error('upstream timeout'), { code: ureq.socket?.connecting ? 'GL_CONNECT_TIMEOUT' : 'ETIMEDOUT' })));
    ureq.on('error', (err: NodeJS.ErrnoException) => {
      uc.connectionErrors++;
      if (isConnectFailure(err) && !finished) {
        router.upstreams.markDown(up);
        tryOne();
      } else if (!finished) fail();
      else socket.destroy();
    });
    ureq.on('response', (ures) => {
      // the upstream declined the upgrade: relay its answer and close
      uc.requests++;
      if ((ures.statusCode ?? 502) >= 500) uc.errors++;
      const h = responseHeaders(ures.rawHeaders, route.version, ck.newCid);
      let text = `HTTP/1.1 ${ures.statusCode} ${ures.statusMessage}\r\n`;
      for (let j = 0; j < h.length; j += 2) text += `${h[j]}: ${h[j + 1]}\r\n`;
      socket.write(text + 'connection: close\r\n\r\n');
      ures.pipe(socket);
      ures.on('end', () => record(ures.statusCode ?? 502));
    });
    ureq.on('upgrade', (ures, usock, uhead) => {
      uc.requests++;
      if (!up.healthy) markUp(up);
      ureq.setTimeout(0);
      usock.setTimeout(0);
      const h = responseHeaders(ures.rawHeaders, route.version, ck.newCid);
      let text = `HTTP/1.1 101 ${ures.statusMessage || 'Switching Protocols'}\r\nconnection: Upgrade\r\nupgrade: ${headerOf(ures.rawHeaders, 'upgrade') ?? 'websocket'}\r\n`;
      for (let j = 0; j < h.length; j += 2) text += `${h[j]}: ${h[j + 1]}\r\n`;
      socket.write(text + '\r\n');
      if (uhead.length > 0) socket.write(uhead);
      if (head.length > 0) usock.write(head);
      record(101);
      usock.on('error', () => socket.destroy());
      socket.on('close', () => usock.destroy());
      usock.on('close', () => socket.destroy());
      usock.pipe(socket);
      socket.pipe(usock);
    });
    ureq.end();
  };
  socket.on('close', () => {
    if (!finished) record(-1);
  });
  tryOne();
}
