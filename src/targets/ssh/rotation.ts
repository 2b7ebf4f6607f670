// Which hosts of an ssh target may get traffic (Fleet.rotation): out while a host change drains
// one, or while its SSH connection is down; listeners hear every change in or out, so routing
// tables are rebuilt at once. The target records the events; this only holds the state.
import type { HostRotation } from '../../fleet/fleet.ts';

export class HostRotations {
  private readonly drained = new Map<string, string>();
  private readonly unreachable = new Map<string, { since: number; reason: string }>();
  private readonly listeners = new Set<(host: string, rotation: HostRotation) => void>();
  private readonly warn: (err: unknown, host: string) => void;

  constructor(warn: (err: unknown, host: string) => void) {
    this.warn = warn;
  }

  of(name: string): HostRotation {
    const drained = this.drained.get(name);
    if (drained !== undefined) return { in: false, why: 'drained', reason: drained };
    const lost = this.unreachable.get(name);
    if (lost) return { in: false, why: 'unreachable', reason: lost.reason };
    return { in: true };
  }

  drain(name: string, reason: string): void {
    const was = this.of(name);
    this.drained.set(name, reason);
    if (was.in) this.changed(name);
  }

  restore(name: string): void {
    if (!this.drained.delete(name)) return;
    if (this.of(name).in) this.changed(name);
  }

  /**
   * The host cannot be reached since `now` (nothing when that was already known); `first` runs
   * before the listeners hear it (the target records its event there, so the event comes first).
   */
  lost(name: string, now: number, reason: string, first: () => void): void {
    if (this.unreachable.has(name)) return;
    const was = this.of(name);
    this.unreachable.set(name, { since: now, reason });
    first();
    if (was.in) this.changed(name);
  }

  /** the host answers again (nothing when it was not lost); `first` gets how long it was unreachable */
  back(name: string, now: number, first: (downMs: number) => void): void {
    const lost = this.unreachable.get(name);
    if (!lost) return;
    this.unreachable.delete(name);
    first(now - lost.since);
    if (this.of(name).in) this.changed(name);
  }

  onChange(listener: (host: string, rotation: HostRotation) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private changed(name: string): void {
    const r = this.of(name);
    for (const l of [...this.listeners]) {
      try {
        l(name, r);
      } catch (err) {
        this.warn(err, name);
      }
    }
  }
}
