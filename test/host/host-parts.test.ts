import { describe, expect, it } from 'vitest';
import { parseBlobPath, resolveAppSettings, resolveBindingData } from '../../dev/host/binding-expressions.js';
import { parseHostJson, parseTimeSpan } from '../../dev/host/host-config.js';
import { compileRoute } from '../../dev/host/http-routes.js';
import { retryDelayMs } from '../../dev/host/local-host.js';
import { decodeQueueMessage } from '../../dev/host/queue-listener.js';
import { parseTimerSchedule } from '../../dev/host/timer-schedule.js';

describe('host.json', () => {
  it('applies the Storage Queues extension defaults', () => {
    expect(parseHostJson({ version: '2.0' })).toEqual({
      functionTimeoutMs: 300_000,
      queues: {
        batchSize: 16,
        newBatchThreshold: 8,
        maxDequeueCount: 5,
        visibilityTimeoutMs: 0,
        maxPollingIntervalMs: 60_000,
        messageEncoding: 'base64',
      },
      routePrefix: 'api',
    });
  });

  it('reads TimeSpans and names the bad field', () => {
    const c = parseHostJson({
      functionTimeout: '00:10:00',
      extensions: {
        queues: { visibilityTimeout: '00:00:30', maxPollingInterval: '00:00:02.5', batchSize: 4 },
      },
    });
    expect(c.functionTimeoutMs).toBe(600_000);
    expect(c.queues).toMatchObject({
      visibilityTimeoutMs: 30_000,
      maxPollingIntervalMs: 2_500,
      newBatchThreshold: 2,
    });
    expect(parseTimeSpan('1.02:00:00', 'x')).toBe(26 * 3600_000);
    expect(() => parseHostJson({ extensions: { queues: { visibilityTimeout: '30s' } } })).toThrow(
      /visibilityTimeout.*not a TimeSpan/,
    );
    expect(() => parseHostJson({ extensions: { queues: { batchSize: 64 } } })).toThrow(
      /extensions\.queues\.batchSize/,
    );
  });
});

describe('timer schedules', () => {
  it('computes the next NCRONTAB occurrence in UTC, seconds first', () => {
    const s = parseTimerSchedule('0 */5 * * * *', { where: 'f' });
    expect(s.next(new Date('2026-11-25T10:02:03Z')).toISOString()).toBe('2026-11-25T10:05:00.000Z');
    const daily = parseTimerSchedule('30 15 2 * * *', { where: 'f' });
    expect(daily.next(new Date('2026-11-25T10:00:00Z')).toISOString()).toBe('2026-11-26T02:15:30.000Z');
  });

  it('accepts a TimeSpan interval and rejects 5-field cron with a clear message', () => {
    expect(parseTimerSchedule('00:10:00', { where: 'f' }).next(new Date(0)).getTime()).toBe(600_000);
    expect(() => parseTimerSchedule('*/5 * * * *', { where: 'function plan' })).toThrow(
      /function plan: .*6 fields.*it has 5/,
    );
  });

  it('computes timer retry delays like the host', () => {
    expect(retryDelayMs({ retryStrategy: 'fixedDelay', delayInterval: { seconds: 10 } }, 3)).toBe(10_000);
    const exp = {
      retryStrategy: 'exponentialBackoff' as const,
      minimumInterval: { seconds: 2 },
      maximumInterval: { seconds: 10 },
    };
    expect([0, 1, 2, 3].map((a) => retryDelayMs(exp, a))).toEqual([2000, 4000, 8000, 10000]);
  });
});

describe('HTTP routes', () => {
  it('matches literals case-insensitively, optional, constrained and catch-all parameters', () => {
    const log = compileRoute('log/{kind?}');
    expect(log.match('/log')).toEqual({});
    expect(log.match('/LOG/summary')).toEqual({ kind: 'summary' });
    expect(log.match('/log/a/b')).toBeUndefined();
    const item = compileRoute('items/{id:int}');
    expect(item.match('/items/42')).toEqual({ id: '42' });
    expect(item.match('/items/x')).toBeUndefined();
    expect(compileRoute('files/{*path}').match('/files/a/b%20c.eml')).toEqual({ path: 'a/b c.eml' });
  });
});

describe('binding expressions', () => {
  it('resolves {prop} from the payload (case-insensitive, dotted) and fails on a missing one', () => {
    expect(
      resolveBindingData(
        'archive/{conversationId}/{meta.day}.eml',
        { ConversationId: 'c1', meta: { day: 'd' } },
        'w',
      ),
    ).toBe('archive/c1/d.eml');
    expect(() => resolveBindingData('a/{nope}.eml', {}, 'function f, output o')).toThrow(
      'function f, output o: no value for named parameter "nope" in "a/{nope}.eml"',
    );
  });

  it('resolves %Setting% and reports an undefined one', () => {
    expect(resolveAppSettings('%Q%-x', { Q: 'work' }, 'w')).toBe('work-x');
    expect(() => resolveAppSettings('%Missing%', {}, 'function f')).toThrow(
      /function f: app setting "Missing"/,
    );
  });

  it('splits a blob trigger path into container, listing prefix and name parameters', () => {
    const p = parseBlobPath('archive/{account}/{name}.eml');
    expect(p.container).toBe('archive');
    expect(p.prefix).toBe('');
    expect(p.match('123/conv-1.eml')).toEqual({ account: '123', name: 'conv-1' });
    expect(p.match('123/conv-1.json')).toBeUndefined();
    expect(parseBlobPath('archive/eml/{name}').prefix).toBe('eml/');
  });
});

describe('queue message decoding', () => {
  it('decodes base64, passes "none" through and names the message on bad input', () => {
    expect(decodeQueueMessage(Buffer.from('{"a":1}').toString('base64'), 'base64', 'm1')).toBe('{"a":1}');
    expect(decodeQueueMessage('plain', 'none', 'm1')).toBe('plain');
    expect(() => decodeQueueMessage('not base64!', 'base64', 'm7')).toThrow(
      /queue message m7: body is not valid base64/,
    );
  });
});
