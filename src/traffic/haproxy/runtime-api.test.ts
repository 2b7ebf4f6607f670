// The runtime API over TCP (an HAProxy on an edge host): what a unix socket never shows. A real
// HAProxy answers long outputs and many commands in a row over TCP; a refused port (HAProxy
// restarting) and a port that accepts and never answers are clear, retryable errors naming the socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort } from '../../app/free-port.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { RuntimeApi } from './runtime-api.ts';
import { haproxyMissing, startHaproxy } from './testing.ts';

test('over TCP: a real HAProxy answers whole outputs, command after command', { skip: haproxyMissing() }, async (t) => {
  const h = await startHaproxy({ tcpStats: true, slots: 64 });
  t.after(() => h.stop());
  assert.match(h.config.socket, /^127\.0\.0\.1:\d+$/);
  const api = new RuntimeApi({ socket: h.config.socket });
  for (let i = 0; i < 50; i++) {
    // 64 slots: an answer of several TCP segments, which must arrive whole
    const rows = await api.stat(h.config.backend);
    assert.equal(rows.filter((r) => r.svname?.startsWith('gl')).length, 64, `read ${i}`);
    await api.change(['set', 'server', `${h.config.backend}/gl${1 + (i % 64)}`, 'weight', 1 + i]);
  }
  assert.match(await api.command('get', 'weight', `${h.config.backend}/gl50`), /^50 \(initial 1\)/);
});

test('over TCP: a refused port is a retryable error naming the socket and saying HAProxy keeps its table', async () => {
  const port = await freePort();
  const api = new RuntimeApi({ socket: `127.0.0.1:${port}`, timeoutMs: 2000 });
  const err = await api.command('show', 'info').then(() => assert.fail('answered'), (e: unknown) => e);
  assert.ok(err instanceof GreenlightError);
  assert.equal(err.code, 'ROUTER_UNREACHABLE');
  assert.equal(err.retryable, true);
  assert.match(err.message, new RegExp(`at 127\\.0\\.0\\.1:${port} did not answer "show info": .*ECONNREFUSED`));
  assert.match(err.hint ?? '', new RegExp(`stats socket ipv4@127\\.0\\.0\\.1:${port} level admin`));
  assert.match(err.hint ?? '', /keeps serving its last table/);
});

test('over TCP: a port that accepts and never answers times out, naming the socket', async (t) => {
  const held: net.Socket[] = [];
  const silent = net.createServer((s) => held.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of held) s.destroy();
    silent.close();
  });
  const socket = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  const err = await new RuntimeApi({ socket, timeoutMs: 200 }).command('show', 'stat').then(() => assert.fail('answered'), (e: unknown) => e);
  assert.ok(err instanceof GreenlightError);
  assert.equal(err.code, 'ROUTER_UNREACHABLE');
  assert.match(err.message, new RegExp(`at ${socket.replace(/\./g, '\\.')} did not answer "show stat": no answer within 200 ms`));
  assert.match(err.hint ?? '', /reachable from the controller/);
});
