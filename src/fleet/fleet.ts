// A fleet is what a target of several hosts (ssh) offers beyond starting instances: its hosts,
// a command on one of them, what each holds. Inventory, host dependency sources and host changes
// use this small interface, so they do not depend on the ssh target itself.
import type { Target } from '../targets/target.ts';

export interface FleetHost {
  name: string;
  address: string;
  labels: Record<string, string>;
}

export interface HostExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Fleet {
  hosts(): FleetHost[];
  /** runs a shell command on the host; rejects (GreenlightError naming the host) when it cannot be reached */
  exec(host: string, command: string, opts?: { timeoutMs?: number }): Promise<HostExecResult>;
  /** digests of the releases the host holds */
  releasesOn(host: string): Promise<string[]>;
  /** instances whose supervisor runs on the host (of any controller), with the digest each runs */
  running(host: string): Promise<{ id: string; digest: string }[]>;
}

export function fleetOf(target: Target): Fleet | undefined {
  const f = (target as Partial<{ fleet(): Fleet }>).fleet;
  return typeof f === 'function' ? f.call(target) : undefined;
}

/** hosts matching every label of the selector (all hosts for an empty one) */
export function selectHosts(hosts: FleetHost[], labels: Record<string, string> = {}): FleetHost[] {
  return hosts.filter((h) => Object.entries(labels).every(([k, v]) => h.labels[k] === v));
}
