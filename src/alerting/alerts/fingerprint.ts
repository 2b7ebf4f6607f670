// An alert's identity is its label set. The fingerprint is Prometheus' own (model.LabelSet
// Fingerprint: FNV-1a 64 over the sorted names and values, each followed by the byte 0xff), so an
// alert arriving from Alertmanager carries the same fingerprint here as there.
import type { Labels } from '../../monitor/series/labels.ts';

const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;
const SEPARATOR = 0xff;
const encoder = new TextEncoder();

function add(hash: bigint, bytes: Uint8Array): bigint {
  let h = hash;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * PRIME) & MASK;
  }
  return h;
}

function addByte(hash: bigint, b: number): bigint {
  return ((hash ^ BigInt(b)) * PRIME) & MASK;
}

/** 16 lowercase hex digits, as Alertmanager prints fingerprints. */
export function fingerprint(labels: Labels): string {
  // Go sorts label names bytewise; comparing code units is the same for the ASCII names labels use.
  const names = Object.keys(labels).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let h = OFFSET;
  for (const name of names) {
    h = add(h, encoder.encode(name));
    h = addByte(h, SEPARATOR);
    h = add(h, encoder.encode(labels[name] ?? ''));
    h = addByte(h, SEPARATOR);
  }
  return h.toString(16).padStart(16, '0');
}
