import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../config/load.ts';
import { SqliteEventLog } from '../store/sqlite/sqlite-event-log.ts';
import { replay } from '../state/projection.ts';
import { parseSize } from './artifact.ts';
import { registerRelease } from './releases.ts';

const CONFIG = (extra = '') => `version: 1
state_dir: .greenlight
services:
  web: { command: [node, server.mjs] }
environments:
  - name: production
    router: { listen: "127.0.0.1:18081" }
${extra}`;

function setup(t: { after(fn: () => void): void }, extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'gl-release-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfigText(CONFIG(extra));
  const stateDir = join(dir, '.greenlight');
  const events = new SqliteEventLog(join(stateDir, 'events.db'));
  t.after(() => void events.close());
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'server.mjs'), 'console.log(1)\n');
  const register = (artifact: string, service = 'web', version = '1.0.0') =>
    registerRelease({ service, version, artifact, actor: 'test' }, { config, stateDir, events, state: () => replay(events) });
  return { dir, app, stateDir, events, register };
}

test('an artifact holding the state directory is refused before anything in it is opened, and the log stays whole', async (t) => {
  const s = setup(t);
  for (let i = 0; i < 5; i++) await s.events.append({ type: 'test.note', actor: 'test', subject: 'x' });
  await assert.rejects(s.register(s.dir), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'USAGE');
    assert.match(e.message, /contains Greenlight's state directory/);
    assert.match(e.hint!, /--artifact/);
    return true;
  });
  // the state dir reached through a symlink to a directory above it is refused the same way
  const link = join(mkdtempSync(join(tmpdir(), 'gl-link-')), 'above');
  symlinkSync(s.dir, link);
  await assert.rejects(s.register(link), /contains Greenlight's state directory/);
  await assert.rejects(s.register(join(s.stateDir)), /state directory/);
  for (let i = 0; i < 5; i++) await s.events.append({ type: 'test.note', actor: 'test', subject: 'x' });
  const all = await s.events.query();
  assert.equal(all.length, 10);
  assert.equal(await s.events.lastSeq(), 10);
  assert.ok((await s.register(s.app)).created);
});

test('symbolic links leaving the artifact, FIFOs and device files are refused; links inside are kept', async (t) => {
  const s = setup(t);
  symlinkSync('server.mjs', join(s.app, 'inside-link'));
  symlinkSync('/etc/passwd', join(s.app, 'passwd'));
  await assert.rejects(s.register(s.app), /symbolic link passwd -> \/etc\/passwd points outside the artifact/);
  rmSync(join(s.app, 'passwd'));
  symlinkSync('../../..', join(s.app, 'up'));
  await assert.rejects(s.register(s.app), /symbolic link up -> \.\.\/\.\.\/\.\. points outside/);
  rmSync(join(s.app, 'up'));
  execFileSync('mkfifo', [join(s.app, 'pipe')]);
  await assert.rejects(s.register(s.app), /pipe is a FIFO/);
  rmSync(join(s.app, 'pipe'));
  let device = true;
  try {
    execFileSync('mknod', [join(s.app, 'null'), 'c', '1', '3'], { stdio: 'ignore' });
  } catch {
    device = false; // not permitted here (no CAP_MKNOD): the FIFO above exercises the same branch
  }
  if (device) {
    await assert.rejects(s.register(s.app), /null is a device file/);
    rmSync(join(s.app, 'null'));
  }
  assert.ok((await s.register(s.app)).created);
});

test('the artifact size limit is configurable and validated', async (t) => {
  const s = setup(t, 'releases: { max_artifact_size: 1kb }\n');
  writeFileSync(join(s.app, 'big.bin'), Buffer.alloc(2000));
  await assert.rejects(s.register(s.app), /larger than the limit of 1000 bytes[\s\S]*/);
  assert.throws(() => parseConfigText(CONFIG('releases: { max_artifact_size: lots }\n')), /releases\.max_artifact_size: expected a positive size/);
  assert.throws(() => parseConfigText(CONFIG('releases: { max_artifact_size: -5 }\n')), /releases\.max_artifact_size/);
  assert.equal(parseConfigText(CONFIG()).releases.max_artifact_size, 1024 ** 3);
  assert.throws(() => parseConfigText(CONFIG('releases: { max_artifact_files: 0 }\n')), /releases\.max_artifact_files/);
  assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseSize('512MB'), 512e6);
});

test('an artifact with more entries than releases.max_artifact_files is refused before it is hashed', async (t) => {
  const s = setup(t, 'releases: { max_artifact_files: 5 }\n');
  for (let i = 0; i < 6; i++) writeFileSync(join(s.app, `f${i}.txt`), 'x');
  await assert.rejects(s.register(s.app), /holds more than 5 entries/);
});

test('"__proto__" and "constructor" are unknown services (no prototype reach), refused before the artifact is read', async (t) => {
  const s = setup(t);
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    await assert.rejects(s.register('/nonexistent-so-any-read-would-fail', name), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'NOT_FOUND', name);
      assert.match(e.message, new RegExp(`unknown service "${name}"`));
      return true;
    });
  }
});
