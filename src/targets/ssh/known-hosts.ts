// Host key verification against an OpenSSH known_hosts file, so a host is trusted the same way
// `ssh` trusts it: plain and hashed (|1|salt|hash) names, [host]:port for other ports, @revoked.
// An unknown key is refused unless accept_new is set (then it is recorded, like
// StrictHostKeyChecking=accept-new); a different key for a known host is always refused.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type HostKeyVerdict =
  | { ok: true; fingerprint: string; keyType: string }
  | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked'; fingerprint: string; keyType: string; knownFingerprints: string[] };

/** OpenSSH's SHA256 fingerprint of a raw public key blob (as `ssh-keygen -l` prints it) */
export function fingerprintOf(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** the key type written at the start of a public key blob (string length + name) */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const n = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + n).toString('ascii');
}

/** how known_hosts names a host: "addr" on port 22, "[addr]:port" otherwise */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function nameMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  // wildcards as OpenSSH: * and ?; a leading ! negates (handled by the caller)
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

interface Entry {
  marker?: string;
  patterns: string[];
  keyType: string;
  key: Buffer;
}

function parse(text: string): Entry[] {
  const out: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) marker = fields.shift();
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key) continue;
    const entry: Entry = { patterns: hosts.split(','), keyType, key: Buffer.from(key, 'base64') };
    if (marker) entry.marker = marker;
    out.push(entry);
  }
  return out;
}

function entryMatches(e: Entry, name: string): boolean {
  let matched = false;
  for (const p of e.patterns) {
    if (p.startsWith('!')) {
      if (nameMatches(p.slice(1), name)) return false;
    } else if (nameMatches(p, name)) matched = true;
  }
  return matched;
}

export function verifyHostKey(knownHostsFile: string, address: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const fingerprint = fingerprintOf(keyBlob);
  const keyType = keyTypeOf(keyBlob);
  const text = existsSync(knownHostsFile) ? readFileSync(knownHostsFile, 'utf8') : '';
  const name = knownHostsName(address, port);
  const entries = parse(text).filter((e) => e.marker !== '@cert-authority' && entryMatches(e, name));
  if (entries.some((e) => e.marker === '@revoked' && e.key.equals(keyBlob))) return { ok: false, reason: 'revoked', fingerprint, keyType, knownFingerprints: [] };
  const plain = entries.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key.equals(keyBlob))) return { ok: true, fingerprint, keyType };
  // only keys of the same type make a mismatch: a host with an rsa and an ed25519 key is not one
  const sameType = plain.filter((e) => e.keyType === keyType);
  if (sameType.length > 0) return { ok: false, reason: 'mismatch', fingerprint, keyType, knownFingerprints: sameType.map((e) => fingerprintOf(e.key)) };
  return { ok: false, reason: 'unknown', fingerprint, keyType, knownFingerprints: [] };
}

export function appendHostKey(knownHostsFile: string, address: string, port: number, keyBlob: Buffer): void {
  mkdirSync(dirname(knownHostsFile), { recursive: true });
  const existing = existsSync(knownHostsFile) ? readFileSync(knownHostsFile, 'utf8') : '';
  const sep = existing.length > 0 && !existing.endsWith('\n') ? '\n' : '';
  appendFileSync(knownHostsFile, `${sep}${knownHostsName(address, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
}
