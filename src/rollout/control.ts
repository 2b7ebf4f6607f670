// What a person can do to a running rollout (pause, resume, promote, abort). The rollout loop
// reads this state between analyses; a command wakes the loop so it acts at once.
export type PromoteRequest = 'next' | 'full';

export class RolloutControl {
  paused = false;
  pauseReason: string | undefined;
  promote: PromoteRequest | null = null;
  /** what the current step waits for, in numbers (a step short of canary traffic); shown by status */
  waiting: string | undefined;
  private waiters = new Set<() => void>();

  pause(reason: string): void {
    this.paused = true;
    this.pauseReason = reason;
    this.wake();
  }

  resume(): void {
    this.paused = false;
    this.pauseReason = undefined;
    this.wake();
  }

  requestPromote(kind: PromoteRequest): void {
    this.promote = kind;
    this.paused = false;
    this.wake();
  }

  /** Takes the pending promote request, if any. */
  takePromote(): PromoteRequest | null {
    const p = this.promote;
    this.promote = null;
    return p;
  }

  /** Resolves on the next command (or when the caller's own timer fires first). */
  nextCommand(): { promise: Promise<void>; cancel: () => void } {
    let fn!: () => void;
    const promise = new Promise<void>((resolve) => {
      fn = resolve;
      this.waiters.add(fn);
    });
    return { promise, cancel: () => this.waiters.delete(fn) };
  }

  wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}
