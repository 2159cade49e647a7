/**
 * The last discovery run per account (when, which window, how many found, or why it failed), kept beside
 * the watermark so the status page and `npm start` can say what discovery last did.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { z } from 'zod';

export const DiscoveryRunSchema = z.object({
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  /** The searched window: conversations updated since `from`, up to the run's start `to`. */
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  found: z.coerce.number().int().nonnegative(),
  enqueued: z.coerce.number().int().nonnegative(),
  /** Open conversations seen and not archived yet (they are archived once closed). */
  open: z.coerce.number().int().nonnegative(),
  unreadable: z.coerce.number().int().nonnegative(),
  /** Set when the run failed (the watermark did not move; the next run repeats the window). */
  error: z.string().optional(),
});
export type DiscoveryRun = z.infer<typeof DiscoveryRunSchema>;

const ROW = 'lastrun';

export class DiscoveryRunLog {
  private ensured?: Promise<unknown>;
  constructor(private readonly table: TableClient) {}

  private ensure() {
    this.ensured ??= this.table.createTable();
    return this.ensured;
  }

  async record(accountId: string, run: DiscoveryRun): Promise<void> {
    await this.ensure();
    const value = DiscoveryRunSchema.parse(run);
    await this.table.upsertEntity(
      { partitionKey: accountId, rowKey: ROW, ...value, error: value.error?.slice(0, 4000) ?? '' },
      'Replace',
    );
  }

  async last(accountId: string): Promise<DiscoveryRun | undefined> {
    await this.ensure();
    try {
      const e = await this.table.getEntity(accountId, ROW);
      const parsed = DiscoveryRunSchema.safeParse({ ...e, error: e.error || undefined });
      return parsed.success ? parsed.data : undefined;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }
}
