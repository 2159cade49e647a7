/**
 * `npm run bench:graph-sandbox`: the sandbox's own cost, so delivery benchmarks can be read against it.
 * Prints start-up time, token time, and importMime requests/s of a ~50 KB item against one mailbox (limits
 * off) at several client concurrencies, over HTTPS with kept-alive connections.
 */
import https from 'node:https';
import { loadavg } from 'node:os';
import { startGraphSandbox } from './index.js';

const ITEM_BYTES = 50 * 1024;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const USER = 'jane.doe@brand.example';

function item(i: number): string {
  const head = [
    'From: Alex Smith <alex.smith@example.com>',
    `To: Jane Doe <${USER}>`,
    `Subject: Bench item ${i}`,
    'Date: Mon, 04 Mar 2024 09:15:02 +0000',
    `Message-ID: <bench.${i}@liveperson-archiver.invalid>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    '',
  ].join('\r\n');
  const line = `${'x'.repeat(76)}\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil((ITEM_BYTES - head.length) / line.length))).toString(
    'base64',
  );
}

function post(agent: https.Agent, url: URL, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const sb = await startGraphSandbox({ limits: false });
  const started = performance.now() - t0;
  const agent = new https.Agent({ ca: sb.caPem, keepAlive: true, maxSockets: 64 });
  try {
    const t1 = performance.now();
    const tokenStatus = await new Promise<{ access_token: string }>((resolve, reject) => {
      const body = new URLSearchParams({
        client_id: sb.clientId,
        client_secret: sb.clientSecret,
        grant_type: 'client_credentials',
        scope: 'https://graph.microsoft.com/.default',
      }).toString();
      const req = https.request(
        new URL(`/${sb.tenantId}/oauth2/v2.0/token`, sb.url),
        { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    const tokenMs = performance.now() - t1;
    const auth = { authorization: `Bearer ${tokenStatus.access_token}` };
    const folder = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        new URL(`/v1.0/users/${USER}/mailFolders/inbox/childFolders`, sb.url),
        { method: 'POST', agent, headers: { ...auth, 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(JSON.parse(text).id));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ displayName: 'LivePerson Conversational Cloud DataParser' }));
    });
    const url = new URL(`/beta/users/${USER}/mailFolders/${encodeURIComponent(folder)}/importMime`, sb.url);
    const bodies = Array.from({ length: REQUESTS }, (_, i) => item(i));
    const headers = { ...auth, 'content-type': 'text/plain' };
    process.stdout.write(
      `graph-sandbox bench (load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(
          ' ',
        )})\n  start-up: ${started.toFixed(0)} ms (CA + certificate + signing key)\n  token (client secret): ${tokenMs.toFixed(1)} ms\n`,
    );
    for (const concurrency of [1, 4, 16]) {
      let next = 0;
      let failures = 0;
      const cpu = process.cpuUsage();
      const start = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < REQUESTS; i = next++) {
            if ((await post(agent, url, headers, bodies[i]!)) !== 201) failures++;
          }
        }),
      );
      const s = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000 / REQUESTS;
      process.stdout.write(
        `  importMime ${(bodies[0]!.length / 1024).toFixed(0)} KB base64 (~${ITEM_BYTES / 1024} KB MIME), ${REQUESTS} requests, concurrency ${String(concurrency).padStart(2)}: ${(REQUESTS / s).toFixed(0)} req/s, ${cpuMs.toFixed(2)} ms CPU per request (client and sandbox together) (${failures} not 201)\n`,
      );
    }
    const stored = (await sb.items(USER)).length;
    process.stdout.write(`  stored: ${stored} items\n`);
  } finally {
    agent.destroy();
    await sb.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
