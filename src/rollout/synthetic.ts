// Users are not the first to try a new release: before any user request reaches its instances,
// they answer synthetic requests. These are the environment's http checks aimed at the new
// instances themselves (not through the router), or a GET / that must not be a server error when
// the environment has none. A release that fails them is refused with 0 user requests sent to it.
import type { Check } from '../checks/check.ts';
import { createCheck, parseCheck, type CheckSpec } from '../checks/registry.ts';

/** any answer but a server error: a service without a page at / still proves it serves */
const NOT_A_SERVER_ERROR = Array.from({ length: 400 }, (_, i) => 100 + i);

/**
 * The synthetic checks of an environment from its checks' specs (name -> spec, as in the config
 * file, or already parsed by the config module). http checks that already run against the
 * instances before traffic are not repeated.
 */
export function syntheticChecks(specs: [string, unknown][], opts: { parsed: boolean }): Check[] {
  const make = (name: string, spec: Record<string, unknown>) => (opts.parsed ? createCheck(name, spec as CheckSpec) : parseCheck(name, spec));
  const http = specs.filter(([, s]) => (s as { kind?: string } | undefined)?.kind === 'http') as [string, Record<string, unknown>][];
  const aimed = http.filter(([, s]) => !(s.phase === 'pre' && (s.target ?? 'instances') === 'instances'));
  if (http.length > 0) return aimed.map(([name, s]) => make(`synthetic:${name}`, { ...s, phase: 'pre', target: 'instances' }));
  return [createCheck('synthetic:GET /', { kind: 'http', path: '/', phase: 'pre', target: 'instances', expect: { status: NOT_A_SERVER_ERROR } })];
}
