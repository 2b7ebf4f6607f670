import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

// Each map's keys indexed once, so locating n problems in a map of n keys is O(n), not O(n²)
// (a config with thousands of unknown keys used to take minutes to report).
const keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
function pairOf(map: YAMLMap, key: string): Pair | undefined {
  let index = keyIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
    keyIndex.set(map, index);
  }
  return index.get(key);
}

/** One problem in a YAML file (the config, a drill scenario), with where it sits. */
export interface ConfigProblem {
  file: string;
  line?: number;
  column?: number;
  /** field path like environments[1].router.listen */
  path: string;
  message: string;
  hint?: string;
}

export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Finds where a value (or, with key=true, a map key) sits in the YAML source, walking the path
 * as far as it exists; a path into a missing field resolves to its nearest existing parent.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key = false): SourcePosition | undefined {
  let node: unknown = doc.contents;
  let best: Node | undefined = node as Node | undefined;
  let keyNode: Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    keyNode = undefined;
    if (isMap(node)) {
      const pair = pairOf(node, String(seg));
      if (!pair) break;
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      break;
    }
    if (node && typeof node === 'object' && 'range' in node) best = node as Node;
    else if (keyNode) best = keyNode;
    if (i === path.length - 1 && key && keyNode) best = keyNode;
  }
  const offset = best?.range?.[0];
  if (offset === undefined) return undefined;
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out || '(top level)';
}
