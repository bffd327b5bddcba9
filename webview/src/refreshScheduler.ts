/**
 * Paces the panel's queries: at most one in flight, and at least `minIntervalMs` between two, so a live
 * session redraws at most 1000 / minIntervalMs times a second however fast its telemetry changes.
 */
export interface SchedulerClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const browserClock: SchedulerClock = {
  now: () => performance.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class RefreshScheduler {
  private inFlight = false;
  private wanted = false;
  private lastSent = -Infinity;
  private timer: unknown;
  private watchdog: unknown;

  constructor(
    /** Sends one query; the caller reports its answer with `answered()`. */
    private readonly send: () => void,
    private readonly minIntervalMs = 100,
    /** An answer that never comes (the server restarted) stops blocking after this long. */
    private readonly answerTimeoutMs = 5000,
    private readonly clock: SchedulerClock = browserClock,
  ) {}

  /** Asks for a refresh: now if allowed, else once as soon as it is. Many asks in a row make one query. */
  request(): void {
    this.wanted = true;
    this.pump();
  }

  /** The query in flight was answered (or failed): the next may go. */
  answered(): void {
    this.inFlight = false;
    this.clock.clearTimeout(this.watchdog);
    this.pump();
  }

  dispose(): void {
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.watchdog);
    this.wanted = false;
  }

  private pump(): void {
    if (!this.wanted || this.inFlight || this.timer !== undefined) return;
    const wait = this.lastSent + this.minIntervalMs - this.clock.now();
    if (wait > 0) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.wanted = false;
    this.inFlight = true;
    this.lastSent = this.clock.now();
    this.watchdog = this.clock.setTimeout(() => this.answered(), this.answerTimeoutMs);
    this.send();
  }
}
