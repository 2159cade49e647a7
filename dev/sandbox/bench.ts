/**
 * `npm run bench:sandbox`: how fast the sandbox itself is, so benchmark figures of the client and the
 * pipeline can be read against it (start-up, memory, a search page, a by-ID batch, ZIP streaming).
 */
import { startSandbox } from './index.js';

const T0 = Date.UTC(2026, 0, 15, 12);
const DAY = 86_400_000;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, performance.now() - t];
}

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timed(fn))[1]);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const rows: string[] = [];
for (const n of [1_000, 10_000]) {
  const heapBefore = process.memoryUsage().heapUsed;
  const [sb, startMs] = await timed(() =>
    startSandbox({ conversations: n, seed: 1, now: T0, realTime: false }),
  );
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  const token = (await (
    await fetch(`${sb.url}/sentinel/api/v2/account/${sb.accountId}/app/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=${sb.env.LP_CLIENT_ID}&client_secret=${sb.env.LP_CLIENT_SECRET}&grant_type=client_credentials`,
    })
  ).json()) as { access_token: string };
  const headers = { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' };
  const searchUrl = `${sb.url}/messaging_history/api/account/${sb.accountId}/conversations/search?source=bench&limit=100&offset=200`;
  const start = { from: T0 - 31 * DAY, to: T0 };
  const page = () =>
    fetch(searchUrl, { method: 'POST', headers, body: JSON.stringify({ start }) }).then((r) =>
      r.arrayBuffer(),
    );
  const filtered = () =>
    fetch(searchUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({ start, status: ['CLOSE'], latestUpdateTime: { from: T0 - 7 * DAY } }),
    }).then((r) => r.arrayBuffer());
  const ids = sb.conversations.ids().slice(0, 100);
  const byId = () =>
    fetch(
      `${sb.url}/messaging_history/api/account/${sb.accountId}/conversations/conversation/search?source=bench`,
      {
        method: 'POST',
        headers,
        body: JSON.stringify({ conversationIds: ids }),
      },
    ).then((r) => r.arrayBuffer());
  rows.push(
    `${String(n).padStart(6)} conversations: start ${startMs.toFixed(0)} ms, heap +${heapMb.toFixed(0)} MB, ` +
      `search page (100) ${(await median(5, page)).toFixed(0)} ms, filtered page ${(await median(5, filtered)).toFixed(0)} ms, ` +
      `by-ID ×100 ${(await median(5, byId)).toFixed(0)} ms`,
  );

  if (n === 1_000) {
    const id = sb.conversations.ids().find((i) => sb.conversations.files(i).length > 50)!;
    const base = `${sb.url}/v1/account/${sb.accountId}/bulk-download-requests`;
    const { requestId } = (await (
      await fetch(base, { method: 'POST', headers, body: JSON.stringify({ filter: { conversationId: id } }) })
    ).json()) as { requestId: string };
    let urls: string[] = [];
    for (let i = 0; i < 5 && urls.length === 0; i++) {
      urls = ((await (await fetch(`${base}/${requestId}`, { headers })).json()) as { downloadUrls: string[] })
        .downloadUrls;
    }
    const [bytes, ms] = await timed(async () => {
      let total = 0;
      for (const u of urls) total += (await (await fetch(u)).arrayBuffer()).byteLength;
      return total;
    });
    rows.push(
      `  bulk download: ${sb.conversations.files(id).length} files in ${urls.length} ZIPs, ` +
        `${(bytes / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms (${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s)`,
    );
  }
  await sb.stop();
}
process.stdout.write(`LivePerson sandbox\n${rows.join('\n')}\n`);
