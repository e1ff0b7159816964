// web_sendqueue.ts — outgoing requests run a few at a time, first in first out: Web Push's pushes and the iOS app's
// upstream poll requests. The callers keep their own caps and counts; this keeps the order, the concurrency and a pause.

/** A FIFO of jobs, `concurrency` of them running at once, that a caller may pause until a time (a 429's Retry-After). */
export class SendQueue<J> {
  private jobs: J[] = [];
  private head = 0;
  private inflight = 0;
  private pausedUntil = 0;
  private resume: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly send: (job: J) => Promise<void>,
    private readonly concurrency: number,
  ) {}

  /** Jobs not yet started. */
  get waiting(): number {
    return this.jobs.length - this.head;
  }

  /** Jobs started and not yet done. */
  get running(): number {
    return this.inflight;
  }

  add(job: J): void {
    this.jobs.push(job);
    this.pump();
  }

  /** Starts nothing new before `atMs` (the running ones go on). */
  pauseUntil(atMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, atMs);
  }

  /** Forgets the timer of a pause, so the process may exit. */
  stop(): void {
    if (this.resume) clearTimeout(this.resume);
    this.resume = null;
  }

  /** Starts jobs while fewer than `concurrency` run and no pause holds them back. */
  private pump(): void {
    const wait = this.pausedUntil - Date.now();
    if (wait > 0) {
      this.resume ??= setTimeout(() => ((this.resume = null), this.pump()), wait);
      this.resume.unref?.();
      return;
    }
    while (this.inflight < this.concurrency && this.head < this.jobs.length) {
      const job = this.jobs[this.head++]!;
      // Drop the consumed part now and then instead of shifting the array on every job.
      if (this.head > 1024 && this.head * 2 > this.jobs.length) {
        this.jobs = this.jobs.slice(this.head);
        this.head = 0;
      }
      this.inflight++;
      void this.send(job).finally(() => {
        this.inflight--;
        this.pump();
      });
    }
  }
}
