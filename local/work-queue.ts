/**
 * Runs async jobs with at most `concurrency` at a time (watch and reconcile start many runs, and
 * each transform wants the CPU to itself more than it wants company).
 */
export class WorkQueue {
  private running = 0;
  private readonly waiting: (() => Promise<void>)[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error('concurrency must be a whole number ≥ 1');
  }

  /** Queues a job; its failure is the job's business (catch inside it). */
  push(job: () => Promise<void>): void {
    this.waiting.push(job);
    this.next();
  }

  /** Jobs started and not finished. */
  get active(): number {
    return this.running;
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running += 1;
      void job()
        .catch(() => {})
        .finally(() => {
          this.running -= 1;
          this.next();
          if (this.running === 0 && this.waiting.length === 0) this.idleWaiters.splice(0).forEach((r) => r());
        });
    }
  }
}
