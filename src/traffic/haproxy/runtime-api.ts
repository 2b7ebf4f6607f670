// HAProxy's runtime API (the "stats socket"): one command per connection, the answer is whatever
// HAProxy writes before it closes. No npm library for it is maintained, and the protocol is one
// line out, text back; the CSV of `show stat` is parsed by csv-parse.
import net from 'node:net';
import { parse } from 'csv-parse/sync';
import { systemClock, type Clock } from '../../clock/clock.ts';
import { GreenlightError, describe } from '../../errors/errors.ts';

export interface RuntimeApiOptions {
  /** a unix socket path ("/run/haproxy/admin.sock") or "host:port" of a TCP stats socket */
  socket: string;
  /** per command; default 3 s */
  timeoutMs?: number;
  clock?: Clock;
}

/** One row of `show stat`: the CSV header's field names to their (string) values. */
export type StatRow = Record<string, string>;

// Arguments go into a line protocol where spaces and ';' separate words and commands; Greenlight
// only ever sends names it validated, so anything else is a bug and refused here.
const SAFE_WORD = /^[A-Za-z0-9._+:/@\-[\]]+$/;

export class RuntimeApi {
  readonly socket: string;
  private readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(opts: RuntimeApiOptions) {
    this.socket = opts.socket;
    this.timeoutMs = opts.timeoutMs ?? 3_000;
    this.clock = opts.clock ?? systemClock;
  }

  /** Sends one command made of words; returns HAProxy's answer. Throws ROUTER_UNREACHABLE (retryable) when the socket does not answer. */
  async command(...words: (string | number)[]): Promise<string> {
    for (const w of words) {
      if (!SAFE_WORD.test(String(w))) throw new GreenlightError('INTERNAL', `refusing to send ${JSON.stringify(String(w))} to the HAProxy runtime API`, { hint: 'a name with characters outside A-Z a-z 0-9 . _ + : / @ - reached the HAProxy provider; report it' });
    }
    const line = words.join(' ');
    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const conn = this.socket.startsWith('/') ? net.connect(this.socket) : net.connect(tcpOf(this.socket));
      let settled = false;
      const finish = (err: Error | null) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        conn.destroy();
        if (err) {
          reject(new GreenlightError('ROUTER_UNREACHABLE', `HAProxy runtime API at ${this.socket} did not answer "${line}": ${describe(err)}`, {
            retryable: true,
            hint: this.hintFor(err),
            cause: err,
          }));
        } else resolve(Buffer.concat(chunks).toString('utf8'));
      };
      const timer = this.clock.setTimeout(() => finish(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      conn.on('connect', () => conn.end(`${line}\n`));
      conn.on('data', (c: Buffer) => chunks.push(c));
      conn.on('end', () => finish(null));
      conn.on('error', (err) => finish(err));
    });
  }

  // Over TCP (an edge host) the causes differ from a local socket's: a refused connection is an
  // HAProxy that is (re)starting or has no such stats socket, silence is the host or a firewall.
  // HAProxy keeps serving its last table meanwhile: nothing is changed until the API answers.
  private hintFor(err: Error): string {
    const code = (err as NodeJS.ErrnoException).code;
    if (this.socket.startsWith('/')) {
      return `check that HAProxy runs and that its config has "stats socket ${this.socket} level admin", readable by Greenlight`;
    }
    if (code === 'ECONNREFUSED') {
      return `nothing listens on ${this.socket}: HAProxy is restarting or stopped there, or its global section lacks "stats socket ipv4@${this.socket} level admin"; HAProxy keeps serving its last table meanwhile, and Greenlight retries`;
    }
    return `check that the host of ${this.socket} is reachable from the controller and that no firewall drops the port (HAProxy's "stats socket ipv4@${this.socket} level admin", on a private address only); HAProxy keeps serving its last table meanwhile`;
  }

  /**
   * A command whose answer is empty on success (set/add/del ...); any other text back is HAProxy's
   * error, except what `ok` matches (e.g. "set server addr" reports what it changed).
   */
  async change(words: (string | number)[], ok?: RegExp): Promise<void> {
    const out = (await this.command(...words)).trim();
    if (out !== '' && !(ok?.test(out) ?? false)) {
      throw new GreenlightError('CONFIG_INVALID', `HAProxy refused "${words.join(' ')}": ${out.slice(0, 300)}`, {
        hint: 'the stats socket must be "level admin", and the backend must be the one Greenlight manages (docs/traffic.md)',
      });
    }
  }

  /** `show stat` rows of one backend (the backend row and its servers). */
  async stat(backend: string): Promise<StatRow[]> {
    const out = await this.command('show', 'stat', backend, '-1', '-1');
    if (/^No such proxy/.test(out)) throw new GreenlightError('CONFIG_INVALID', `HAProxy has no backend "${backend}"`, { hint: 'traffic.backend must name the backend section Greenlight manages (docs/traffic.md)' });
    return parseStat(out);
  }

  /** `show map <file>` as key -> value (HAProxy prints "<ref> <key> <value>" per entry). */
  async map(file: string): Promise<Map<string, string>> {
    const out = await this.command('show', 'map', file);
    const m = new Map<string, string>();
    for (const line of out.split('\n')) {
      const parts = line.trim().split(/\s+/);
      if (parts.length >= 3 && parts[0]!.startsWith('0x')) m.set(parts[1]!, parts.slice(2).join(' '));
      else if (line.trim() !== '') throw new GreenlightError('CONFIG_INVALID', `HAProxy has no map ${file}: ${line.trim().slice(0, 200)}`, {
        hint: `the backend's config must use the map (e.g. "http-response set-header x-greenlight-version %[srv_name,map(${file})]") and the file must exist`,
      });
    }
    return m;
  }
}

/** Parses `show stat` CSV ("# pxname,svname,..." then one row per proxy or server). */
export function parseStat(csv: string): StatRow[] {
  const text = csv.replace(/^# /, '');
  if (!text.startsWith('pxname,')) {
    throw new GreenlightError('ROUTER_UNREACHABLE', `HAProxy's "show stat" did not answer CSV: ${csv.slice(0, 200)}`, { retryable: true, hint: 'is this an HAProxy stats socket?' });
  }
  return parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true }) as StatRow[];
}

function tcpOf(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}
