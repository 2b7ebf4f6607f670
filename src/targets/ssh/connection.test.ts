// How a connection to a real OpenSSH host (testing/netns-fleet.ts) fails when what it is given is
// wrong: a missing or unreadable known_hosts, a revoked host key, a key file that is no private
// key, an agent that is not there. Each is named as what it is, with the host and the file.
// With both an agent and a key file, the agent's keys are offered first. Needs root and iproute2.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GreenlightError } from '../../errors/errors.ts';
import { sshTargetConfigSchema, type SshTargetInput } from './config.ts';
import { HostConnection } from './connection.ts';
import { createTestFleet } from './testing/netns-fleet.ts';

const made = await createTestFleet([{ name: 'web-1' }]);

if (!made.fleet) {
  test('HostConnection bad input', { skip: made.skip }, () => {});
} else {
  const fleet = made.fleet;
  const tmp = mkdtempSync(join(tmpdir(), 'gl-conn-'));
  const agents: ChildProcess[] = [];
  const open: HostConnection[] = [];
  after(async () => {
    for (const c of open) c.close();
    for (const a of agents) if (a.exitCode === null) a.kill('SIGTERM');
    await fleet.close();
  });

  const connection = (over: Partial<SshTargetInput> = {}) => {
    const config = sshTargetConfigSchema.parse({
      kind: 'ssh',
      hosts: [{ name: 'web-1', address: fleet.host('web-1').address }],
      auth: { key_file: fleet.clientKey, agent: false },
      known_hosts: fleet.knownHosts,
      connect_timeout: 3000,
      ...over,
    });
    const c = new HostConnection(config.hosts[0]!, config);
    open.push(c);
    return c;
  };

  const failure = async (c: HostConnection): Promise<GreenlightError> => {
    const e = await c.connect().then(
      () => assert.fail('expected the connection to be refused'),
      (err: unknown) => err,
    );
    assert.ok(e instanceof GreenlightError, String(e));
    return e;
  };

  const newKey = (name: string, passphrase = ''): string => {
    const file = join(tmp, name);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', file]);
    return file;
  };

  /** an ssh-agent in debug mode holding these keys; its stderr says when it is asked to sign */
  const startAgent = async (keys: string[]): Promise<{ socket: string; log: () => string }> => {
    const socket = join(tmp, `agent-${agents.length}.sock`);
    const a = spawn('ssh-agent', ['-d', '-a', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
    agents.push(a);
    let log = '';
    a.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 10));
    for (const k of keys) execFileSync('ssh-add', ['-q', k], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
    return { socket, log: () => log };
  };

  test('a known_hosts file that does not exist is said to be missing, with how to create it; accept_new creates it', async () => {
    const missing = join(tmp, 'nope', 'known_hosts');
    const e = await failure(connection({ known_hosts: missing }));
    assert.equal(e.code, 'HOST_KEY_REJECTED');
    assert.match(e.message, /host web-1 .*offered an unknown ssh-ed25519 host key SHA256:\S+; \/\S+\/nope\/known_hosts does not exist/);
    assert.match(e.hint!, /create it with that key \(ssh-keyscan -p 22 \S+ >> \S+known_hosts\)/);
    assert.match(e.hint!, /accept_new: true \(which creates the file\)/);
    await connection({ known_hosts: missing, accept_new: true }).connect();
    assert.match(readFileSync(missing, 'utf8'), new RegExp(`^${fleet.host('web-1').address.replaceAll('.', '\\.')} ssh-ed25519 `));
  });

  test('a known_hosts path that is a directory is a config problem naming the path, not an unreachable host', async () => {
    const dir = join(tmp, 'kh-dir');
    mkdirSync(dir);
    const e = await failure(connection({ known_hosts: dir }));
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.equal(e.retryable, false);
    assert.match(e.message, new RegExp(`target\\.known_hosts ${dir} \\(for host web-1 .*\\) is not a file`));
    assert.match(e.hint!, /known_hosts file/);
    assert.doesNotMatch(e.hint!, /network/);
  });

  test('a host key marked @revoked is refused as revoked, never as a changed key', async () => {
    const kh = join(tmp, 'revoked_known_hosts');
    const h = fleet.host('web-1');
    writeFileSync(kh, `@revoked ${h.address} ${h.publicKey}\n${h.address} ${h.publicKey}\n`);
    const e = await failure(connection({ known_hosts: kh, accept_new: true }));
    assert.equal(e.code, 'HOST_KEY_REJECTED');
    assert.equal((e.data as { reason?: string }).reason, 'revoked');
    assert.ok(e.message.includes(`${h.fingerprint}, which is marked @revoked in ${kh}`), e.message);
    assert.match(e.hint!, /a revoked key must not be trusted/);
    assert.doesNotMatch(e.hint!, /changed/);
  });

  test('a key file that is no usable private key names the host and the file and says what is expected', async () => {
    const garbage = join(tmp, 'garbage');
    writeFileSync(garbage, 'this is not a key\n');
    for (const [file, why] of [
      [garbage, /Unsupported key format/],
      [newKey('locked', 'secret'), /passphrase/i],
      [`${fleet.clientKey}.pub`, /holds no private key/],
    ] as const) {
      const e = await failure(connection({ auth: { key_file: file, agent: false } }));
      assert.equal(e.code, 'CONFIG_INVALID', e.message);
      assert.ok(e.message.includes(`the SSH key ${file} (target.auth.key_file) for host web-1 `), e.message);
      assert.match(e.message, why);
      assert.match(e.hint!, /unencrypted OpenSSH \(or PEM\) private key/);
      assert.match(e.hint!, /passphrase can be used through the agent/);
    }
  });

  test('agent: true without an agent says there is no agent, not that the login was refused', async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const e = await failure(connection({ auth: { agent: true } }));
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.match(e.message, /target\.auth\.agent is true for host web-1 .*, but SSH_AUTH_SOCK is not set: there is no SSH agent/);
      process.env.SSH_AUTH_SOCK = join(tmp, 'no-agent.sock');
      const gone = await failure(connection({ auth: { agent: true } }));
      assert.equal(gone.code, 'CONFIG_INVALID');
      assert.match(gone.message, /the SSH agent socket \S+no-agent\.sock \(SSH_AUTH_SOCK\) for host web-1 .* does not exist/);
      const named = await failure(connection({ auth: { agent: join(tmp, 'other.sock') } }));
      assert.match(named.message, /other\.sock \(target\.auth\.agent\)/);
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
    }
  });

  test('agent and key_file together: both are offered, the agent first (as OpenSSH)', async () => {
    const wrong = newKey('not-authorized');
    // the agent's key is refused: the key file's still logs in
    const a = await startAgent([wrong]);
    const c1 = connection({ auth: { agent: a.socket, key_file: fleet.clientKey } });
    await c1.connect();
    assert.equal((await c1.exec('echo ok')).stdout, 'ok\n');
    // the key file's is refused: the agent's logs in
    const b = await startAgent([fleet.clientKey]);
    const c2 = connection({ auth: { agent: b.socket, key_file: wrong } });
    await c2.connect();
    // both would do: the agent is asked first
    const c = await startAgent([fleet.clientKey]);
    await connection({ auth: { agent: c.socket, key_file: fleet.clientKey } }).connect();
    assert.match(c.log(), /process_sign_request2/, `the agent signed the login: ${c.log()}`);
  });
}
