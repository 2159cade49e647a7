import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  csvStream,
  describeQueryError,
  excelSafe,
  jsonArray,
  LOG_COLUMNS,
  LogQuerySchema,
  mapRows,
  toLogRecord,
} from '../../lib/statuslog/log-export.js';
import type { StatusRow } from '../../lib/statuslog/status-row.js';

async function text(it: AsyncIterable<string | Buffer>): Promise<string> {
  let s = '';
  for await (const c of it) s += c.toString();
  return s;
}
async function* from<T>(xs: T[]) {
  yield* xs;
}

const row = (over: Partial<StatusRow>): StatusRow => ({
  partitionKey: '2024-03-04',
  rowKey: 'c|v',
  conversationId: 'c',
  version: 'v',
  status: 'archived',
  ...over,
});

describe('log export', () => {
  it('neutralises formula cells and keeps quotes, commas and newlines intact', async () => {
    const rows = [
      row({ conversationId: '=HYPERLINK("http://evil")', reason: 'a,"b"\nc' }),
      row({ conversationId: '+1', addresses: '@x; -y' }),
      row({ conversationId: '\tTAB', reason: '\rCR' }),
    ];
    const csv = await text(csvStream(mapRows(from(rows), toLogRecord), LOG_COLUMNS));
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const parsed = parse(csv.slice(1), { columns: true }) as Record<string, string>[];
    expect(parsed).toHaveLength(3);
    expect(parsed[0]?.conversationId).toBe(`'=HYPERLINK("http://evil")`);
    expect(parsed[0]?.reason).toBe('a,"b"\nc');
    expect(parsed[1]?.conversationId).toBe("'+1");
    expect(parsed[1]?.addresses).toBe("'@x; -y");
    expect(parsed[2]?.conversationId).toBe("'\tTAB");
    expect(parsed[2]?.reason).toBe("'\rCR");
    expect(Object.keys(parsed[0] ?? {})).toEqual([...LOG_COLUMNS]);
  });

  it('excelSafe leaves ordinary text alone', () => {
    expect(excelSafe('jane@x.com')).toBe('jane@x.com');
    expect(excelSafe('-5')).toBe("'-5");
  });

  it('JSON array streams valid JSON, empty or not', async () => {
    expect(JSON.parse(await text(jsonArray(from([]))))).toEqual([]);
    expect(JSON.parse(await text(jsonArray(from([{ a: 1 }, { b: 2 }]))))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('an invalid date gets one precise error, not range errors on top', () => {
    const bad = LogQuerySchema.safeParse({ from: '2026-13-01', to: '2026-12-31' });
    expect(describeQueryError(bad.error!)).toBe('from: must be a date as yyyy-mm-dd');
  });

  it('query validation names the parameter at fault', () => {
    const bad = LogQuerySchema.safeParse({ from: '2024-13-01', to: '2024-03-01', status: 'archived,nope' });
    expect(bad.success).toBe(false);
    const msg = describeQueryError(bad.error!);
    expect(msg).toMatch(/from: /);
    expect(msg).toMatch(/status: unknown status nope/);
    const reversed = LogQuerySchema.safeParse({ from: '2024-03-05', to: '2024-03-01' });
    expect(describeQueryError(reversed.error!)).toMatch(/from: must not be after "to"/);
    expect(LogQuerySchema.parse({ from: '2024-03-01', to: '2024-03-05' })).toMatchObject({ format: 'csv' });
  });
});
