import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import { bearer, DAY, post, type SearchPage, searchUrl, T0 } from './helpers.js';

let sb: Sandbox;
let auth: string;
beforeAll(async () => {
  sb = await startSandbox({ conversations: 120, seed: 13, now: T0 });
  auth = await bearer(sb);
});
afterAll(() => sb.stop());

const usersUrl = () => `${sb.url}/api/account/${sb.accountId}/configuration/le-users/users?v=6.0`;
const csdsUrl = () => `${sb.url}/api/account/${sb.accountId}/service/msgHist/baseURI.json?version=1.0`;

describe('fault injection and accounting', () => {
  it('answers roughly faultRate of data requests with 429/500/503 (some 429s with Retry-After), never CSDS', async () => {
    sb.resetStats();
    sb.setFaults({ faultRate: 0.3 });
    const statuses: number[] = [];
    let retryAfter = 0;
    for (let i = 0; i < 200; i++) {
      const res = await fetch(usersUrl(), { headers: { authorization: auth } });
      statuses.push(res.status);
      if (res.headers.get('retry-after') === '1') retryAfter++;
      await res.arrayBuffer();
    }
    const faulted = statuses.filter((s) => s !== 200);
    // Binomial(200, 0.3): mean 60, sd ≈ 6.5; these bounds are ±4.5 sd.
    expect(faulted.length).toBeGreaterThan(30);
    expect(faulted.length).toBeLessThan(90);
    expect(new Set(faulted)).toEqual(new Set([429, 500, 503]));
    expect(retryAfter).toBeGreaterThan(0);

    sb.setFaults({ faultRate: 1 });
    for (let i = 0; i < 20; i++) expect((await fetch(csdsUrl())).status).toBe(200);
    sb.setFaults({ faultRate: 0 });

    const { calls, total } = sb.stats();
    expect(calls.users).toBe(200);
    expect(calls.csds).toBe(20);
    expect(total).toBe(220);
    expect((calls['fault.429'] ?? 0) + (calls['fault.500'] ?? 0) + (calls['fault.503'] ?? 0)).toBe(
      faulted.length,
    );
    expect(calls['fault.429']).toBe(statuses.filter((s) => s === 429).length);
  });

  it('drops roughly dropRate of connections without an answer', async () => {
    sb.resetStats();
    sb.setFaults({ dropRate: 0.5 });
    let dropped = 0;
    for (let i = 0; i < 40; i++) {
      try {
        const res = await fetch(usersUrl(), { headers: { authorization: auth, connection: 'close' } });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      } catch {
        dropped++;
      }
    }
    sb.setFaults({ dropRate: 0 });
    expect(dropped).toBeGreaterThan(5);
    expect(dropped).toBeLessThan(35);
    expect(sb.stats().calls['fault.drop']).toBe(dropped);
  });

  it('marks partial pages and leaves records out of them', async () => {
    sb.setFaults({ partialPageRate: 1 });
    const res = await post(searchUrl(sb, 'source=t&limit=100'), auth, {
      start: { from: T0 - 31 * DAY, to: T0 + DAY },
    });
    const page = (await res.json()) as SearchPage;
    sb.setFaults({ partialPageRate: 0 });
    expect(page._metadata.shardsStatusResult.partialResult).toBe(true);
    expect(page._metadata.count).toBe(120);
    expect(page.conversationHistoryRecords.length).toBeLessThan(100);
    const full = (await (
      await post(searchUrl(sb, 'source=t&limit=100'), auth, { start: { from: T0 - 31 * DAY, to: T0 + DAY } })
    ).json()) as SearchPage;
    expect(full._metadata.shardsStatusResult.partialResult).toBe(false);
    expect(full.conversationHistoryRecords).toHaveLength(100);
  });

  it('counts calls per endpoint and resets', async () => {
    sb.resetStats();
    await (await fetch(csdsUrl())).arrayBuffer();
    await bearer(sb);
    await (await post(searchUrl(sb, 'source=t'), auth, { start: { from: T0 - DAY, to: T0 } })).arrayBuffer();
    await (await fetch(`${sb.url}/no/such/path`)).arrayBuffer();
    const { calls, total } = sb.stats();
    expect(calls).toMatchObject({ csds: 1, token: 1, search: 1, unknown: 1 });
    expect(total).toBe(4);
    sb.resetStats();
    expect(sb.stats()).toEqual({ calls: {}, total: 0 });
  });

  it('rejects out-of-range fault settings', () => {
    expect(() => sb.setFaults({ faultRate: 1.5 })).toThrow(/faultRate/);
    expect(() => sb.setFaults({ latencyMs: -1 })).toThrow(/latencyMs/);
  });
});
