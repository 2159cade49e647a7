/**
 * "No conversation is ever skipped": against the sandbox, whatever the schedule of runs, clock advances,
 * crashes (mid-enqueue, or after enqueueing but before the watermark moves), late surveys, redactions,
 * new conversations and index lag up to 60 s, every closed conversation's latest version ends up enqueued
 * at or after its last update.
 */
import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { startSandbox } from '../../dev/sandbox/index.js';
import type { ArchiveGroup } from '../../lib/discovery/archive-message.js';
import { discoverConversations } from '../../lib/discovery/discover.js';
import { WatermarkStore } from '../../lib/discovery/watermark-store.js';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import { silentLogger } from '../../lib/log.js';

type Step =
  | { kind: 'advance'; ms: number }
  | { kind: 'run' }
  | { kind: 'crashMidEnqueue'; after: number }
  | { kind: 'crashBeforeWatermark' }
  | { kind: 'lateSurvey'; pick: number }
  | { kind: 'redact'; pick: number }
  | { kind: 'add'; n: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 45 * 60_000 }) }),
  fc.constant({ kind: 'run' as const }),
  fc.record({ kind: fc.constant('crashMidEnqueue' as const), after: fc.integer({ min: 0, max: 10 }) }),
  fc.constant({ kind: 'crashBeforeWatermark' as const }),
  fc.record({ kind: fc.constant('lateSurvey' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('redact' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 1, max: 3 }) }),
);

class Crash extends Error {}

const isClosed = (rec: unknown) =>
  (rec as { info?: { status?: string } } | undefined)?.info?.status === 'CLOSE';

describe('discovery never skips a conversation (property, against the sandbox)', () => {
  it('holds for random schedules of runs, crashes, late changes and index lag', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.array(step, { minLength: 1, maxLength: 10 }),
        async (seed, indexLagMs, steps) => {
          const sandbox = await startSandbox({
            conversations: 25,
            seed,
            spanDays: 10,
            indexLagMs,
            faultRate: 0,
            latencyMs: 0,
          });
          try {
            const lpConfig = readLivePersonConfig({
              ...sandbox.env,
              LP_APP_KEY: '',
              LP_APP_SECRET: '',
              LP_ACCESS_TOKEN: '',
              LP_ACCESS_TOKEN_SECRET: '',
              LP_RETRY_BASE_MS: '1',
            });
            const lp = createLivePersonClient(lpConfig, { now: sandbox.clock.now });
            const store = new WatermarkStore(
              TableClient.fromConnectionString(
                inject('storageConnection'),
                `nsk${randomUUID().slice(0, 8)}`,
                {
                  allowInsecureConnection: true,
                },
              ),
            );
            const enqueued: { id: string; at: number }[] = [];
            const run = async (crash?: { afterEnqueues?: number; beforeWatermark?: boolean }) => {
              let sent = 0;
              try {
                await discoverConversations({
                  accountId: sandbox.accountId,
                  lp,
                  watermarks: {
                    get: (a) => store.get(a),
                    advance: async (a, v, prev) => {
                      if (crash?.beforeWatermark) throw new Crash('crash before watermark');
                      return store.advance(a, v, prev);
                    },
                  },
                  enqueue: async (g: ArchiveGroup) => {
                    if (crash?.afterEnqueues !== undefined && sent >= crash.afterEnqueues)
                      throw new Crash('crash mid-enqueue');
                    sent++;
                    for (const m of g.conversations)
                      enqueued.push({ id: m.conversationId, at: sandbox.clock.now() });
                  },
                  groupSize: 3,
                  now: sandbox.clock.now,
                  logger: silentLogger,
                  backfillDays: 30,
                  overlapMinutes: 15,
                  enqueueConcurrency: 1,
                });
              } catch (err) {
                if (!(err instanceof Crash)) throw err;
              }
            };
            const ids = () => sandbox.conversations.ids();
            for (const s of steps) {
              if (s.kind === 'advance') sandbox.clock.advance(s.ms);
              else if (s.kind === 'run') await run();
              else if (s.kind === 'crashMidEnqueue') await run({ afterEnqueues: s.after });
              else if (s.kind === 'crashBeforeWatermark') await run({ beforeWatermark: true });
              else if (s.kind === 'lateSurvey') {
                const closed = ids().filter((id) => isClosed(sandbox.conversations.get(id)));
                if (closed.length) sandbox.conversations.addLateSurvey(closed[s.pick % closed.length]!);
              } else if (s.kind === 'redact') sandbox.conversations.redact(ids()[s.pick % ids().length]!);
              else sandbox.conversations.add(s.n);
            }
            // Let the index catch up, then the regular schedule runs once more.
            sandbox.clock.advance(indexLagMs + 60_000);
            await run();

            const missed: string[] = [];
            for (const id of ids()) {
              if (!isClosed(sandbox.conversations.get(id))) continue;
              const last = sandbox.conversations.lastUpdateTime(id)!;
              if (!enqueued.some((e) => e.id === id && e.at >= last)) missed.push(id);
            }
            expect(missed).toEqual([]);
          } finally {
            await sandbox.stop();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
