/**
 * Outlook's per-app, per-mailbox service limits (Microsoft Graph throttling guidance, "Outlook service
 * limits"): 4 concurrent requests, 10,000 requests per 10 minutes, 150 MB uploaded (POST, PUT, PATCH bodies)
 * per 5 minutes. Each is an option so a benchmark can shrink the windows; `false` turns them off (the
 * counters for stats still run).
 */
import { GraphError } from './errors.js';

export interface Limits {
  concurrentPerMailbox: number;
  uploadBytesPerWindow: number;
  uploadWindowMs: number;
  requestsPerWindow: number;
  requestWindowMs: number;
  /** Retry-After (s) on a concurrency refusal; Graph does not document one. Default 1. */
  concurrencyRetryAfterSeconds: number;
}

export const OUTLOOK_LIMITS: Readonly<Limits> = {
  concurrentPerMailbox: 4,
  uploadBytesPerWindow: 150 * 1024 * 1024,
  uploadWindowMs: 5 * 60 * 1000,
  requestsPerWindow: 10_000,
  requestWindowMs: 10 * 60 * 1000,
  concurrencyRetryAfterSeconds: 1,
};

export type ThrottleKind = 'concurrency' | 'requests' | 'upload';

/** A queue of timestamps (or timed amounts) with O(1) amortised eviction from the front. */
class Window {
  private times: number[] = [];
  private amounts: number[] = [];
  private head = 0;
  sum = 0;
  evict(before: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= before) {
      this.sum -= this.amounts[this.head]!;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.amounts = this.amounts.slice(this.head);
      this.head = 0;
    }
  }
  add(t: number, amount: number): void {
    this.times.push(t);
    this.amounts.push(amount);
    this.sum += amount;
  }
  get count(): number {
    return this.times.length - this.head;
  }
  /** Time at which enough of the oldest entries have left for `sum - freed + extra <= budget`. */
  freesAt(budget: number, extra: number, window: number): number | undefined {
    let sum = this.sum;
    for (let i = this.head; i < this.times.length; i++) {
      sum -= this.amounts[i]!;
      if (sum + extra <= budget) return this.times[i]! + window;
    }
    return undefined;
  }
  oldest(): number | undefined {
    return this.times[this.head];
  }
}

class MailboxState {
  inFlight = 0;
  maxInFlight = 0;
  uploadedBytes = 0;
  readonly requests = new Window();
  readonly uploads = new Window();
}

export interface Ticket {
  /** Counts body bytes not declared by Content-Length when admitted. */
  addUpload(bytes: number): void;
  release(): void;
}

export class Throttle {
  private readonly mailboxes = new Map<string, MailboxState>();

  constructor(
    private limits: Limits | false,
    private readonly now: () => number,
  ) {}

  setLimits(limits: Limits | false): void {
    this.limits = limits;
  }

  private state(mailbox: string): MailboxState {
    let s = this.mailboxes.get(mailbox);
    if (!s) {
      s = new MailboxState();
      this.mailboxes.set(mailbox, s);
    }
    return s;
  }

  /** Admits a request to `mailbox` carrying `uploadBytes` of body (0 for GET), or throws a 429. */
  admit(mailbox: string, uploadBytes: number): Ticket {
    const s = this.state(mailbox);
    const l = this.limits;
    const now = this.now();
    if (l) {
      if (s.inFlight >= l.concurrentPerMailbox) {
        throw throttled(
          'concurrency',
          'Application is over its MailboxConcurrency limit.',
          l.concurrencyRetryAfterSeconds,
        );
      }
      s.requests.evict(now - l.requestWindowMs);
      if (s.requests.count >= l.requestsPerWindow) {
        throw throttled(
          'requests',
          'Application is over its RequestRate limit.',
          secondsUntil((s.requests.oldest() ?? now) + l.requestWindowMs, now),
        );
      }
      s.uploads.evict(now - l.uploadWindowMs);
      if (uploadBytes > 0 && s.uploads.sum + uploadBytes > l.uploadBytesPerWindow) {
        const at =
          s.uploads.freesAt(l.uploadBytesPerWindow, uploadBytes, l.uploadWindowMs) ?? now + l.uploadWindowMs;
        throw throttled('upload', 'Application is over its IncomingBytes limit.', secondsUntil(at, now));
      }
      s.requests.add(now, 1);
    }
    const upload = (n: number) => {
      if (n <= 0) return;
      s.uploadedBytes += n;
      if (this.limits) s.uploads.add(this.now(), n);
    };
    upload(uploadBytes);
    s.inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
    let released = false;
    return {
      addUpload: upload,
      release: () => {
        if (released) return;
        released = true;
        s.inFlight--;
      },
    };
  }

  stats(): { uploadedBytes: Record<string, number>; maxConcurrency: Record<string, number> } {
    const uploadedBytes: Record<string, number> = {};
    const maxConcurrency: Record<string, number> = {};
    for (const [k, s] of this.mailboxes) {
      uploadedBytes[k] = s.uploadedBytes;
      maxConcurrency[k] = s.maxInFlight;
    }
    return { uploadedBytes, maxConcurrency };
  }

  /** Forgets the stats counters; the windows (what the limits are judged on) are kept. */
  resetStats(): void {
    for (const s of this.mailboxes.values()) {
      s.uploadedBytes = 0;
      s.maxInFlight = s.inFlight;
    }
  }
}

function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

export class ThrottledError extends GraphError {
  constructor(
    readonly kind: ThrottleKind,
    message: string,
    retryAfterSeconds: number,
  ) {
    super(429, 'ApplicationThrottled', message, { 'retry-after': String(retryAfterSeconds) });
  }
}

function throttled(kind: ThrottleKind, message: string, retryAfterSeconds: number): ThrottledError {
  return new ThrottledError(kind, message, retryAfterSeconds);
}
