// The ssh target against real OpenSSH servers in network namespaces (testing/netns-fleet.ts):
// the shared target contract, then what only a fleet has. Needs root and iproute2; skipped with
// the reason otherwise.
import { queryType } from '../../events/log.ts';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { fixtureSpec, writeFixtureApp, type FixtureMode } from '../local/fixture-app.ts';
import { httpStatus, targetContract } from '../target.contract.ts';
import type { SshTargetInput } from './config.ts';
import { SshTarget } from './ssh-target.ts';
import { createTestFleet } from './testing/netns-fleet.ts';

const made = await createTestFleet([{ name: 'web-1' }, { name: 'web-2' }]);
const artifact = writeFixtureApp();

function targetConfig(over: Partial<SshTargetInput> = {}): SshTargetInput {
  const fleet = made.fleet!;
  return {
    hosts: fleet.hosts.map((h) => ({ name: h.name, address: h.address, dir: join(h.dir, 'greenlight') })),
    auth: { key_file: fleet.clientKey, agent: false },
    known_hosts: fleet.knownHosts,
    restart_backoff: { initial: 100, max: 1000, reset_after: 60_000 },
    connect_timeout: 3000,
    min_free_mb: 1,
    ...over,
  };
}

if (!made.fleet) {
  test('SshTarget contract and fleet behaviour', { skip: made.skip }, () => {});
} else {
  const fleet = made.fleet;
  const open: SshTarget[] = [];
  after(async () => {
    for (const t of open) await t.close({ stopInstances: true }).catch(() => {});
    await fleet.close();
  });

  targetContract('SshTarget', () => ({
    open: (stateDir, events) => {
      const t = new SshTarget(targetConfig(), { stateDir, events, clock: systemClock });
      open.push(t);
      return t;
    },
    spec: (mode, over) => fixtureSpec(artifact, mode as FixtureMode, over),
    crash: async (_target, instance) => void (await fetch(instance.url + '/crash')).text(),
  }));

  const setup = (over: Partial<SshTargetInput> = {}) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'gl-ssh-'));
    const events = new MemoryEventLog();
    const target = new SshTarget(targetConfig(over), { stateDir, events, clock: systemClock });
    open.push(target);
    return { stateDir, events, target };
  };

  test('SshTarget: instances are spread over the hosts and answer at each host address', async () => {
    const { target } = setup();
    const started = await target.start(fixtureSpec(artifact, 'healthy'), 4);
    assert.deepEqual(started.map((i) => i.host).sort(), ['web-1', 'web-1', 'web-2', 'web-2']);
    for (const i of started) {
      assert.equal(new URL(i.url).hostname, fleet.host(i.host!).address);
      assert.equal(await httpStatus(i.url + '/healthz'), 200);
    }
    const only = await target.start(fixtureSpec(artifact, 'healthy', { version: '1.0.1' }), 2, { hosts: ['web-2'] });
    assert.deepEqual(only.map((i) => i.host), ['web-2', 'web-2']);
    await target.close({ stopInstances: true });
  });

  test('SshTarget: the artifact is uploaded once per digest per host, atomically, and old releases are pruned', async () => {
    const { events, target } = setup({ retention: 1 });
    await target.start(fixtureSpec(artifact, 'healthy'), 2);
    const uploads = await queryType(events, 'artifact.uploaded');
    const again = await target.start(fixtureSpec(artifact, 'healthy'), 2);
    assert.equal((await queryType(events, 'artifact.uploaded')).length, uploads.length, 'the second start uploads nothing');
    for (const h of fleet.hosts) {
      const dir = join(h.dir, 'greenlight', 'releases');
      const listing = fleet.exec(h.name, ['ls', '-a', dir]).split('\n').filter((n) => n && n !== '.' && n !== '..');
      assert.ok(listing.every((n) => /^[0-9a-f]{64}$/.test(n)), `only complete releases, no temporary names: ${listing.join(' ')}`);
    }
    // two more releases: with retention 1, only what runs plus one other is kept
    const v2 = writeFixtureApp();
    writeFileSync(join(v2, 'v2.txt'), 'two');
    const v3 = writeFixtureApp();
    writeFileSync(join(v3, 'v3.txt'), 'three');
    const b = await target.start(fixtureSpec(v2, 'healthy', { version: '2.0.0' }), 1, { hosts: ['web-1'] });
    await target.stop(b.map((i) => i.id));
    await target.start(fixtureSpec(v3, 'healthy', { version: '3.0.0' }), 1, { hosts: ['web-1'] });
    const pruned = await queryType(events, 'artifact.pruned');
    assert.ok(pruned.length >= 1, 'an old release was pruned');
    const kept = fleet.exec('web-1', ['ls', join(fleet.host('web-1').dir, 'greenlight', 'releases')]).split('\n').filter(Boolean);
    assert.equal(kept.length, 2, `the running 1.0.0 and the running 3.0.0: ${kept.join(' ')}`);
    for (const i of again) assert.equal(await httpStatus(i.url + '/healthz'), 200, 'what runs was not pruned');
    await target.close({ stopInstances: true });
  });

  test('SshTarget: an unknown host key is refused with its fingerprint; accept_new records it as an event', async () => {
    const empty = join(mkdtempSync(join(tmpdir(), 'gl-kh-')), 'known_hosts');
    const { target } = setup({ known_hosts: empty });
    let error: unknown;
    await target.start(fixtureSpec(artifact, 'healthy'), 1, { hosts: ['web-1'] }).catch((e: unknown) => (error = e));
    assert.ok(error instanceof GreenlightError, String(error));
    assert.equal(error.code, 'HOST_KEY_REJECTED');
    assert.match(error.message, /web-1/);
    assert.ok(error.message.includes(fleet.host('web-1').fingerprint), `the fingerprint is in the message: ${error.message}`);
    assert.match(error.hint!, /accept_new/);
    await target.close();

    const { target: accepting, events } = setup({ known_hosts: empty, accept_new: true });
    const [i] = await accepting.start(fixtureSpec(artifact, 'healthy'), 1, { hosts: ['web-1'] });
    assert.equal(await httpStatus(i!.url + '/healthz'), 200);
    const accepted = await queryType(events, 'host.key_accepted');
    assert.equal(accepted.length, 1);
    assert.equal(accepted[0]!.data.fingerprint, fleet.host('web-1').fingerprint);
    assert.match(readFileSync(empty, 'utf8'), new RegExp(fleet.host('web-1').address.replaceAll('.', '\\.')));
    await accepting.close({ stopInstances: true });
  });

  test('SshTarget: a changed host key is refused even with accept_new', async () => {
    const wrong = join(mkdtempSync(join(tmpdir(), 'gl-kh-')), 'known_hosts');
    // web-2's key recorded under web-1's address: what a man in the middle would look like
    writeFileSync(wrong, `${fleet.host('web-1').address} ${fleet.host('web-2').publicKey}\n`);
    const { target } = setup({ known_hosts: wrong, accept_new: true });
    await assert.rejects(target.start(fixtureSpec(artifact, 'healthy'), 1, { hosts: ['web-1'] }), (e: unknown) => {
      assert.ok(e instanceof GreenlightError);
      assert.equal(e.code, 'HOST_KEY_REJECTED');
      assert.ok(e.message.includes(fleet.host('web-2').fingerprint), 'names the known key');
      assert.ok(e.message.includes(fleet.host('web-1').fingerprint), 'names the offered key');
      return true;
    });
    await target.close();
  });

  test('SshTarget: a refused login and an unreachable host are errors naming the host', async () => {
    const other = join(mkdtempSync(join(tmpdir(), 'gl-key-')), 'id');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const { target } = setup({ auth: { key_file: other, agent: false } });
    await assert.rejects(target.start(fixtureSpec(artifact, 'healthy'), 1, { hosts: ['web-1'] }), (e: unknown) => e instanceof GreenlightError && e.code === 'HOST_AUTH_REFUSED' && /web-1/.test(e.message) && /authorized_keys/.test(e.hint!));
    await target.close();

    const { target: t2 } = setup({ hosts: [{ name: 'gone', address: `${fleet.subnet}.250` }] });
    await assert.rejects(t2.start(fixtureSpec(artifact, 'healthy'), 1), (e: unknown) => e instanceof GreenlightError && e.code === 'HOST_UNREACHABLE' && /host gone/.test(e.message) && e.retryable);
    await t2.close();
  });

  test('SshTarget: a crash-looping instance is restarted with a doubling back-off by its supervisor', async () => {
    const { target, events } = setup();
    const [i] = await target.start(fixtureSpec(artifact, 'healthy'), 1, { hosts: ['web-1'] });
    for (let n = 0; n < 2; n++) {
      const before = (await queryType(events, 'instance.ready')).length;
      await fetch(i!.url + '/crash').then((r) => r.text()).catch(() => '');
      for (let k = 0; k < 500 && (await queryType(events, 'instance.ready')).length === before; k++) await new Promise((r) => setTimeout(r, 10));
    }
    const crashes = await queryType(events, 'instance.crashed');
    assert.deepEqual(crashes.map((e) => e.data.restartInMs), [100, 200]);
    await target.close({ stopInstances: true });
  });

  test('SshTarget: disk full on a host is refused before anything is written, naming the host', async () => {
    const dir = join(fleet.host('web-2').dir, 'tiny');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkdir', ['-p', dir]);
    fleet.exec('web-2', ['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
    try {
      const big = writeFixtureApp();
      writeFileSync(join(big, 'blob.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
      const { target, events } = setup({ hosts: [{ name: 'web-2', address: fleet.host('web-2').address, dir }] });
      await assert.rejects(target.start(fixtureSpec(big, 'healthy'), 1), (e: unknown) => e instanceof GreenlightError && e.code === 'DISK_FULL' && /host web-2/.test(e.message) && /free space/.test(e.hint!));
      assert.equal((await events.query({ types: ['artifact.uploaded'] })).length, 0);
      assert.deepEqual(fleet.exec('web-2', ['ls', '-A', join(dir, 'releases')]).trim(), '', 'nothing was written');
      await target.close();
    } finally {
      fleet.exec('web-2', ['umount', '-l', dir]);
    }
  });

  test('SshTarget: an SSH connection dropped mid-upload leaves nothing half applied; the retry installs it', async () => {
    const big = writeFixtureApp();
    writeFileSync(join(big, 'blob.bin'), Buffer.alloc(40 * 1024 * 1024, 1));
    const { target, events } = setup();
    const releases = join(fleet.host('web-1').dir, 'greenlight', 'releases');
    const p = target.start(fixtureSpec(big, 'healthy'), 1, { hosts: ['web-1'] });
    // cut once the upload is under way (its temporary file exists)
    for (let i = 0; i < 400; i++) {
      if (fleet.exec('web-1', ['ls', '-A', releases]).includes('.upload-')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await fleet.cutLink('web-1');
    let error: unknown;
    await p.catch((e: unknown) => (error = e));
    await fleet.restoreLink('web-1');
    assert.ok(error instanceof GreenlightError, String(error));
    assert.equal(error.code, 'HOST_UNREACHABLE');
    assert.match(error.message, /web-1/);
    const { digestDirectory } = await import('../../releases/digest.ts');
    const { digest } = await digestDirectory(big);
    const listing = fleet.exec('web-1', ['ls', '-A', releases]).split('\n').filter(Boolean);
    assert.ok(!listing.includes(digest.slice(7)), 'no release directory from a cut upload');
    assert.equal(target.list().length, 0);
    const [i] = await target.start(fixtureSpec(big, 'healthy'), 1, { hosts: ['web-1'] });
    assert.equal(await httpStatus(i!.url + '/healthz'), 200);
    assert.ok(fleet.exec('web-1', ['ls', '-A', releases]).includes(digest.slice(7)));
    assert.equal((await events.query({ types: ['artifact.uploaded'] })).length, 1);
    await target.close({ stopInstances: true });
  });

  test('SshTarget: a host whose clock is off is recorded (host.clock_skew, naming it), and its instances still start, restart and stop', async () => {
    // the namespaces share this machine's clock: the host's `date` (what the target reads) is shifted
    fleet.skewClock('web-2', 120_000);
    try {
      const { target, events } = setup({ hosts: [{ name: 'web-2', address: fleet.host('web-2').address, dir: join(fleet.host('web-2').dir, 'greenlight') }] });
      const [i] = await target.start(fixtureSpec(artifact, 'healthy'), 1);
      const [skew] = await queryType(events, 'host.clock_skew');
      assert.ok(skew, 'a host.clock_skew event');
      assert.equal(skew.data.host, 'web-2');
      assert.ok(Math.abs(skew.data.skewMs - 120_000) < 15_000, `skew measured ~120 s (${skew.data.skewMs} ms)`);
      assert.equal(skew.data.maxMs, 2000);
      assert.equal(await httpStatus(i!.url + '/healthz'), 200);
      // supervision does not read the host's clock: a crash is restarted, a stop stops
      void (await fetch(i!.url + '/crash').then((r) => r.text(), () => ''));
      for (let k = 0; k < 200 && (await queryType(events, 'instance.ready')).length < 2; k++) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await queryType(events, 'instance.ready')).length, 2, 'restarted after the crash and ready again');
      await target.stop([i!.id]);
      assert.equal(target.list().length, 0);
      const [stopped] = await queryType(events, 'instance.stopped');
      assert.equal(stopped?.data.graceful, true);
      await target.close();
    } finally {
      fleet.skewClock('web-2', 0);
    }
  });

  test('SshTarget: a host whose link is cut leaves rotation at once (host.unreachable) and comes back when it answers again (host.reachable)', async () => {
    const { target, events } = setup();
    const started = await target.start(fixtureSpec(artifact, 'healthy'), 2);
    assert.deepEqual(started.map((i) => i.host).sort(), ['web-1', 'web-2']);
    const f = target.fleet();
    const changes: string[] = [];
    f.onRotation((host, r) => changes.push(`${host} ${r.in ? 'in' : `out:${r.why}`}`));
    await fleet.cutLink('web-2');
    for (let k = 0; k < 200 && f.rotation('web-2').in; k++) await new Promise((r) => setTimeout(r, 10));
    const r = f.rotation('web-2');
    assert.equal(r.in, false);
    assert.ok(!r.in && r.why === 'unreachable' && /web-2/.test(r.reason), JSON.stringify(r));
    assert.equal(f.rotation('web-1').in, true, 'the other host stays in');
    const [lost] = await queryType(events, 'host.unreachable');
    assert.equal(lost?.data.host, 'web-2');
    assert.equal(lost?.data.instances, 1);
    await fleet.restoreLink('web-2');
    for (let k = 0; k < 600 && !f.rotation('web-2').in; k++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(f.rotation('web-2').in, true, 'back in rotation once it answers');
    assert.equal((await queryType(events, 'host.reachable'))[0]?.data.host, 'web-2');
    assert.deepEqual(changes, ['web-2 out:unreachable', 'web-2 in']);
    // drained by a host change: out until restored, whatever the connection does
    f.drain('web-1', 'a host change works on web-1');
    assert.deepEqual(f.rotation('web-1'), { in: false, why: 'drained', reason: 'a host change works on web-1' });
    f.restore('web-1');
    assert.equal(f.rotation('web-1').in, true);
    await target.close({ stopInstances: true });
  });
}
