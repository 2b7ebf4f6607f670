// Real receivers on loopback for the notifier contract and the kind tests: an HTTP server and an
// SMTP server (smtp-server) that record what arrives and answer as scripted. Test support only.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** How a receiver answers one attempt. */
export type Answer = 'ok' | 'retryable' | 'fatal' | 'hang';

class Waiters {
  private list: Array<{ count: number; resolve: () => void }> = [];
  wait(current: number, count: number): Promise<void> {
    if (current >= count) return Promise.resolve();
    return new Promise((resolve) => this.list.push({ count, resolve }));
  }
  notify(current: number): void {
    this.list = this.list.filter((w) => (current >= w.count ? (w.resolve(), false) : true));
  }
}

export interface HttpRecord {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** how it was answered */
  answer: Answer;
}

export interface HttpReceiverOptions {
  /** status and body for 'ok' (Slack: 200 "ok", PagerDuty: 202 JSON) */
  ok: { status: number; body: string };
  retryable?: { status: number; body: string };
  fatal?: { status: number; body: string };
}

export class HttpReceiver {
  readonly requests: HttpRecord[] = [];
  private script: Answer[] = [];
  private readonly waiters = new Waiters();
  private readonly hanging = new Set<ServerResponse>();
  private readonly server: Server;
  private readonly opts: HttpReceiverOptions;

  private constructor(opts: HttpReceiverOptions) {
    this.opts = opts;
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = this.script.shift() ?? 'ok';
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answer });
        this.waiters.notify(this.requests.length);
        if (answer === 'hang') {
          this.hanging.add(res);
          res.on('close', () => this.hanging.delete(res));
          return;
        }
        const r =
          answer === 'ok'
            ? opts.ok
            : answer === 'retryable'
              ? (opts.retryable ?? { status: 500, body: 'internal error' })
              : (opts.fatal ?? { status: 400, body: 'bad request' });
        res.writeHead(r.status, { 'content-type': r.body.startsWith('{') ? 'application/json' : 'text/plain' }).end(r.body);
      });
    });
  }

  static async start(opts: HttpReceiverOptions): Promise<HttpReceiver> {
    const r = new HttpReceiver(opts);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  answer(...answers: Answer[]): void {
    this.script.push(...answers);
  }

  waitForRequests(count: number): Promise<void> {
    return this.waiters.wait(this.requests.length, count);
  }

  /** requests that were answered 'ok' */
  accepted(): HttpRecord[] {
    return this.requests.filter((r) => r.answer === 'ok');
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface MailRecord {
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
  /** decoded text/plain part */
  text: string;
  /** decoded text/html part */
  html: string;
  answer: Answer;
}

export class SmtpReceiver {
  readonly mails: MailRecord[] = [];
  private script: Answer[] = [];
  private readonly waiters = new Waiters();
  private readonly server: SMTPServer;

  private constructor() {
    this.server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      closeTimeout: 100,
      onData: (stream, session: SMTPServerSession, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const answer = this.script.shift() ?? 'ok';
          const raw = Buffer.concat(chunks).toString('utf8');
          const env = session.envelope;
          this.mails.push({
            from: env.mailFrom ? env.mailFrom.address : '',
            to: env.rcptTo.map((r) => r.address),
            raw,
            ...parseMail(raw),
            answer,
          });
          this.waiters.notify(this.mails.length);
          if (answer === 'hang') return;
          if (answer === 'ok') return callback(null, 'queued');
          const err = new Error(answer === 'retryable' ? 'mailbox busy, try again later' : 'mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = answer === 'retryable' ? 451 : 550;
          callback(err);
        });
      },
    });
  }

  static async start(): Promise<SmtpReceiver> {
    const r = new SmtpReceiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', () => resolve()));
    return r;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  answer(...answers: Answer[]): void {
    this.script.push(...answers);
  }

  waitForMails(count: number): Promise<void> {
    return this.waiters.wait(this.mails.length, count);
  }

  accepted(): MailRecord[] {
    return this.mails.filter((m) => m.answer === 'ok');
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Just enough MIME to check what a person would read: headers, the text and the HTML part. */
export function parseMail(raw: string): { headers: Record<string, string>; text: string; html: string } {
  const { headers, body } = splitHead(raw);
  const parts: Array<{ type: string; content: string }> = [];
  collectParts(headers, body, parts);
  return {
    headers,
    text: parts.find((p) => p.type === 'text/plain')?.content ?? '',
    html: parts.find((p) => p.type === 'text/html')?.content ?? '',
  };
}

function splitHead(raw: string): { headers: Record<string, string>; body: string } {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = decodeWords(line.slice(i + 1).trim());
  }
  return { headers, body };
}

function collectParts(headers: Record<string, string>, body: string, out: Array<{ type: string; content: string }>): void {
  const ctype = headers['content-type'] ?? 'text/plain';
  const type = ctype.split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(ctype)?.[1];
    if (!boundary) return;
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const part = splitHead(chunk.replace(/^\r\n/, ''));
      collectParts(part.headers, part.body, out);
    }
    return;
  }
  const enc = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const content =
    enc === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
      : enc === 'quoted-printable'
        ? decodeQuotedPrintable(body)
        : body;
  out.push({ type, content });
}

function decodeQuotedPrintable(s: string): string {
  const bytes: number[] = [];
  const soft = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(soft[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (=?UTF-8?Q?...?= / =?UTF-8?B?...?=), as in long or non-ASCII subjects. */
function decodeWords(s: string): string {
  return s
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, _cs: string, enc: string, text: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}
