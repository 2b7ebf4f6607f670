// Dotted paths into parsed JSON ("version", "build.version", "items.0.status"), used by the http
// check's expect.json and the http dependency source's field. Keys containing dots are not
// addressable; no config so far needs them.

/** The value at path, or undefined when any step is missing. */
export function pickJsonPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) cur = /^\d+$/.test(key) ? cur[Number(key)] : undefined;
    else cur = Object.hasOwn(cur, key) ? (cur as Record<string, unknown>)[key] : undefined;
  }
  return cur;
}

/** Collapses whitespace and cuts long text, so a body can be quoted inside a one-line message. */
export function snippet(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}
