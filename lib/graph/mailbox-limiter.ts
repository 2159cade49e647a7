/**
 * Graph's limits per app and mailbox (Outlook service limits): at most 4 concurrent requests, 150 MB
 * uploaded (POST/PUT/PATCH bodies) per 5 minutes, and 10,000 requests per 10 minutes. Requests wait here
 * instead of being answered 429 by Graph.
 *
 * These limits hold PER PROCESS (one Functions instance). Graph enforces them across all instances of
 * the app, so a scaled-out app can still meet a 429: the HTTP layer honours Retry-After, and a long one
 * hands the delivery back to its queue (it comes again after Retry-After) instead of holding a worker.
 * What keeps a scaled-out app near the limits rather than bouncing off them: the delivery queue's
 * per-instance batch size (host.json) and the app's maximum instance count (infra), which together bound
 * how many instances work on one mailbox at once; see lib/graph/README.md.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface MailboxLimits {
  /** Concurrent requests per mailbox (Graph: 4). */
  concurrency: number;
  /** Upload bytes per window per mailbox (Graph: 150 MB per 5 minutes). */
  uploadBytes: number;
  uploadWindowMs: number;
  /** Requests per window per mailbox (Graph: 10,000 per 10 minutes). */
  requests: number;
  requestWindowMs: number;
}

export const GRAPH_MAILBOX_LIMITS: MailboxLimits = {
  concurrency: 4,
  uploadBytes: 150 * 1024 * 1024,
  uploadWindowMs: 5 * 60_000,
  requests: 10_000,
  requestWindowMs: 10 * 60_000,
};

/** A sliding-window budget: amounts spent at times; `waitMs(n)` says how long until n more fit. */
export class SlidingWindow {
  private readonly spent: { at: number; amount: number }[] = [];
  private total = 0;

  constructor(
    private readonly budget: number,
    private readonly windowMs: number,
  ) {}

  private expire(now: number): void {
    while (this.spent.length && this.spent[0]!.at <= now - this.windowMs) {
      this.total -= this.spent.shift()!.amount;
    }
  }

  /** Milliseconds until `amount` fits (0 = now). An amount over the whole budget fits an empty window. */
  waitMs(amount: number, now: number): number {
    this.expire(now);
    let excess = this.total + amount - this.budget;
    if (excess <= 0 || this.spent.length === 0) return 0;
    for (const e of this.spent) {
      excess -= e.amount;
      if (excess <= 0) return Math.max(1, e.at + this.windowMs - now + 1);
    }
    // Everything in the window must expire first (the amount is larger than the budget).
    return Math.max(1, this.spent[this.spent.length - 1]!.at + this.windowMs - now + 1);
  }

  record(amount: number, now: number): void {
    if (amount <= 0) return;
    this.spent.push({ at: now, amount });
    this.total += amount;
  }

  used(now: number): number {
    this.expire(now);
    return this.total;
  }
}

/**
 * How much longer than Graph's window a spend is remembered here. Spend is recorded when a request starts,
 * Graph counts it when the request arrives, a little later and by a varying amount: without the slack, a
 * request sent the moment a window frees here can reach Graph before the same spend has left Graph's
 * window, and is answered 429 (measured with bench:deliver: 340 of 2,340 imports). 1 s of a 5-minute
 * window costs 0.3 % of the budget.
 */
export function windowSlackMs(windowMs: number): number {
  return Math.min(1_000, windowMs / 20);
}

class MailboxState {
  active = 0;
  readonly waiting: (() => void)[] = [];
  readonly uploads: SlidingWindow;
  readonly requests: SlidingWindow;
  lastUsed = 0;

  constructor(limits: MailboxLimits) {
    this.uploads = new SlidingWindow(
      limits.uploadBytes,
      limits.uploadWindowMs + windowSlackMs(limits.uploadWindowMs),
    );
    this.requests = new SlidingWindow(
      limits.requests,
      limits.requestWindowMs + windowSlackMs(limits.requestWindowMs),
    );
  }
}

/** The mailbox's budget frees up only after `waitMs`: longer than the caller is willing to wait in place. */
export class MailboxBudgetWait extends Error {
  constructor(
    readonly mailbox: string,
    readonly waitMs: number,
  ) {
    super(
      `mailbox ${mailbox} is at its Graph upload or request budget for ${Math.round(waitMs / 1000)} s more`,
    );
    this.name = 'MailboxBudgetWait';
  }
}

export class MailboxLimiter {
  private readonly mailboxes = new Map<string, MailboxState>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<unknown>;

  constructor(
    private readonly limits: MailboxLimits,
    deps: { now?: () => number; sleep?: (ms: number) => Promise<unknown> } = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => delay(ms));
  }

  private state(mailbox: string): MailboxState {
    const key = mailbox.toLowerCase();
    let s = this.mailboxes.get(key);
    if (!s) {
      s = new MailboxState(this.limits);
      this.mailboxes.set(key, s);
      if (this.mailboxes.size > 10_000) this.prune();
    }
    s.lastUsed = this.now();
    return s;
  }

  /** Forget idle mailboxes whose windows are empty, so memory stays bounded over a long-lived process. */
  private prune(): void {
    const now = this.now();
    for (const [k, s] of this.mailboxes) {
      if (s.active === 0 && s.waiting.length === 0 && s.uploads.used(now) === 0 && s.requests.used(now) === 0)
        this.mailboxes.delete(k);
    }
  }

  /**
   * How long until `mailbox` has room for `requests` requests uploading `uploadBytes` (0 = now), without
   * spending anything: lets a caller hand work back before it does any of it.
   */
  waitMs(mailbox: string, uploadBytes: number, requests = 1): number {
    const s = this.state(mailbox);
    const now = this.now();
    return Math.max(s.uploads.waitMs(uploadBytes, now), s.requests.waitMs(requests, now));
  }

  /**
   * Runs `fn` as one request to `mailbox` that uploads `uploadBytes`, once a concurrency slot and enough
   * of both windows are free. Budget is recorded when the request starts.
   */
  async run<T>(
    mailbox: string,
    uploadBytes: number,
    fn: () => Promise<T>,
    /** A longer wait for budget throws MailboxBudgetWait instead (the caller requeues the work). */
    maxWaitMs = Number.POSITIVE_INFINITY,
  ): Promise<T> {
    const s = this.state(mailbox);
    for (;;) {
      const wait = Math.max(s.uploads.waitMs(uploadBytes, this.now()), s.requests.waitMs(1, this.now()));
      if (wait > maxWaitMs) throw new MailboxBudgetWait(mailbox, wait);
      if (wait > 0) {
        await this.sleep(wait);
        continue;
      }
      await this.acquire(s);
      const now = this.now();
      if (s.uploads.waitMs(uploadBytes, now) > 0 || s.requests.waitMs(1, now) > 0) {
        // Another request took the budget while this one waited for a slot: give the slot back, wait again.
        this.release(s);
        continue;
      }
      s.uploads.record(uploadBytes, now);
      s.requests.record(1, now);
      break;
    }
    try {
      return await fn();
    } finally {
      this.release(s);
    }
  }

  private acquire(s: MailboxState): Promise<void> {
    if (s.active < this.limits.concurrency) {
      s.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      s.waiting.push(() => {
        s.active++;
        resolve();
      }),
    );
  }

  private release(s: MailboxState): void {
    s.active--;
    s.waiting.shift()?.();
  }
}
