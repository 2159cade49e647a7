import { describe, expect, it } from 'vitest';
import { MailboxLimiter } from '../../lib/graph/mailbox-limiter.js';
import { silentLogger } from '../../lib/log.js';
import { type DeliverDeps, deliverToMailbox } from '../../lib/mailbox/deliver.js';
import { DeliverMessageSchema } from '../../lib/mailbox/messages.js';

const msg = DeliverMessageSchema.parse({
  day: '2026-12-01',
  conversationId: 'c1',
  itemKey: 'k1',
  blobName: '2026/12/01/c1/k1.eml',
  messageId: '<k1@example>',
  size: 600_000,
  sha256: 'a'.repeat(64),
  mailbox: { address: 'agent@brand.example', userId: 'u1' },
  mappedBy: 'automatic',
});

/** Every dependency that does work fails the test if touched. */
const untouchable = new Proxy(
  {},
  {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      return () => {
        throw new Error(`touched ${String(prop)}`);
      };
    },
  },
);

function deps(limiter: MailboxLimiter, over: Partial<DeliverDeps> = {}): DeliverDeps {
  return {
    container: untouchable as never,
    deliveries: untouchable as never,
    folders: untouchable as never,
    importer: untouchable as never,
    maxItemBytes: 150 * 1024 * 1024,
    logger: silentLogger,
    budgetWaitMs: (u, b, r) => limiter.waitMs(u, b, r),
    maxBudgetWaitMs: 15_000,
    ...over,
  };
}

describe('delivery to a mailbox at its Graph budget', () => {
  it('is rescheduled before any claim, lookup or table write, for as long as the budget needs', async () => {
    let now = 1_000_000;
    const limiter = new MailboxLimiter(
      {
        concurrency: 4,
        uploadBytes: 1_000_000,
        uploadWindowMs: 300_000,
        requests: 10_000,
        requestWindowMs: 600_000,
      },
      { now: () => now },
    );
    // Another delivery spent most of u1's upload window a minute ago.
    await limiter.run('u1', 900_000, async () => {});
    now += 60_000;
    const out = await deliverToMailbox(msg, 1, deps(limiter), 'queue-msg-1');
    expect(out.outcome).toBe('rescheduled');
    // The spend leaves the window (plus the limiter's slack) in about four minutes.
    expect(out.outcome === 'rescheduled' && out.afterMs).toBeGreaterThan(239_000);
    expect(out.outcome === 'rescheduled' && out.afterMs).toBeLessThan(242_000);
    // Another mailbox is not held back by u1's budget: it goes on to claim its row (here: the stub).
    await expect(
      deliverToMailbox(
        { ...msg, mailbox: { address: 'b@brand.example', userId: 'u2' } },
        1,
        deps(limiter),
        'm2',
      ),
    ).rejects.toThrow('touched claim');
  });

  it('a delivery rescheduled too often goes on instead (its row then says why it fails)', async () => {
    const limiter = new MailboxLimiter({
      concurrency: 4,
      uploadBytes: 10,
      uploadWindowMs: 300_000,
      requests: 10_000,
      requestWindowMs: 600_000,
    });
    await limiter.run('u1', 10, async () => {});
    const tired = { ...msg, reschedules: 48 };
    await expect(deliverToMailbox(tired, 1, deps(limiter), 'm3')).rejects.toThrow('touched claim');
  });
});
