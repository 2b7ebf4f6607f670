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
  /** how instances are kept alive there (a systemd unit each, or Greenlight's supervisor), and why */
  supervisor(host: string): Promise<{ kind: 'systemd' | 'greenlight'; reason: string }>;
  /**
   * Whether the host's instances may receive traffic: not while a host change drained it, nor
   * while the host cannot be reached. Every routing table is built through this (rollout/upstreams.ts),
   * so nothing (a rollout step, a reconcile after a restart) puts a drained host back by accident.
   */
  rotation(host: string): HostRotation;
  /** takes the host out of rotation (a host change works on it) / puts it back */
  drain(host: string, reason: string): void;
  restore(host: string): void;
  /** called when a host leaves or re-enters rotation (drained, restored, unreachable, reachable) */
  onRotation(listener: (host: string, rotation: HostRotation) => void): () => void;
}

export type HostRotation = { in: true } | { in: false; why: 'drained' | 'unreachable'; reason: string };

export function fleetOf(target: Target): Fleet | undefined {
  const f = (target as Partial<{ fleet(): Fleet }>).fleet;
  return typeof f === 'function' ? f.call(target) : undefined;
}

/** hosts matching every label of the selector (all hosts for an empty one) */
export function selectHosts(hosts: FleetHost[], labels: Record<string, string> = {}): FleetHost[] {
  return hosts.filter((h) => Object.entries(labels).every(([k, v]) => h.labels[k] === v));
}
