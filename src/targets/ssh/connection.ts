// One SSH connection per host (ssh2), multiplexed: every command is a channel on it, a bounded
// number at a time (sshd's MaxSessions). A dropped connection is reopened on the next command;
// every failure is a GreenlightError that names the host and says what to do.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import ssh2, { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { GreenlightError, describe } from '../../errors/errors.ts';
import { appendHostKey, knownHostsName, verifyHostKey, type HostKeyVerdict } from './known-hosts.ts';
import type { SshHostConfig, SshTargetConfig } from './config.ts';

/** channels open at once on one connection: below sshd's default MaxSessions of 10 */
const MAX_CHANNELS = 8;
const CHANNEL_OPEN_MS = 10_000;
/** every command ends within this unless told otherwise: nothing waits forever on a host */
const DEFAULT_EXEC_TIMEOUT_MS = 120_000;

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** sent to the command's stdin, then closed */
  stdin?: string | Buffer | Readable;
  /** the channel is closed and the call rejects after this long */
  timeoutMs?: number;
  /** a non-zero exit rejects with HOST_COMMAND_FAILED (default); false resolves with it */
  check?: boolean;
}

export interface ConnectionHooks {
  /** an unknown key accepted because accept_new is set */
  onKeyAccepted?: (host: SshHostConfig, verdict: HostKeyVerdict) => void;
  /** an open connection was lost (reset, keepalive unanswered, a command given up on) */
  onDropped?: (host: SshHostConfig, reason: string) => void;
  /** a connection is open and authenticated */
  onConnected?: (host: SshHostConfig) => void;
}

/**
 * How each command ended, heard from the moment its channel exists. A fast command's output,
 * exit status and close can arrive in the same TCP read as the channel's confirmation; ssh2 then
 * emits 'exit' before the caller's `await` resumes, so a listener attached there misses it and
 * the command looked like a dropped connection (it did with a shell that starts in a millisecond).
 */
const exits = new WeakMap<ClientChannel, { code: number | null; signal: string | null }>();

/** single-quoted for /bin/sh */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class HostConnection {
  readonly host: SshHostConfig;
  private readonly config: SshTargetConfig;
  private readonly hooks: ConnectionHooks;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(host: SshHostConfig, config: SshTargetConfig, hooks: ConnectionHooks = {}) {
    this.host = host;
    this.config = config;
    this.hooks = hooks;
  }

  get where(): string {
    return `host ${this.host.name} (${this.host.user}@${this.host.address}:${this.host.port})`;
  }

  /** Opens the connection (or returns the open one). */
  connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new GreenlightError('INTERNAL', `connection to ${this.where} is closed`, { hint: 'create a new target' }));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private open(): Promise<Client> {
    const h = this.host;
    let keyVerdict: HostKeyVerdict | undefined;
    const settings: ConnectConfig = {
      host: h.address,
      port: h.port,
      username: h.user,
      readyTimeout: this.config.connect_timeout,
      keepaliveInterval: 1000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        keyVerdict = verifyHostKey(this.config.known_hosts, h.address, h.port, key);
        if (keyVerdict.ok) return true;
        if (keyVerdict.reason === 'unknown' && this.config.accept_new) {
          appendHostKey(this.config.known_hosts, h.address, h.port, key);
          this.hooks.onKeyAccepted?.(h, keyVerdict);
          return true;
        }
        return false;
      },
    };
    const problem = this.knownHostsProblem() ?? this.authProblem(settings);
    if (problem) return Promise.reject(problem);
    return new Promise<Client>((resolve, reject) => {
      const c = new Client();
      let ready = false;
      let lost: string | undefined;
      c.once('ready', () => {
        ready = true;
        this.client = c;
        resolve(c);
        this.hooks.onConnected?.(h);
      });
      c.on('error', (err: Error & { level?: string; code?: string }) => {
        if (!ready) return reject(this.connectError(err, keyVerdict));
        lost ??= describe(err);
        this.drop(c);
      });
      c.on('close', () => {
        if (!ready) return reject(this.connectError(new Error('connection closed during the handshake'), keyVerdict));
        this.drop(c);
        // not when this side ended it on purpose (close(), a fresh try after a failed channel)
        if (!this.closed && !this.ended.has(c)) this.hooks.onDropped?.(h, lost ?? 'the SSH connection closed');
      });
      c.connect(settings);
    });
  }

  /** a known_hosts path that is there but cannot be read as one (a directory, no permission) */
  private knownHostsProblem(): GreenlightError | undefined {
    const file = this.config.known_hosts;
    const data = { host: this.host.name, knownHosts: file };
    const hint = `set target.known_hosts to an OpenSSH known_hosts file (ssh-keyscan -p ${this.host.port} ${this.host.address} >> FILE creates one), or to a path that does not exist yet with target.accept_new: true`;
    try {
      if (!statSync(file).isFile()) return new GreenlightError('CONFIG_INVALID', `target.known_hosts ${file} (for ${this.where}) is not a file`, { hint, data });
      readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // reported with the host's key: that says what to add
      return new GreenlightError('CONFIG_INVALID', `cannot read target.known_hosts ${file} (for ${this.where}): ${describe(err)}`, { hint, data });
    }
    return undefined;
  }

  /**
   * Which login the host is offered, checked before connecting so a bad key file or a missing agent
   * is named as such (not as ssh2's bare "Cannot parse privateKey" or as a refused login). With both
   * an agent and a key file, the agent's keys are offered first and then the file's, as OpenSSH does.
   */
  private authProblem(settings: ConnectConfig): GreenlightError | undefined {
    const h = this.host;
    const auth = this.config.auth;
    if (auth.agent) {
      const socket = typeof auth.agent === 'string' ? auth.agent : process.env.SSH_AUTH_SOCK;
      const data = { host: h.name, agent: socket ?? null };
      const hint = 'start an agent (eval $(ssh-agent); ssh-add KEY) in the environment the controller runs in, set target.auth.agent to its socket path, or use target.auth.key_file instead';
      if (!socket) return new GreenlightError('CONFIG_INVALID', `target.auth.agent is true for ${this.where}, but SSH_AUTH_SOCK is not set: there is no SSH agent to log in with`, { hint, data });
      let isSocket = false;
      try {
        isSocket = statSync(socket).isSocket();
      } catch {
        // missing: said below
      }
      if (!isSocket) return new GreenlightError('CONFIG_INVALID', `the SSH agent socket ${socket} (${typeof auth.agent === 'string' ? 'target.auth.agent' : 'SSH_AUTH_SOCK'}) for ${this.where} does not exist or is not a socket: no agent runs there`, { hint, data });
      settings.agent = socket;
    }
    if (auth.key_file || !auth.agent) {
      const file = auth.key_file ?? `${process.env.HOME ?? '/root'}/.ssh/id_ed25519`;
      const data = { host: h.name, keyFile: file };
      let text: Buffer;
      try {
        text = readFileSync(file);
      } catch (err) {
        return new GreenlightError('CONFIG_INVALID', `cannot read the SSH key ${file} for ${this.where}: ${describe(err)}`, {
          hint: 'set target.auth.key_file to a readable private key, or target.auth.agent: true to use the SSH agent',
          data,
        });
      }
      // Greenlight has no passphrase setting: a key with one is used through the agent
      const parsed = ssh2.utils.parseKey(text);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      const why = key instanceof Error ? key.message : !key?.isPrivateKey() ? 'it holds no private key (a public key?)' : undefined;
      if (why) {
        return new GreenlightError('CONFIG_INVALID', `the SSH key ${file} (target.auth.key_file) for ${this.where} cannot be used: ${why}`, {
          hint: `target.auth.key_file must be an unencrypted OpenSSH (or PEM) private key, e.g. made with ssh-keygen -t ed25519 -N '' -f ${file}, its .pub in authorized_keys on ${h.name}; a key with a passphrase can be used through the agent (ssh-add it, set target.auth.agent: true)`,
          data,
        });
      }
      settings.privateKey = text;
    }
    if (settings.agent && settings.privateKey) settings.authHandler = ['none', 'agent', 'publickey'];
    return undefined;
  }

  private drop(c: Client): void {
    if (this.client === c) this.client = undefined;
  }

  /** connections this side ended on purpose: their close is not a lost host */
  private readonly ended = new WeakSet<Client>();

  private end(c: Client): void {
    this.ended.add(c);
    c.end();
  }

  /** forgets the current connection (the next command opens a new one) */
  private dropAll(): void {
    const c = this.client;
    this.client = undefined;
    // given up on because it stopped answering: that is a lost host, so its close is reported
    c?.end();
  }

  private connectError(err: Error & { level?: string; code?: string }, verdict: HostKeyVerdict | undefined): GreenlightError {
    const h = this.host;
    const data = { host: h.name, address: h.address, port: h.port, user: h.user };
    if (verdict && !verdict.ok) {
      const name = knownHostsName(h.address, h.port);
      if (verdict.reason === 'unknown') {
        // a missing file reads as empty (as ssh's): say so, or a typo in the path looks like an unknown host
        const missing = !existsSync(this.config.known_hosts);
        const where = missing ? `${this.config.known_hosts} does not exist` : `not in ${this.config.known_hosts}`;
        const add = missing
          ? `create it with that key (ssh-keyscan -p ${h.port} ${h.address} >> ${this.config.known_hosts}), fix target.known_hosts if the path is wrong, or set target.accept_new: true (which creates the file)`
          : `add it (ssh-keyscan -p ${h.port} ${h.address} >> ${this.config.known_hosts}) or set target.accept_new: true`;
        return new GreenlightError('HOST_KEY_REJECTED', `${this.where} offered an unknown ${verdict.keyType} host key ${verdict.fingerprint}; ${where}`, {
          hint: `compare ${verdict.fingerprint} with the key on the host (ssh-keygen -lf /etc/ssh/ssh_host_${verdict.keyType.replace(/^ssh-/, '')}_key.pub there); if it matches, ${add}`,
          data: { ...data, reason: 'unknown', fingerprint: verdict.fingerprint, keyType: verdict.keyType, knownHosts: this.config.known_hosts, knownHostsMissing: missing },
        });
      }
      if (verdict.reason === 'revoked') {
        return new GreenlightError('HOST_KEY_REJECTED', `${this.where} offered host key ${verdict.fingerprint}, which is marked @revoked in ${this.config.known_hosts}: refused`, {
          hint: `a revoked key must not be trusted (it was withdrawn, e.g. stolen or from a decommissioned machine): find out why ${h.name} still presents it, and give the host a new key; do not remove the @revoked line to let it in`,
          data: { ...data, reason: 'revoked', fingerprint: verdict.fingerprint, knownFingerprints: [], knownHosts: this.config.known_hosts },
        });
      }
      return new GreenlightError(
        'HOST_KEY_REJECTED',
        `${this.where} offered host key ${verdict.fingerprint}, which does not match the known key ${verdict.knownFingerprints.join(', ')} in ${this.config.known_hosts}: refused (a re-installed host, or someone in between)`,
        {
          hint: `find out why the key of ${h.name} changed; when the new key is legitimate, remove the old one (ssh-keygen -R ${name} -f ${this.config.known_hosts}) and add the new one`,
          data: { ...data, reason: verdict.reason, fingerprint: verdict.fingerprint, knownFingerprints: verdict.knownFingerprints, knownHosts: this.config.known_hosts },
        },
      );
    }
    if (err.level === 'client-authentication') {
      return new GreenlightError('HOST_AUTH_REFUSED', `${this.where} refused the key-based login of ${h.user}`, {
        hint: `add the controller's public key to ~${h.user}/.ssh/authorized_keys on ${h.name}, or fix target.auth (key_file / agent) and hosts[].user`,
        data,
      });
    }
    const why = err.level === 'client-timeout' ? `no SSH handshake within ${this.config.connect_timeout}ms` : describe(err);
    return new GreenlightError('HOST_UNREACHABLE', `cannot reach ${this.where}: ${why}`, {
      retryable: true,
      hint: `check that ${h.name} is up, that sshd listens on ${h.address}:${h.port} and that the network path is open`,
      data: { ...data, cause: err.code ?? err.message },
    });
  }

  private async slot(): Promise<() => void> {
    if (this.active >= MAX_CHANNELS) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    return () => {
      this.active--;
      this.waiting.shift()?.();
    };
  }

  /** Runs a command on the host through /bin/sh; collects its output (bounded). */
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const release = await this.slot();
    try {
      const channel = await this.openExec(command);
      return await this.collect(channel, command, opts);
    } finally {
      release();
    }
  }

  /**
   * A long-running command whose stdout is handed over line by line (e.g. tail -F of the host's
   * event file). It does not take a slot: watchers would otherwise starve commands.
   */
  async stream(command: string, onLine: (line: string) => void): Promise<{ close(): void; closed: Promise<void> }> {
    const channel = await this.openExec(command);
    let buf = '';
    channel.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        onLine(line);
      }
    });
    channel.stderr.resume();
    const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
    return { close: () => channel.close(), closed };
  }

  private async openExec(command: string): Promise<ClientChannel> {
    let client = await this.connect();
    const attempt = () =>
      new Promise<ClientChannel>((resolve, reject) => {
        // a connection that died without telling may never answer the channel request
        const timer = setTimeout(() => reject(new Error(`no channel within ${CHANNEL_OPEN_MS}ms`)), CHANNEL_OPEN_MS);
        try {
          client.exec(command, (err, channel) => {
            clearTimeout(timer);
            if (err) return reject(err);
            channel.once('exit', (c: number | null, s?: string) => exits.set(channel, { code: c ?? null, signal: s ?? null }));
            resolve(channel);
          });
        } catch (err) {
          clearTimeout(timer);
          reject(err as Error);
        }
      });
    try {
      return await attempt();
    } catch (err) {
      // the connection may have died since it was opened: one fresh try
      this.drop(client);
      this.end(client);
      try {
        client = await this.connect();
        return await attempt();
      } catch (again) {
        if (again instanceof GreenlightError) throw again;
        throw new GreenlightError('HOST_UNREACHABLE', `cannot run a command on ${this.where}: ${describe(again)} (first try: ${describe(err)})`, {
          retryable: true,
          hint: `check that ${this.host.name} is up and reachable`,
          data: { host: this.host.name },
        });
      }
    }
  }

  private collect(channel: ClientChannel, command: string, opts: ExecOptions): Promise<ExecResult> {
    const limit = 4 * 1024 * 1024;
    return new Promise<ExecResult>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
      const short = command.length > 120 ? command.slice(0, 117) + '...' : command;
      const timer = setTimeout(() => {
        timedOut = true;
        channel.close();
        // a dead connection may never report the close: give up on it here
        setTimeout(() => {
          this.dropAll();
          reject(new GreenlightError('HOST_UNREACHABLE', `${this.where}: "${short}" did not finish within ${timeoutMs}ms`, { retryable: true, hint: `check the load and the network of ${this.host.name}`, data: { host: this.host.name } }));
        }, 1000).unref();
      }, timeoutMs);
      channel.on('data', (d: Buffer) => {
        if (stdout.length < limit) stdout += d.toString('utf8');
      });
      channel.stderr.on('data', (d: Buffer) => {
        if (stderr.length < limit) stderr += d.toString('utf8');
      });
      channel.once('close', () => {
        clearTimeout(timer);
        const code = exits.get(channel)?.code ?? null;
        const signal = exits.get(channel)?.signal ?? null;
        if (timedOut) {
          return reject(new GreenlightError('HOST_UNREACHABLE', `${this.where}: "${short}" did not finish within ${timeoutMs}ms`, { retryable: true, hint: `check the load and the network of ${this.host.name}`, data: { host: this.host.name } }));
        }
        if (code === null && signal === null) {
          return reject(new GreenlightError('HOST_UNREACHABLE', `${this.where}: the connection dropped while running "${short}"`, { retryable: true, hint: `check that ${this.host.name} is up and reachable; the operation can be retried`, data: { host: this.host.name } }));
        }
        const result = { code, signal, stdout, stderr };
        if (opts.check !== false && code !== 0) {
          return reject(
            new GreenlightError('HOST_COMMAND_FAILED', `${this.where}: "${short}" failed (${signal ? `signal ${signal}` : `exit ${code}`})${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`, {
              hint: `run it by hand on ${this.host.name} to see why`,
              data: { host: this.host.name, code, signal, stderr: stderr.slice(-2000) },
            }),
          );
        }
        resolve(result);
      });
      if (opts.stdin === undefined) channel.end();
      else if (typeof opts.stdin === 'string' || Buffer.isBuffer(opts.stdin)) channel.end(opts.stdin);
      else {
        opts.stdin.on('error', () => channel.close());
        opts.stdin.pipe(channel);
      }
    });
  }

  close(): void {
    this.closed = true;
    if (this.client) this.end(this.client);
    this.client = undefined;
  }
}
