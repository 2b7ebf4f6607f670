// Header handling shared by plain requests and upgrades. It works on rawHeaders arrays in one
// pass, never on node's parsed header objects, to keep per-request allocation down.

export const VERSION_HEADER = 'x-greenlight-version';
/** on a response from stable that replaced a canary's failure: the canary's version */
export const RESCUED_HEADER = 'x-greenlight-rescued-from';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Value of cookie `key` ("name=") in a Cookie header, without allocating the parsed map. */
export function cookieValue(h: string, key: string): string | undefined {
  let i = h.indexOf(key);
  while (i !== -1) {
    const prev = i === 0 ? 59 : h.charCodeAt(i - 1);
    if (prev === 59 || prev === 32) {
      const start = i + key.length;
      let end = h.indexOf(';', start);
      if (end === -1) end = h.length;
      return h.slice(start, end);
    }
    i = h.indexOf(key, i + 1);
  }
  return undefined;
}

/** Headers parsed once from rawHeaders into the forwarded list and the few the router reads. */
export class Inbound {
  out: string[] = [];
  cookie: string | undefined = undefined;
  host: string | undefined = undefined;
  connection: string | undefined = undefined;
  upgrade: string | undefined = undefined;
  hasBody = false;
  /** value of the identity header, when the router assigns clients by a header */
  identity: string | undefined = undefined;

  constructor(raw: string[], remote: string | undefined, keepUpgrade: boolean, identityHeader: string | null) {
    const out = this.out;
    let xff: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      const l = name.toLowerCase();
      if (HOP_BY_HOP.has(l) || l.startsWith('proxy-')) {
        if (l === 'connection') this.connection = this.connection === undefined ? value : `${this.connection}, ${value}`;
        else if (l === 'transfer-encoding') this.hasBody = true;
        else if (l === 'upgrade') this.upgrade = value;
        continue;
      }
      if (l === identityHeader) this.identity = value;
      switch (l) {
        case 'x-forwarded-for':
          xff = xff === undefined ? value : `${xff}, ${value}`;
          continue;
        case 'x-forwarded-proto':
        case 'x-forwarded-host':
        // node's server has already answered "100 Continue"; the upstream gets the body directly
        case 'expect':
          continue;
        case 'host':
          this.host = value;
          break;
        case 'cookie':
          this.cookie = this.cookie === undefined ? value : `${this.cookie}; ${value}`;
          break;
        case 'content-length':
          if (value !== '0') this.hasBody = true;
          break;
      }
      out.push(name, value);
    }
    if (this.connection !== undefined) dropConnectionListed(out, this.connection);
    const addr = remote ?? '';
    out.push('x-forwarded-for', xff === undefined ? addr : `${xff}, ${addr}`, 'x-forwarded-proto', 'http');
    if (this.host !== undefined) out.push('x-forwarded-host', this.host);
    if (keepUpgrade && this.upgrade !== undefined) out.push('connection', 'upgrade', 'upgrade', this.upgrade);
  }
}

/** Removes the headers named in a Connection header (RFC 9110 7.6.1); rare, so not on the fast path. */
function dropConnectionListed(out: string[], connection: string): void {
  let names: Set<string> | null = null;
  for (const tok of connection.split(',')) {
    const t = tok.trim().toLowerCase();
    if (t === '' || t === 'keep-alive' || t === 'close' || t === 'upgrade') continue;
    (names ??= new Set()).add(t);
  }
  if (names === null) return;
  for (let i = out.length - 2; i >= 0; i -= 2) {
    if (names.has(out[i]!.toLowerCase())) out.splice(i, 2);
  }
}

export function responseHeaders(raw: string[], version: string, cookie: string | null): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const l = name.toLowerCase();
    if (HOP_BY_HOP.has(l) || l.startsWith('proxy-')) {
      if (l === 'connection') connection = raw[i + 1];
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (connection !== undefined) dropConnectionListed(out, connection);
  out.push(VERSION_HEADER, version);
  if (cookie !== null) out.push('set-cookie', cookie);
  return out;
}

export function headerOf(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}
